// Single-process behaviour of a ring: publish and read, positions, seeks, skips,
// zero-copy claims, limits, the registry and permissions.
#include <catch2/catch.hpp>

#include "clock_internal.hpp"
#include "names.hpp"
#include "raw_ring.hpp"
#include "registry_layout.hpp"
#include "ring_model.hpp"
#include "test_support.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::RingModel;
using shmcast::test::unique_ring;

namespace {

// The smallest ring: 4 KiB, messages up to 1 KiB. A message "m<n>" takes one 32-byte
// record; the counts below come from RingModel, which follows the documented rules.
constexpr Geometry kSmall{.ring_bytes = 4096};

std::string text(const ReadResult& r) { return std::string(text_of(r.message.payload)); }

void publish_n(Producer& p, int n, int from = 0) {
  for (int i = 0; i < n; ++i) p.publish(bytes_of(shmcast::test::numbered("m", from + i)));
}

// The same, mirrored in the model.
void publish_n(Producer& p, RingModel& m, int n, int from = 0) {
  for (int i = 0; i < n; ++i) {
    const std::string s = shmcast::test::numbered("m", from + i);
    p.publish(bytes_of(s));
    m.publish(s.size());
  }
}

// A kSmall ring that published 0..9, skipped 10..209 (one skip record), then published
// `after` messages from 210.
Producer ring_with_skipped_run(const std::string& name, int after) {
  Producer p = Producer::create(name, kSmall);
  publish_n(p, 10);
  p.skip_to(210);
  publish_n(p, after, 210);
  return p;
}

}  // namespace

TEST_CASE("a message round-trips with its sequence, type, timestamp and payload", "[ring]") {
  RingGuard g(unique_ring("roundtrip"));
  Producer p = Producer::create(g.name, kSmall);
  Reader r(g.name, {.start = StartAt::latest});
  CHECK(r.try_read().status == ReadStatus::empty);
  CHECK(p.publish(bytes_of("hello"), 42, 123456789) == 0);
  CHECK(p.publish(bytes_of("")) == 1);
  ReadResult a = r.try_read();
  REQUIRE(a.status == ReadStatus::message);
  CHECK(a.message.seq == 0);
  CHECK(a.message.type == 42);
  CHECK(a.message.timestamp_ns == 123456789);
  CHECK(text(a) == "hello");
  ReadResult b = r.try_read();
  REQUIRE(b.status == ReadStatus::message);
  CHECK(b.message.payload.empty());
  CHECK(b.message.timestamp_ns > 1'600'000'000'000'000'000ull);  // stamped by now_ns(): a wall-clock time
  CHECK(r.try_read().status == ReadStatus::empty);
  CHECK(r.delivered() == 2);
  CHECK(p.head() == 2);
  CHECK(r.head() == 2);
}

TEST_CASE("a payload of every length up to max_message round-trips byte for byte, across many wraps", "[ring]") {
  RingGuard g(unique_ring("lengths"));
  // 4 KiB of records of up to 2 KiB (the largest message such a ring takes): every few
  // messages the next one does not fit before the end of the data and goes to its start
  // after a padding record.
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .max_message = 1992});
  REQUIRE(p.max_message() == 1992);
  Reader r(g.name);
  RingModel model(4096);
  std::vector<std::byte> buf(p.max_message());
  for (std::size_t len = 0; len <= p.max_message(); ++len) {
    for (std::size_t i = 0; i < len; ++i) buf[i] = static_cast<std::byte>(len * 31 + i);
    CHECK(p.publish(std::span(buf.data(), len), static_cast<std::uint32_t>(len)) == len);
    model.publish(len);
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    REQUIRE(e.message.seq == len);
    REQUIRE(e.message.type == len);
    REQUIRE(e.message.payload.size() == len);
    REQUIRE(std::equal(buf.begin(), buf.begin() + static_cast<long>(len), e.message.payload.begin()));
    REQUIRE(r.try_read().status == ReadStatus::empty);
  }
  CHECK(model.tail() > 100 * 4096);  // it wrapped, padding included, hundreds of times
  CHECK(r.missed() == 0);
  CHECK(inspect(g.name).published_bytes == 1992 * 1993 / 2);
}

TEST_CASE("start positions: latest, oldest and a given sequence", "[ring]") {
  RingGuard g(unique_ring("start"));
  Producer p = Producer::create(g.name, kSmall);
  publish_n(p, 5);
  Reader latest(g.name, {.start = StartAt::latest});
  Reader oldest(g.name, {.start = StartAt::oldest});
  Reader at3(g.name, {.start = StartAt::sequence, .start_seq = 3});
  CHECK(latest.position() == 5);
  CHECK(oldest.position() == 0);
  CHECK(text(oldest.try_read()) == "m0");
  CHECK(text(at3.try_read()) == "m3");
  publish_n(p, 1, 5);
  CHECK(text(latest.try_read()) == "m5");
}

TEST_CASE("a lapped reader gets one gap with the exact count, then messages", "[ring][gap]") {
  RingGuard g(unique_ring("lap"));
  Producer p = Producer::create(g.name, kSmall);
  RingModel model(kSmall.ring_bytes);
  SECTION("policy oldest replays what is still safely held") {
    // From sequence 0: an oldest or latest start lost before the first read would be taken again.
    Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest});
    publish_n(p, model, 200);
    // 200 records of 32 bytes: 6400 bytes through a 4096-byte ring, the horizon a step
    // (256 bytes) past the tail; a lapped reader keeps a sixteenth of the ring from it.
    const std::uint64_t oldest = model.oldest();
    REQUIRE(oldest == 88);
    CHECK(r.oldest() == oldest);
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 0);
    CHECK(e.gap.missed == oldest);
    CHECK(e.gap.cause == GapCause::overwritten);
    std::uint64_t expect = oldest;
    while (ReadResult m = r.try_read()) {
      REQUIRE(m.status == ReadStatus::message);
      CHECK(m.message.seq == expect);
      CHECK(text(m) == shmcast::test::numbered("m", expect));
      ++expect;
    }
    CHECK(expect == 200);
    CHECK(r.delivered() + r.missed() == 200);
    CHECK(r.gaps() == 1);
  }
  SECTION("policy latest jumps to head") {
    Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::latest});
    publish_n(p, 200);
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 0);
    CHECK(e.gap.missed == 200);
    CHECK(e.gap.cause == GapCause::overwritten);
    CHECK(r.try_read().status == ReadStatus::empty);
    publish_n(p, 1, 200);
    CHECK(r.try_read().message.seq == 200);
    CHECK(r.delivered() + r.missed() == 201);
  }
  SECTION("messages of mixed sizes across the wrap: the gap is what the ring no longer holds") {
    Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest});
    std::vector<std::byte> buf(kSmall.message_limit());
    for (std::uint64_t seq = 0; seq < 60; ++seq) {
      const std::size_t n = shmcast::test::fill_sized(buf.data(), seq, buf.size());
      p.publish(std::span(buf.data(), n));
      model.publish(n);
    }
    const std::uint64_t oldest = model.oldest();
    REQUIRE(oldest > 0);
    REQUIRE(oldest < 60);
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.missed == oldest);
    for (std::uint64_t seq = oldest; seq < 60; ++seq) {
      const ReadResult m = r.try_read();
      REQUIRE(m.status == ReadStatus::message);
      CHECK(m.message.seq == seq);
      CHECK(shmcast::test::verify_sized(m.message.payload, seq, buf.size()));
    }
    CHECK(r.try_read().status == ReadStatus::empty);
  }
}

TEST_CASE("a fresh reader whose start is lost before its first event takes it again, and after that a loss is a gap",
          "[ring][start]") {
  RingGuard g(unique_ring("retake"));
  Producer p = Producer::create(g.name, kSmall);
  RingModel model(kSmall.ring_bytes);
  SECTION("oldest: the oldest held when it first reads, no gap; the next lap is a gap") {
    Reader r(g.name, {.start = StartAt::oldest, .label = "fresh"});
    CHECK(r.start() == 0);
    publish_n(p, model, 200);  // laps the start (0) before the first read
    const std::uint64_t oldest = model.oldest();
    REQUIRE(oldest > 0);
    const ReadResult first = r.try_read();
    REQUIRE(first.status == ReadStatus::message);
    CHECK(first.message.seq == oldest);
    CHECK(r.start() == oldest);
    CHECK(inspect(g.name).readers.at(0).position == oldest + 1);
    while (r.try_read()) {
    }
    CHECK(r.position() == 200);
    CHECK(r.gaps() == 0);
    CHECK(r.delivered() + r.missed() == r.position() - r.start());
    publish_n(p, 200, 200);  // the start is fixed by the first event: this lap is a gap
    const ReadResult gap = r.try_read();
    REQUIRE(gap.status == ReadStatus::gap);
    CHECK(gap.gap.first == 200);
    CHECK(r.start() == oldest);
    CHECK(r.delivered() + r.missed() == r.position() - r.start());
  }
  SECTION("latest: head when it first reads") {
    Reader r(g.name);
    publish_n(p, 200);
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.start() == 200);
    CHECK(r.position() == 200);
    publish_n(p, 1, 200);
    CHECK(text(r.try_read()) == shmcast::test::numbered("m", 200));
    CHECK(r.missed() == 0);
  }
  SECTION("a start inside a skipped run is taken again after the run") {
    publish_n(p, model, 8);
    p.skip_to(208);
    model.jump_to(208);
    // Publish until the oldest held with the resynchronisation margin is the skip record:
    // a fresh oldest reader then starts inside the run [8, 208).
    int published = 0;
    while (model.oldest() < 8 && published < 1000) {
      publish_n(p, model, 1, 208 + published);
      ++published;
    }
    REQUIRE(model.oldest() == 8);
    Reader r(g.name, {.start = StartAt::oldest});
    CHECK(r.start() == 8);
    CHECK(text(r.try_read()) == shmcast::test::numbered("m", 208));
    CHECK(r.start() == 208);
    CHECK(r.gaps() == 0);
    CHECK(r.missed() == 0);
  }
  SECTION("a start not found at attach is found by the first read, and that first event fixes it too") {
    publish_n(p, model, 10);
    test::RawRing raw(g.name);
    const std::uint64_t reserved = raw.reserved();
    raw.reserve().reserve(reserved + 16 * kSmall.ring_bytes);  // every record looks overwritten: no place at attach
    Reader r(g.name, {.start = StartAt::oldest});
    raw.reserve().reserve(reserved);
    publish_n(p, model, 200, 10);  // laps where it stood before any event: taken again, no gap
    const ReadResult first = r.try_read();
    REQUIRE(first.status == ReadStatus::message);
    CHECK(first.message.seq == model.oldest());
    CHECK(r.start() == model.oldest());
    CHECK(r.gaps() == 0);
    publish_n(p, model, 200, 210);  // after the first event, a lap is a gap
    const ReadResult gap = r.try_read();
    REQUIRE(gap.status == ReadStatus::gap);
    CHECK(gap.gap.first == first.message.seq + 1);
    CHECK(r.start() == first.message.seq);
    CHECK(r.delivered() + r.missed() == r.position() - r.start());
  }
  SECTION("a reader that waited at its start, lapped before any event, takes it again too") {
    Reader r(g.name, {.start = StartAt::oldest});
    CHECK(r.try_read().status == ReadStatus::empty);  // waiting at 0: no event yet
    publish_n(p, model, 200);
    CHECK(r.try_read().message.seq == model.oldest());
    CHECK(r.start() == model.oldest());
    CHECK(r.missed() == 0);
  }
  SECTION("a seek fixes the start: a loss after it is a gap") {
    Reader r(g.name);
    CHECK(r.seek(r.position()));
    publish_n(p, 200);
    const ReadResult gap = r.try_read();
    REQUIRE(gap.status == ReadStatus::gap);
    CHECK(gap.gap.first == 0);
    CHECK(r.start() == 0);
  }
  SECTION("a start given as a sequence is never taken again") {
    Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0});
    publish_n(p, model, 200);
    const ReadResult gap = r.try_read();
    REQUIRE(gap.status == ReadStatus::gap);
    CHECK(gap.gap.first == 0);
    CHECK(gap.gap.missed == model.oldest());
  }
}

TEST_CASE("seek resumes inside the retained window and reports what is outside it", "[ring][seek]") {
  RingGuard g(unique_ring("seek"));
  Producer p = Producer::create(g.name, kSmall);
  RingModel model(kSmall.ring_bytes);
  publish_n(p, model, 200);
  // 200 records of 32 bytes in 4096: the ring holds 80..199 (the horizon a step past the
  // tail), a lapped reader resumes at 88 (a sixteenth of the ring from the horizon).
  REQUIRE(model.oldest_held() == 80);
  REQUIRE(model.oldest() == 88);
  Reader r(g.name);
  SECTION("inside the window: the message itself") {
    CHECK(r.seek(190));
    CHECK(text(r.try_read()) == "m190");
  }
  SECTION("every held sequence is found; every older one is not") {
    for (std::uint64_t seq = 0; seq < 200; ++seq) {
      INFO("seq " << seq);
      CHECK(r.seek(seq) == (seq >= 80));
      const ReadResult e = r.try_read();
      if (seq >= 80) {
        REQUIRE(e.status == ReadStatus::message);
        CHECK(e.message.seq == seq);
        CHECK(text(e) == shmcast::test::numbered("m", seq));
      } else {
        REQUIRE(e.status == ReadStatus::gap);
        CHECK(e.gap.first == seq);
        CHECK(e.gap.missed == 88 - seq);
        CHECK(e.gap.cause == GapCause::overwritten);
      }
    }
  }
  SECTION("outside the window: a gap from the sequence asked for, then the oldest held") {
    CHECK_FALSE(r.seek(10));
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 10);
    CHECK(e.gap.missed == r.position() - 10);
    const std::uint64_t oldest = r.position();
    CHECK(oldest == 88);
    CHECK(r.try_read().message.seq == oldest);
  }
  SECTION("inside the safety margin: still held, so true, and the read delivers it") {
    REQUIRE(r.oldest() == 88);
    CHECK(r.seek(84));
    CHECK(text(r.try_read()) == "m84");
    CHECK(inspect(g.name).oldest == 80);  // the observer counts what is held, margin or not
  }
  SECTION("inside a skipped run: false, and the read reports the gap") {
    p.skip_to(220);
    p.publish(bytes_of("m220"));
    CHECK_FALSE(r.seek(210));
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 210);
    CHECK(e.gap.missed == 10);
    CHECK(e.gap.cause == GapCause::skipped);  // not overwritten: the ring holds the skip
    CHECK(text(r.try_read()) == "m220");
  }
  SECTION("head itself is valid; beyond head is refused and changes nothing") {
    CHECK(r.seek(200));
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK_FALSE(r.seek(201));
    CHECK(r.position() == 200);
  }
}

TEST_CASE("seek and oldest over a stream of every size, skips and wraps: exactly what the ring holds", "[ring][seek]") {
  RingGuard g(unique_ring("seekmix"));
  Producer p = Producer::create(g.name, kSmall);
  RingModel model(kSmall.ring_bytes);
  Reader r(g.name, {.register_reader = false});
  std::vector<std::byte> buf(p.max_message());
  std::uint64_t checked = 0, held = 0;
  // 400 steps: messages of 0 to 1024 bytes, and now and then a jump over a few sequences.
  for (std::uint64_t step = 0; step < 400; ++step) {
    if (shmcast::test::mix64(step) % 17 == 0) {
      const std::uint64_t to = p.head() + 1 + shmcast::test::mix64(step) % 5;
      p.skip_to(to);
      model.jump_to(to);
    }
    const std::uint64_t seq = p.head();
    const std::size_t n = shmcast::test::fill_sized(buf.data(), seq, buf.size());
    p.publish(std::span(buf.data(), n));
    model.publish(n);
    if (step % 40 != 39) continue;
    // Every sequence so far: seek says whether it is held, and the read that follows
    // delivers it, or reports the gap to where a lapped reader resumes.
    REQUIRE(r.oldest() == model.oldest());
    REQUIRE(inspect(g.name).oldest == model.oldest_held());
    for (std::uint64_t s = 0; s < p.head(); ++s) {
      INFO("step " << step << ", seq " << s);
      const bool is_held = model.held(s);
      REQUIRE(r.seek(s) == is_held);
      const ReadResult e = r.try_read();
      if (is_held) {
        ++held;
        REQUIRE(e.status == ReadStatus::message);
        CHECK(e.message.seq == s);
        CHECK(shmcast::test::verify_sized(e.message.payload, s, buf.size()));
      } else {
        REQUIRE(e.status == ReadStatus::gap);
        CHECK(e.gap.first == s);
        // Older than the ring holds: to where a lapped reader resumes. Inside a skipped run:
        // to the run's end, or (by the gap policy, which keeps the resynchronisation margin)
        // to the first record from there that a lapped reader would resume at.
        const std::uint64_t end = e.gap.first + e.gap.missed;
        if (s < model.oldest_held()) {
          CHECK(end == model.oldest());
        } else {
          const std::uint64_t run_end = model.first_from(s + 1, 0);
          CHECK((end == run_end || end == model.first_from(run_end, model.margin())));
        }
      }
      ++checked;
    }
  }
  CHECK(model.tail() > 20 * kSmall.ring_bytes);  // wrapped many times
  CHECK(held > 100);
  CHECK(checked > held);
}

TEST_CASE("publish_at skips sequences, and readers see the skipped run as one exact gap", "[ring][skip]") {
  RingGuard g(unique_ring("skip"));
  Producer p = Producer::create(g.name, kSmall);
  Reader r(g.name, {.start = StartAt::oldest});
  publish_n(p, 3);
  CHECK(p.publish_at(10, bytes_of("ten")) == 10);
  CHECK(p.publish(bytes_of("eleven")) == 11);
  CHECK_THROWS_AS(p.publish_at(5, bytes_of("back")), Error);
  for (int i = 0; i < 3; ++i) CHECK(r.try_read().status == ReadStatus::message);
  ReadResult gap = r.try_read();
  REQUIRE(gap.status == ReadStatus::gap);
  CHECK(gap.gap.first == 3);
  CHECK(gap.gap.missed == 7);
  CHECK(gap.gap.cause == GapCause::skipped);
  CHECK(std::string(to_string(gap.gap.cause)) == "skipped");
  CHECK(text(r.try_read()) == "ten");
  CHECK(text(r.try_read()) == "eleven");
  CHECK(r.delivered() + r.missed() == 12);
  CHECK(inspect(g.name).skipped == 7);
}

TEST_CASE("a reader that lands inside a skipped run reports the whole run as one gap, whatever its policy",
          "[ring][skip]") {
  RingGuard g(unique_ring("skiprun"));
  Producer p = ring_with_skipped_run(g.name, 40);  // head 250, all of it held: the skip record stands for 10..209
  const GapPolicy policy = GENERATE(GapPolicy::oldest, GapPolicy::latest);
  INFO("gap policy " << static_cast<int>(policy));
  // A reader that stands at 190, inside the run (a fresh oldest reader would take its start again, at 210).
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 190, .on_gap = policy});
  REQUIRE(r.position() == 190);
  const ReadResult gap = r.try_read();
  REQUIRE(gap.status == ReadStatus::gap);
  CHECK(gap.gap.first == 190);
  CHECK(gap.gap.cause == GapCause::skipped);
  if (policy == GapPolicy::oldest) {
    CHECK(gap.gap.missed == 20);  // 190..209, once: not twenty gaps of one
    CHECK(text(r.try_read()) == "m210");
  } else {
    CHECK(gap.gap.missed == 60);  // latest goes on to head
  }
  CHECK(r.gaps() == 1);
}

TEST_CASE("a skipped run whose skip record is held inside the resynchronisation margin is still reported as skipped",
          "[ring][skip][gap]") {
  RingGuard g(unique_ring("skipmargin"));
  // 4096-byte ring, 32-byte records: the oldest held is 8, oldest() with its margin past the skip.
  Producer p = ring_with_skipped_run(g.name, 120);
  Reader r(g.name);
  REQUIRE(r.oldest() > 210);
  CHECK_FALSE(r.seek(190));
  const ReadResult e = r.try_read();
  REQUIRE(e.status == ReadStatus::gap);
  CHECK(e.gap.first == 190);
  CHECK(e.gap.cause == GapCause::skipped);
}

TEST_CASE("a reader whose place at the padding was lapped, its next message still held, reads that message at once",
          "[ring][wrap]") {
  // 4096-byte ring, 1010-byte messages (1056-byte records), a step and margin of 256. The
  // reader stands at 3168 after 0..2; 3 goes to the data's start after padding at 3168,
  // then 4 and 5 move the horizon to 7424: past 3168 + 4096 (the padding is overwritten)
  // but 3 at 4096 is still held, with the margin. Whatever the gap policy: nothing is lost
  // (the snapshot policy, with a snapshot older than 3, waited for a newer one).
  const GapPolicy policy = GENERATE(GapPolicy::oldest, GapPolicy::latest, GapPolicy::snapshot);
  INFO("gap policy " << static_cast<int>(policy));
  RingGuard g(unique_ring("relocate"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .snapshot_capacity = 64});
  p.publish_snapshot(bytes_of("as of 0"));
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = policy});
  std::vector<std::byte> buf(1010);
  const auto publish = [&](std::uint64_t seq) {
    shmcast::test::fill_pattern(buf.data(), buf.size(), seq);
    REQUIRE(p.publish(buf) == seq);
  };
  for (std::uint64_t seq = 0; seq < 3; ++seq) publish(seq);
  for (std::uint64_t seq = 0; seq < 3; ++seq) REQUIRE(r.try_read().message.seq == seq);
  for (std::uint64_t seq = 3; seq < 6; ++seq) publish(seq);
  SECTION("copying") {
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);  // was empty: the read only moved the place
    CHECK(e.message.seq == 3);
    CHECK(shmcast::test::check_pattern(e.message.payload, 3));
  }
  SECTION("in place") {
    std::array<Message, 8> out;
    const Reader::Batch b = r.peek(out);
    REQUIRE(b.count >= 1);
    CHECK(out[0].seq == 3);
    CHECK(r.confirm());
  }
  CHECK(r.missed() == 0);
}

TEST_CASE("a run skipped by a ring's first jump is reported as skipped", "[ring][skip][gap]") {
  RingGuard g(unique_ring("firstjump"));
  Producer p = Producer::create(g.name, kSmall);
  p.skip_to(100);  // first_seq moves to 100; the skip record numbered 0 stands for 0..99
  p.publish(bytes_of("m100"));
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 50});
  const ReadResult e = r.try_read();
  REQUIRE(e.status == ReadStatus::gap);
  CHECK(e.gap.first == 50);
  CHECK(e.gap.missed == 50);
  CHECK(e.gap.cause == GapCause::skipped);
  CHECK(text(r.try_read()) == "m100");
}

TEST_CASE("a ring that starts at an explicit sequence begins there for oldest readers", "[ring][skip]") {
  RingGuard g(unique_ring("firstseq"));
  Producer p = Producer::create(g.name, kSmall);
  p.publish_at(1000, bytes_of("a"));
  Reader r(g.name, {.start = StartAt::oldest});
  CHECK(r.position() == 1000);
  CHECK(text(r.try_read()) == "a");
}

TEST_CASE("a skip longer than the ring is still counted exactly", "[ring][skip]") {
  RingGuard g(unique_ring("longskip"));
  Producer p = Producer::create(g.name, kSmall);
  Reader r(g.name, {.start = StartAt::oldest});
  publish_n(p, 4);
  std::uint64_t delivered = 0, missed = 0;
  for (int i = 0; i < 2; ++i) delivered += r.try_read().status == ReadStatus::message;
  // The jump leaves the two unread messages held: it writes one 32-byte skip record.
  p.publish_at(1'000'000, bytes_of("far"));
  while (ReadResult e = r.try_read()) {
    if (e.status == ReadStatus::message) ++delivered;
    if (e.status == ReadStatus::gap) missed += e.gap.missed;
  }
  CHECK(delivered == 5);
  CHECK(missed == 1'000'000 - 4);
  CHECK(r.position() == 1'000'001);
}

TEST_CASE("claim writes in place, commit publishes, abandoning leaves no trace", "[ring][claim]") {
  RingGuard g(unique_ring("claim"));
  Producer p = Producer::create(g.name, kSmall);
  Reader r(g.name);
  {
    Producer::Claim c = p.claim(11, 5);
    c.write(0, bytes_of("hello"));
    c.write(5, bytes_of(" world"));
    CHECK(r.try_read().status == ReadStatus::empty);  // being written
    CHECK(c.commit() == 0);
  }
  ReadResult e = r.try_read();
  REQUIRE(e.status == ReadStatus::message);
  CHECK(text(e) == "hello world");
  CHECK(e.message.type == 5);
  {
    Producer::Claim c = p.claim(30);
    c.write(3, bytes_of("xyz"));
  }  // abandoned
  CHECK(r.try_read().status == ReadStatus::empty);
  CHECK(p.head() == 1);
  const test::RawRing raw(g.name, /*writable=*/false);
  CHECK(raw.producer().tail() == record_bytes(11));
  {
    Producer::Claim c = p.claim(p.max_message());
    c.write(0, bytes_of("short"));
    CHECK(c.commit(5) == 1);
  }
  CHECK(text(r.try_read()) == "short");
  // Only the length committed takes room: the next record follows 32 bytes on.
  CHECK(raw.producer().tail() == record_bytes(11) + record_bytes(5));
  CHECK(inspect(g.name).published_bytes == 16);
  SECTION("a claim too long for the room left before the end of the data goes to its start, committed short or not") {
    publish_n(p, 120, 2);  // 122 records so far: 3936 of 4096 bytes used, 160 left
    const std::uint64_t tail = raw.producer().tail();
    REQUIRE(tail == record_bytes(11) + 121 * 32);
    for (std::uint64_t seq = 2; seq < 122; ++seq) REQUIRE(r.try_read().message.seq == seq);
    {
      Producer::Claim c = p.claim(500);
      c.write(0, bytes_of("wrapped"));
      CHECK(c.commit(7) == 122);
    }
    CHECK(raw.producer().tail() == 4096 + record_bytes(7));
    const ReadResult w = r.try_read();
    REQUIRE(w.status == ReadStatus::message);
    CHECK(text(w) == "wrapped");
    CHECK(r.missed() == 0);
  }
}

TEST_CASE("an oversized message is refused and nothing is written", "[ring][errors]") {
  RingGuard g(unique_ring("oversize"));
  Producer p = Producer::create(g.name, kSmall);
  Reader r(g.name);
  REQUIRE(p.max_message() == 1024);  // a quarter of the ring by default
  const std::string big(p.max_message() + 1, 'x');
  try {
    p.publish(bytes_of(big));
    FAIL("publish accepted an oversized message");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::message_too_large);
    CHECK_THAT(e.what(), Catch::Contains("1025 bytes exceeds") && Catch::Contains(g.name));
  }
  CHECK_THROWS_AS(p.claim(p.max_message() + 1), Error);
  CHECK_THROWS_AS(p.publish_at(5, bytes_of(big)), Error);
  CHECK(p.head() == 0);
  CHECK(r.try_read().status == ReadStatus::empty);
  CHECK(inspect(g.name).published == 0);
}

TEST_CASE("one producer per ring: a second gets producer_active naming the first", "[ring][producer]") {
  RingGuard g(unique_ring("exclusive"));
  Producer p = Producer::create(g.name, kSmall);
  try {
    Producer second = Producer::open(g.name);
    FAIL("a second producer opened the ring");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::producer_active);
    CHECK_THAT(e.what(), Catch::Contains("pid " + std::to_string(::getpid())));
  }
  Reader r(g.name);
  CHECK(r.producer_alive());
  CHECK(r.producer_pid() == ::getpid());
}

TEST_CASE("a producer that reopens a ring continues its sequence", "[ring][producer]") {
  RingGuard g(unique_ring("reopen"));
  {
    Producer p = Producer::create(g.name, kSmall);
    publish_n(p, 5);
  }
  Reader r(g.name, {.start = StartAt::oldest});
  CHECK_FALSE(r.producer_alive());
  Producer p = Producer::open(g.name);
  CHECK(r.producer_alive());
  CHECK(p.head() == 5);
  CHECK(p.publish(bytes_of("m5")) == 5);
  for (int i = 0; i <= 5; ++i) CHECK(text(r.try_read()) == shmcast::test::numbered("m", i));
  CHECK(r.missed() == 0);
  CHECK(inspect(g.name).takeovers == 0);  // a restart after a producer that closed the ring is no takeover
}

TEST_CASE("create, open_or_create and replace", "[ring][create]") {
  RingGuard g(unique_ring("create"));
  const Geometry geometry{.ring_bytes = 8192, .max_message = 100};
  {
    Producer p = Producer::open_or_create(g.name, geometry);
    CHECK(p.geometry() == geometry);
    CHECK(p.max_message() == 100);
    p.publish(bytes_of("x"));
  }
  CHECK_THROWS_MATCHES(Producer::create(g.name, geometry), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::already_exists; }));
  const auto mismatch = Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::geometry_mismatch; });
  CHECK_THROWS_MATCHES(Producer::open_or_create(g.name, {.ring_bytes = 16384, .max_message = 100}), Error, mismatch);
  CHECK_THROWS_MATCHES(Producer::open_or_create(g.name, {.ring_bytes = 8192, .max_message = 101}), Error, mismatch);
  CHECK_THROWS_MATCHES(Producer::open_or_create(g.name, {.ring_bytes = 8192}), Error, mismatch);  // default: 2048
  {
    Producer p = Producer::open_or_create(g.name, {.ring_bytes = 16384}, {}, ExistingRing::use_as_is);
    CHECK(p.geometry() == geometry);
    CHECK(Reader(g.name).geometry().max_message == 100);  // readers see it resolved
  }
  const std::uint64_t old_id = inspect(g.name).ring_id;
  Producer p = Producer::create(g.name, {.ring_bytes = 8192}, {.replace = true});
  CHECK(p.head() == 0);
  CHECK(p.ring_id() != old_id);
  // A default max_message is a quarter of the ring, and equals it spelled out.
  CHECK(p.max_message() == 2048);
  CHECK(p.geometry() == Geometry{.ring_bytes = 8192, .max_message = 2048});
  CHECK(inspect(g.name).geometry.max_message == 2048);
}

TEST_CASE("replace and remove_unless_live refuse a ring whose producer is alive and remove nothing, in this process or "
          "another",
          "[ring][create]") {
  RingGuard g(unique_ring("replace-live"));
  const auto active = Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::producer_active; });
  {
    Producer p = Producer::create(g.name, kSmall);
    publish_n(p, 3);
    CHECK_THROWS_MATCHES(Producer::create(g.name, kSmall, {.replace = true}), Error, active);
    CHECK_THROWS_MATCHES(Producer::remove_unless_live(g.name), Error, active);
    CHECK(p.publish(bytes_of("m3")) == 3);
    CHECK(inspect(g.name).ring_id == p.ring_id());  // still the ring the name finds
  }
  // A producer in another process, alive until told to stop: the refusal names its pid.
  int ready[2];
  int stop[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(stop) == 0);
  const pid_t child = test::spawn([&] {
    Producer p = Producer::open(g.name);
    p.publish(bytes_of("m4"));
    char c = 1;
    if (::write(ready[1], &c, 1) != 1) return 2;
    return ::read(stop[0], &c, 1) == 1 ? 0 : 3;
  });
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  CHECK_THROWS_WITH(Producer::create(g.name, kSmall, {.replace = true}), Catch::Contains("(pid " + std::to_string(child) + ")"));
  CHECK_THROWS_MATCHES(Producer::remove_unless_live(g.name), Error, active);
  CHECK(inspect(g.name).published == 5);
  REQUIRE(::write(stop[1], &c, 1) == 1);
  REQUIRE(test::wait_exit(child) == 0);
  // One that died holding it: its lock went with it.
  const pid_t dead = test::spawn([&] {
    Producer p = Producer::open(g.name);
    p.publish(bytes_of("m5"));
    std::_Exit(0);
    return 1;
  });
  REQUIRE(test::wait_exit(dead) == 0);
  CHECK(Producer::remove_unless_live(g.name));
  Producer p = Producer::create(g.name, kSmall, {.replace = true});  // nothing to replace: created
  CHECK(p.head() == 0);
  for (int fd : {ready[0], ready[1], stop[0], stop[1]}) ::close(fd);
}

TEST_CASE("open_or_create refuses a ring of another geometry before taking it over: nothing in it changes",
          "[ring][create]") {
  RingGuard g(unique_ring("mismatch-dead"));
  const pid_t dead = test::spawn([&] {
    Producer p = Producer::create(g.name, kSmall);
    publish_n(p, 5);
    std::_Exit(0);  // dies holding the ring, not closed: its successor is a takeover
    return 1;
  });
  REQUIRE(test::wait_exit(dead) == 0);
  CHECK_THROWS_MATCHES(Producer::open_or_create(g.name, {.ring_bytes = 8192}), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::geometry_mismatch; }));
  const RingStatus before = inspect(g.name);
  CHECK(before.takeovers == 0);
  CHECK(before.producer_pid == static_cast<std::uint32_t>(dead));  // still the dead producer's
  CHECK_FALSE(before.producer_alive);
  Producer p = Producer::open(g.name);
  CHECK(p.head() == 5);
  CHECK(inspect(g.name).takeovers == 1);  // the real successor is the takeover
}

TEST_CASE("oldest keeps a margin from a producer that may write, and none once the ring is closed", "[ring][gap]") {
  RingGuard g(unique_ring("margin"));
  const auto held_oldest = [&] { return inspect(g.name).oldest; };  // the oldest record held, no margin
  {
    Producer p = Producer::create(g.name, kSmall);
    publish_n(p, 1000);  // 32-byte records: many laps of a 4 KiB ring
    Reader r(g.name, {.start = StartAt::oldest});
    CHECK(r.oldest() > held_oldest());  // a sixteenth of the ring left to the producer
    CHECK(r.try_read().message.seq == r.oldest());
  }
  Reader r(g.name, {.start = StartAt::oldest});
  CHECK(r.oldest() == held_oldest());
  CHECK(r.try_read().message.seq == held_oldest());
  {
    // Marked closed while a producer holds the lock (the parent of a forked producer let its
    // copy go first): the lock, asked then, keeps the margin.
    Producer p = Producer::open(g.name);
    publish_n(p, 100);
    shmcast::test::RawRing(g.name).reserve().mark_closed();
    CHECK(r.oldest() > held_oldest());
  }
  Reader lapped(g.name, {.start = StartAt::sequence, .start_seq = 0});
  const ReadResult gap = lapped.try_read();
  REQUIRE(gap.status == ReadStatus::gap);
  CHECK(gap.gap.missed == held_oldest());  // only what the ring lost
  CHECK(gap.gap.cause == GapCause::overwritten);
}

TEST_CASE("objects are created 0600 unless asked otherwise", "[ring][permissions]") {
  RingGuard g(unique_ring("mode"));
  struct stat st {};
  {
    Producer p = Producer::create(g.name, kSmall);
    REQUIRE(::stat(("/dev/shm/shmcast." + g.name).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat(("/dev/shm/shmcast." + g.name + ".readers").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  Producer p = Producer::create(g.name, kSmall, {.mode = 0644, .replace = true});
  REQUIRE(::stat(("/dev/shm/shmcast." + g.name).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("the observer puts each reader in one state: ok, behind, lapped, stalled", "[ring][registry][observer]") {
  RingGuard g(unique_ring("states"));
  Producer p = Producer::create(g.name, kSmall);
  Reader r(g.name, {.start = StartAt::oldest, .label = "r"});
  RingObserver observer(g.name);
  const auto state = [&] {
    const RingStatus st = observer.sample();
    REQUIRE(st.readers.size() == 1);
    return st.readers[0].state;
  };
  RingModel model(kSmall.ring_bytes);
  CHECK(state() == ReaderState::keeping_up);  // nothing to read
  publish_n(p, model, 4);
  CHECK(state() == ReaderState::stalled);  // messages came, it did not move since the last sample
  while (r.try_read()) {
  }
  CHECK(state() == ReaderState::keeping_up);
  publish_n(p, model, 8, 4);
  CHECK(state() == ReaderState::stalled);
  CHECK(state() == ReaderState::behind);  // nothing new since the last sample: not stalled, but half of what is held behind
  // Up to the last message before the ring lets message 4 go: behind, never lapped.
  int n = 12;
  for (; n < 1000; ++n) {
    RingModel next = model;
    next.publish(shmcast::test::numbered("m", n).size());
    if (next.oldest_held() > 4) break;
    publish_n(p, model, 1, n);
  }
  REQUIRE(model.oldest_held() <= 4);
  CHECK(inspect(g.name).oldest == model.oldest_held());
  CHECK(state() != ReaderState::lapped);  // message 4 is still held
  publish_n(p, model, 1, n);
  REQUIRE(model.oldest_held() > 4);
  CHECK(inspect(g.name).oldest == model.oldest_held());
  CHECK(state() == ReaderState::lapped);  // message 4 is gone: its next read is a gap
  CHECK(r.try_read().status == ReadStatus::gap);
  CHECK(std::string(to_string(ReaderState::lapped)) == "lapped");
}

TEST_CASE("the observer tells a relayed ring by its source figures, and reads them back", "[ring][observer]") {
  RingGuard g(unique_ring("relayed"));
  Producer p = Producer::create(g.name, kSmall);
  CHECK_FALSE(inspect(g.name).relay);
  p.set_source_status({.head = 40, .gaps = 2, .missed = 7});
  const RingStatus st = inspect(g.name);
  CHECK(st.relay);
  CHECK(st.source_head == 40);
  CHECK(st.source_gaps == 2);
  CHECK(st.source_missed == 7);
  CHECK(p.source_status().missed == 7);
}

TEST_CASE("uncounted_skips counts the jumps the stored source status does not, and not those made before it", "[ring][observer]") {
  RingGuard g(unique_ring("relayskip"));
  Producer p = Producer::create(g.name, kSmall);
  p.skip_to(10);  // before any status: not the relay's
  CHECK(p.uncounted_skips() == 0);
  p.set_source_status({.head = 10});
  CHECK(p.uncounted_skips() == 0);
  p.skip_to(25);
  const std::byte b{1};
  p.publish_at(30, {&b, 1});
  CHECK(p.uncounted_skips() == 20);
  p.set_source_status({.head = 30, .gaps = 2, .missed = 20});
  CHECK(p.uncounted_skips() == 0);
  p.skip_to(40);
  CHECK(p.uncounted_skips() == 9);
  // A status stored half-way (the missed count with the jump, the mark from before) still
  // counts it once: the mark does not move when the relay counts its own jump.
  {
    test::RawRing raw(g.name);
    raw.view().relay().source_missed_.store(29);
  }
  CHECK(p.uncounted_skips() == 0);
}

TEST_CASE("registered readers appear in the registry with their counters", "[ring][registry]") {
  RingGuard g(unique_ring("registry"));
  Producer p = Producer::create(g.name, kSmall);
  Reader a(g.name, {.start = StartAt::sequence, .start_seq = 0, .label = "alpha"});
  Reader hidden(g.name, {.register_reader = false});
  CHECK(a.registered());
  CHECK_FALSE(hidden.registered());
  publish_n(p, 200);  // laps it once
  while (a.try_read()) {
  }
  RingStatus st = inspect(g.name);
  REQUIRE(st.readers.size() == 1);
  const ReaderStatus& rs = st.readers[0];
  CHECK(rs.label == "alpha");
  CHECK(rs.pid == static_cast<std::uint32_t>(::getpid()));
  CHECK(rs.alive);
  CHECK(rs.position == 200);
  CHECK(rs.lag == 0);
  CHECK(rs.delivered == a.delivered());
  CHECK(rs.missed == a.missed());
  CHECK(rs.gaps == 1);
  CHECK(p.reader_count() == 1);
  {
    Reader b(g.name, {.label = "beta"});
    CHECK(p.reader_count() == 2);
  }
  CHECK(p.reader_count() == 1);
}

TEST_CASE("list_rings finds rings and not registries", "[ring][inspect]") {
  RingGuard g(unique_ring("list"));
  Producer p = Producer::create(g.name, kSmall);
  std::vector<std::string> names = list_rings();
  CHECK(std::count(names.begin(), names.end(), g.name) == 1);
  CHECK(std::count(names.begin(), names.end(), g.name + ".readers") == 0);
}

TEST_CASE("now_ns tracks CLOCK_REALTIME across re-anchorings, in every thread", "[clock]") {
  std::atomic<std::int64_t> worst{0};
  std::atomic<std::uint64_t> samples{0};
  // How far CLOCK_REALTIME moved against the hardware's own clock meanwhile. NTP slews
  // it by at most 500 ppm; a host that steps or slews it harder (seen on a VM: 0.5 %)
  // moves it away from any interpolation between the once-a-second anchors by as much,
  // which is the host's doing, not calibration error: it widens the bound.
  const auto realtime_less_raw = [] {
    timespec real{}, raw{};
    ::clock_gettime(CLOCK_REALTIME, &real);
    ::clock_gettime(CLOCK_MONOTONIC_RAW, &raw);
    return (static_cast<std::int64_t>(real.tv_sec) - raw.tv_sec) * 1'000'000'000 + (real.tv_nsec - raw.tv_nsec);
  };
  const std::int64_t skew_start = realtime_less_raw();
  std::atomic<std::int64_t> skew{0};
  auto probe = [&] {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      timespec ts{};
      const std::uint64_t a = now_ns();
      ::clock_gettime(CLOCK_REALTIME, &ts);
      const std::uint64_t b = now_ns();
      const auto real = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
      // A thread preempted between the reads measures the scheduler, not the clock: such
      // a sample (the two now_ns reads 100 us or more apart) is left out.
      if (b > a && b - a >= 100'000) continue;
      samples.fetch_add(1);
      const std::int64_t off = std::max(std::abs(static_cast<std::int64_t>(a) - real), std::abs(static_cast<std::int64_t>(b) - real));
      std::int64_t seen = worst.load();
      while (off > seen && !worst.compare_exchange_weak(seen, off)) {
      }
      const std::int64_t moved = std::abs(realtime_less_raw() - skew_start);
      seen = skew.load();
      while (moved > seen && !skew.compare_exchange_weak(seen, moved)) {
      }
    }
  };
  std::thread t1(probe), t2(probe);
  probe();
  t1.join();
  t2.join();
  INFO("worst offset from CLOCK_REALTIME: " << worst.load() << " ns over " << samples.load()
                                                << " samples (tsc clock: " << clock_uses_tsc()
                                                << "); CLOCK_REALTIME moved " << skew.load()
                                                << " ns against CLOCK_MONOTONIC_RAW meanwhile");
  // Calibration error over a second of re-anchoring stays in microseconds.
  CHECK(samples.load() > 100);
  CHECK(worst.load() < 2'000'000 + skew.load());
}

// Exec'd by the case below in a fresh process: the calibration is once per process, and a
// forked child would inherit its parent's.
TEST_CASE("clock child: attaching calibrates the clock", "[.clock-child]") {
  const char* name = std::getenv("SHMCAST_TEST_RING");
  const char* role = std::getenv("SHMCAST_TEST_ROLE");
  REQUIRE(name != nullptr);
  REQUIRE(role != nullptr);
  REQUIRE_FALSE(detail::clock_calibrated());
  if (std::string_view(role) == "producer") {
    Producer p = Producer::open(name);
    CHECK(detail::clock_calibrated());
  } else {
    Reader r(name);
    CHECK(detail::clock_calibrated());
  }
}

// The calibration takes about 5 ms. Left to the first now_ns(), it stalled a reader's first
// idle activity stamp mid-stream (a 5 ms spike behind every paced message it held up) and
// a producer's first publish(kNow).
TEST_CASE("a producer and a reader calibrate the clock when they attach, not on the hot path", "[clock]") {
  RingGuard g(unique_ring("calibrate"));
  { Producer::create(g.name, kSmall); }
  for (const char* role : {"producer", "reader"}) {
    INFO(role);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("SHMCAST_TEST_RING", g.name.c_str(), 1);
      ::setenv("SHMCAST_TEST_ROLE", role, 1);
      ::execl("/proc/self/exe", "shmcast-core-test", "clock child: attaching calibrates the clock", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    CHECK(shmcast::test::wait_exit(pid) == 0);
  }
}

TEST_CASE("skip_to advances head without a message: readers see the gap at once", "[ring][skip]") {
  RingGuard g(unique_ring("skipto"));
  Producer p = Producer::create(g.name, kSmall);
  Reader r(g.name);
  publish_n(p, 2);
  p.skip_to(2);  // no-op at head
  p.skip_to(9);
  CHECK(p.head() == 9);
  CHECK(r.head() == 9);
  CHECK_THROWS_AS(p.skip_to(5), Error);
  CHECK(r.try_read().status == ReadStatus::message);
  CHECK(r.try_read().status == ReadStatus::message);
  ReadResult gap = r.try_read();
  REQUIRE(gap.status == ReadStatus::gap);
  CHECK(gap.gap.first == 2);
  CHECK(gap.gap.missed == 7);
  CHECK(r.try_read().status == ReadStatus::empty);
  CHECK(p.publish(bytes_of("nine")) == 9);
  CHECK(text(r.try_read()) == "nine");
}

TEST_CASE("open_or_create replaces a ring whose creator died before finishing it", "[ring][create]") {
  RingGuard g(unique_ring("halfmade"));
  {
    // What a creator killed between creating the object and storing the magic leaves.
    const int fd = ::shm_open(("/shmcast." + g.name).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, 8192) == 0);
    ::close(fd);
  }
  CHECK_THROWS_AS(Reader(g.name, {.attach_timeout = std::chrono::milliseconds(20)}), Error);
  Producer p = Producer::open_or_create(g.name, kSmall);
  CHECK(p.publish(bytes_of("fresh")) == 0);
  Reader r(g.name, {.start = StartAt::oldest});
  CHECK(text(r.try_read()) == "fresh");
}

TEST_CASE("an entry whose owner died inside its claim (no start time yet) is reclaimed", "[ring][registry]") {
  RingGuard g(unique_ring("halfclaim"));
  Producer p = Producer::create(g.name, kSmall);
  const pid_t gone = shmcast::test::spawn([] { return 0; });
  REQUIRE(shmcast::test::wait_exit(gone) == 0);
  {
    // What a reader killed between its CAS on the pid and storing its start time leaves.
    const int fd = ::shm_open(test::shm_name(detail::registry_object_name(g.name)).c_str(), O_RDWR, 0);
    REQUIRE(fd >= 0);
    void* map = ::mmap(nullptr, detail::registry_size(kDefaultMaxReaders), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    REQUIRE(map != MAP_FAILED);
    auto* entry = reinterpret_cast<detail::ReaderEntry*>(static_cast<std::byte*>(map) + detail::kRegistryEntriesOffset +
                                                         5 * detail::kRegistryEntrySize);
    REQUIRE(entry->take(0, entry->start_time(), static_cast<std::uint32_t>(gone)));
    ::munmap(map, detail::registry_size(kDefaultMaxReaders));
  }
  RingStatus st = inspect(g.name);
  REQUIRE(st.readers.size() == 1);
  CHECK_FALSE(st.readers[0].alive);
  CHECK(reap_dead_readers(g.name) == 1);
  CHECK(inspect(g.name).readers.empty());
}
