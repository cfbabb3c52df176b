// Single-process behaviour of a ring: publish and read, positions, seeks, skips,
// zero-copy claims, limits, the registry and permissions.
#include <catch2/catch.hpp>

#include "clock_internal.hpp"
#include "names.hpp"
#include "raw_ring.hpp"
#include "registry_layout.hpp"
#include "test_support.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

std::string text(const ReadResult& r) { return std::string(text_of(r.message.payload)); }

void publish_n(Producer& p, int n, int from = 0) {
  for (int i = 0; i < n; ++i) p.publish(bytes_of(shmcast::test::numbered("m", from + i)));
}

}  // namespace

TEST_CASE("a message round-trips with its sequence, type, timestamp and payload", "[ring]") {
  RingGuard g(unique_ring("roundtrip"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
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

TEST_CASE("a full-capacity payload of every length round-trips byte for byte", "[ring]") {
  RingGuard g(unique_ring("lengths"));
  Producer p = Producer::create(g.name, {.slot_count = 64, .slot_size = 128});
  Reader r(g.name);
  std::vector<std::byte> buf(p.payload_capacity());
  for (std::size_t len = 0; len <= p.payload_capacity(); ++len) {
    for (std::size_t i = 0; i < len; ++i) buf[i] = static_cast<std::byte>(len * 31 + i);
    p.publish(std::span(buf.data(), len));
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    REQUIRE(e.message.payload.size() == len);
    REQUIRE(std::equal(buf.begin(), buf.begin() + static_cast<long>(len), e.message.payload.begin()));
  }
}

TEST_CASE("start positions: latest, oldest and a given sequence", "[ring]") {
  RingGuard g(unique_ring("start"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
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
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
  SECTION("policy oldest replays what is still safely held") {
    // From sequence 0: an oldest or latest start lost before the first read would be taken again.
    Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest});
    publish_n(p, 40);
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 0);
    // head 40, 16 slots, a safety margin of one slot: the oldest kept is 25.
    CHECK(e.gap.missed == 25);
    std::uint64_t expect = 25;
    while (ReadResult m = r.try_read()) {
      REQUIRE(m.status == ReadStatus::message);
      CHECK(m.message.seq == expect);
      CHECK(text(m) == shmcast::test::numbered("m", expect));
      ++expect;
    }
    CHECK(expect == 40);
    CHECK(r.delivered() + r.missed() == 40);
    CHECK(r.gaps() == 1);
  }
  SECTION("policy latest jumps to head") {
    Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::latest});
    publish_n(p, 40);
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 0);
    CHECK(e.gap.missed == 40);
    CHECK(r.try_read().status == ReadStatus::empty);
    publish_n(p, 1, 40);
    CHECK(r.try_read().message.seq == 40);
    CHECK(r.delivered() + r.missed() == 41);
  }
}

TEST_CASE("a fresh reader whose start is lost before its first event takes it again, and after that a loss is a gap",
          "[ring][start]") {
  RingGuard g(unique_ring("retake"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
  SECTION("oldest: the oldest held when it first reads, no gap; the next lap is a gap") {
    Reader r(g.name, {.start = StartAt::oldest, .label = "fresh"});
    CHECK(r.start() == 0);
    publish_n(p, 40);  // laps the start (0) before the first read
    const ReadResult first = r.try_read();
    REQUIRE(first.status == ReadStatus::message);
    CHECK(first.message.seq == 25);  // head 40, 16 slots, a margin of one
    CHECK(r.start() == 25);
    CHECK(inspect(g.name).readers.at(0).position == 26);
    while (r.try_read()) {
    }
    CHECK(r.position() == 40);
    CHECK(r.gaps() == 0);
    CHECK(r.delivered() + r.missed() == r.position() - r.start());
    publish_n(p, 40, 40);  // the start is fixed by the first event: this lap is a gap
    const ReadResult gap = r.try_read();
    REQUIRE(gap.status == ReadStatus::gap);
    CHECK(gap.gap.first == 40);
    CHECK(r.start() == 25);
    CHECK(r.delivered() + r.missed() == r.position() - r.start());
  }
  SECTION("latest: head when it first reads") {
    Reader r(g.name);
    publish_n(p, 40);
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.start() == 40);
    CHECK(r.position() == 40);
    publish_n(p, 1, 40);
    CHECK(text(r.try_read()) == shmcast::test::numbered("m", 40));
    CHECK(r.missed() == 0);
  }
  SECTION("a start inside a skipped run is taken again after the run") {
    RingGuard wide(unique_ring("retake-skip"));
    Producer q = Producer::create(wide.name, {.slot_count = 64, .slot_size = 64});
    publish_n(q, 10);
    q.skip_to(210);
    publish_n(q, 40, 210);
    Reader r(wide.name, {.start = StartAt::oldest});
    CHECK(r.start() == 190);  // the oldest by the window (head 250, 64 slots, a margin of 4): inside the run
    CHECK(text(r.try_read()) == shmcast::test::numbered("m", 210));
    CHECK(r.start() == 210);
    CHECK(r.gaps() == 0);
  }
  SECTION("a reader that waited at its start, lapped before any event, takes it again too") {
    Reader r(g.name, {.start = StartAt::oldest});
    CHECK(r.try_read().status == ReadStatus::empty);  // waiting at 0: no event yet
    publish_n(p, 40);
    CHECK(r.try_read().message.seq == 25);
    CHECK(r.start() == 25);
    CHECK(r.missed() == 0);
  }
  SECTION("a seek fixes the start: a loss after it is a gap") {
    Reader r(g.name);
    CHECK(r.seek(r.position()));
    publish_n(p, 40);
    const ReadResult gap = r.try_read();
    REQUIRE(gap.status == ReadStatus::gap);
    CHECK(gap.gap.first == 0);
    CHECK(r.start() == 0);
  }
  SECTION("a start given as a sequence is never taken again") {
    Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0});
    publish_n(p, 40);
    const ReadResult gap = r.try_read();
    REQUIRE(gap.status == ReadStatus::gap);
    CHECK(gap.gap.first == 0);
    CHECK(gap.gap.missed == 25);
  }
}

TEST_CASE("seek resumes inside the retained window and reports what is outside it", "[ring][seek]") {
  RingGuard g(unique_ring("seek"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
  publish_n(p, 100);
  Reader r(g.name);
  SECTION("inside the window: the message itself") {
    CHECK(r.seek(90));
    CHECK(text(r.try_read()) == "m90");
  }
  SECTION("outside the window: a gap from the sequence asked for, then the oldest held") {
    CHECK_FALSE(r.seek(10));
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 10);
    CHECK(e.gap.missed == r.position() - 10);
    const std::uint64_t oldest = r.position();
    CHECK(r.try_read().message.seq == oldest);
  }
  SECTION("inside the safety margin: still held, so true, and the read delivers it") {
    // oldest() keeps a margin of slot_count / 16 = 1 below what the ring holds (84..99).
    REQUIRE(r.oldest() == 85);
    CHECK(r.seek(84));
    CHECK(text(r.try_read()) == "m84");
  }
  SECTION("inside a skipped run: false, and the read reports the gap") {
    p.skip_to(120);
    p.publish(bytes_of("m120"));
    CHECK_FALSE(r.seek(110));
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 110);
    CHECK(text(r.try_read()) == "m120");
  }
  SECTION("head itself is valid; beyond head is refused and changes nothing") {
    CHECK(r.seek(100));
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK_FALSE(r.seek(101));
    CHECK(r.position() == 100);
  }
}

TEST_CASE("publish_at skips sequences, and readers see the skipped run as one exact gap", "[ring][skip]") {
  RingGuard g(unique_ring("skip"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
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
  CHECK(text(r.try_read()) == "ten");
  CHECK(text(r.try_read()) == "eleven");
  CHECK(r.delivered() + r.missed() == 12);
  CHECK(inspect(g.name).skipped == 7);
}

TEST_CASE("a reader that lands inside a skipped run reports the whole run as one gap, whatever its policy",
          "[ring][skip]") {
  RingGuard g(unique_ring("skiprun"));
  Producer p = Producer::create(g.name, {.slot_count = 64, .slot_size = 64});
  publish_n(p, 10);
  p.skip_to(210);
  publish_n(p, 40, 210);  // head 250; the oldest held, with the safety margin, is 190: inside the run
  const GapPolicy policy = GENERATE(GapPolicy::oldest, GapPolicy::latest);
  INFO("gap policy " << static_cast<int>(policy));
  // A reader that stands at 190 (a fresh oldest reader would take its start again, at 210).
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 190, .on_gap = policy});
  REQUIRE(r.position() == 190);
  const ReadResult gap = r.try_read();
  REQUIRE(gap.status == ReadStatus::gap);
  CHECK(gap.gap.first == 190);
  if (policy == GapPolicy::oldest) {
    CHECK(gap.gap.missed == 20);  // 190..209, once: not twenty gaps of one
    CHECK(text(r.try_read()) == "m210");
  } else {
    CHECK(gap.gap.missed == 60);  // latest goes on to head
  }
  CHECK(r.gaps() == 1);
}

TEST_CASE("a ring that starts at an explicit sequence begins there for oldest readers", "[ring][skip]") {
  RingGuard g(unique_ring("firstseq"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
  p.publish_at(1000, bytes_of("a"));
  Reader r(g.name, {.start = StartAt::oldest});
  CHECK(r.position() == 1000);
  CHECK(text(r.try_read()) == "a");
}

TEST_CASE("a skip longer than the ring is still counted exactly", "[ring][skip]") {
  RingGuard g(unique_ring("longskip"));
  Producer p = Producer::create(g.name, {.slot_count = 8, .slot_size = 64});
  Reader r(g.name, {.start = StartAt::oldest});
  publish_n(p, 4);
  std::uint64_t delivered = 0, missed = 0;
  for (int i = 0; i < 2; ++i) delivered += r.try_read().status == ReadStatus::message;
  // The jump leaves the two unread messages held: only the first skipped slot is marked.
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
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
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
  {
    Producer::Claim c = p.claim(30);
    c.write(0, bytes_of("short"));
    CHECK(c.commit(5) == 1);
  }
  CHECK(text(r.try_read()) == "short");
  CHECK(r.missed() == 0);
}

TEST_CASE("an oversized message is refused and nothing is written", "[ring][errors]") {
  RingGuard g(unique_ring("oversize"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
  Reader r(g.name);
  const std::string big(p.payload_capacity() + 1, 'x');
  try {
    p.publish(bytes_of(big));
    FAIL("publish accepted an oversized message");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::message_too_large);
    CHECK_THAT(e.what(), Catch::Contains("41 bytes exceeds") && Catch::Contains(g.name));
  }
  CHECK_THROWS_AS(p.claim(p.payload_capacity() + 1), Error);
  CHECK(p.head() == 0);
  CHECK(r.try_read().status == ReadStatus::empty);
  CHECK(inspect(g.name).published == 0);
}

TEST_CASE("one producer per ring: a second gets producer_active naming the first", "[ring][producer]") {
  RingGuard g(unique_ring("exclusive"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
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
    Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
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
  const Geometry geometry{.slot_count = 32, .slot_size = 128};
  {
    Producer p = Producer::open_or_create(g.name, geometry);
    CHECK(p.geometry() == geometry);
    p.publish(bytes_of("x"));
  }
  CHECK_THROWS_MATCHES(Producer::create(g.name, geometry), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::already_exists; }));
  CHECK_THROWS_MATCHES(Producer::open_or_create(g.name, {.slot_count = 64, .slot_size = 128}), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::geometry_mismatch; }));
  const std::uint64_t old_id = inspect(g.name).ring_id;
  Producer p = Producer::create(g.name, geometry, {.replace = true});
  CHECK(p.head() == 0);
  CHECK(p.ring_id() != old_id);
}

TEST_CASE("objects are created 0600 unless asked otherwise", "[ring][permissions]") {
  RingGuard g(unique_ring("mode"));
  struct stat st {};
  {
    Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
    REQUIRE(::stat(("/dev/shm/shmcast." + g.name).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat(("/dev/shm/shmcast." + g.name + ".readers").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64}, {.mode = 0644, .replace = true});
  REQUIRE(::stat(("/dev/shm/shmcast." + g.name).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("the observer puts each reader in one state: ok, behind, lapped, stalled", "[ring][registry][observer]") {
  RingGuard g(unique_ring("states"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
  Reader r(g.name, {.start = StartAt::oldest, .label = "r"});
  RingObserver observer(g.name);
  const auto state = [&] {
    const RingStatus st = observer.sample();
    REQUIRE(st.readers.size() == 1);
    return st.readers[0].state;
  };
  CHECK(state() == ReaderState::keeping_up);  // nothing to read
  publish_n(p, 4);
  CHECK(state() == ReaderState::stalled);  // messages came, it did not move since the last sample
  while (r.try_read()) {
  }
  CHECK(state() == ReaderState::keeping_up);
  publish_n(p, 8, 4);
  CHECK(state() == ReaderState::stalled);
  CHECK(state() == ReaderState::behind);  // nothing new since the last sample: not stalled, but half a ring behind
  publish_n(p, 8, 12);
  CHECK(state() != ReaderState::lapped);  // exactly a ring behind: message 4 is still held
  publish_n(p, 1, 20);
  CHECK(state() == ReaderState::lapped);  // more than a ring behind: its next read is a gap
  CHECK(r.try_read().status == ReadStatus::gap);
  CHECK(std::string(to_string(ReaderState::lapped)) == "lapped");
}

TEST_CASE("the observer tells a relayed ring by its source figures, and reads them back", "[ring][observer]") {
  RingGuard g(unique_ring("relayed"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
  CHECK_FALSE(inspect(g.name).relay);
  p.set_source_status({.head = 40, .gaps = 2, .missed = 7});
  const RingStatus st = inspect(g.name);
  CHECK(st.relay);
  CHECK(st.source_head == 40);
  CHECK(st.source_gaps == 2);
  CHECK(st.source_missed == 7);
  CHECK(p.source_status().missed == 7);
}

TEST_CASE("registered readers appear in the registry with their counters", "[ring][registry]") {
  RingGuard g(unique_ring("registry"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
  Reader a(g.name, {.start = StartAt::sequence, .start_seq = 0, .label = "alpha"});
  Reader hidden(g.name, {.register_reader = false});
  CHECK(a.registered());
  CHECK_FALSE(hidden.registered());
  publish_n(p, 30);
  while (a.try_read()) {
  }
  RingStatus st = inspect(g.name);
  REQUIRE(st.readers.size() == 1);
  const ReaderStatus& rs = st.readers[0];
  CHECK(rs.label == "alpha");
  CHECK(rs.pid == static_cast<std::uint32_t>(::getpid()));
  CHECK(rs.alive);
  CHECK(rs.position == 30);
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
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
  std::vector<std::string> names = list_rings();
  CHECK(std::count(names.begin(), names.end(), g.name) == 1);
  CHECK(std::count(names.begin(), names.end(), g.name + ".readers") == 0);
}

TEST_CASE("now_ns tracks CLOCK_REALTIME across re-anchorings, in every thread", "[clock]") {
  std::atomic<std::int64_t> worst{0};
  std::atomic<std::uint64_t> samples{0};
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
    }
  };
  std::thread t1(probe), t2(probe);
  probe();
  t1.join();
  t2.join();
  INFO("worst offset from CLOCK_REALTIME: " << worst.load() << " ns over " << samples.load()
                                                << " samples (tsc clock: " << clock_uses_tsc() << ")");
  // Calibration error over a second of re-anchoring stays in microseconds.
  CHECK(samples.load() > 100);
  CHECK(worst.load() < 2'000'000);
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
  { Producer::create(g.name, {.slot_count = 16, .slot_size = 64}); }
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
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
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
  Producer p = Producer::open_or_create(g.name, {.slot_count = 16, .slot_size = 64});
  CHECK(p.publish(bytes_of("fresh")) == 0);
  Reader r(g.name, {.start = StartAt::oldest});
  CHECK(text(r.try_read()) == "fresh");
}

TEST_CASE("an entry whose owner died inside its claim (no start time yet) is reclaimed", "[ring][registry]") {
  RingGuard g(unique_ring("halfclaim"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
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
    REQUIRE(entry->try_take(0, static_cast<std::uint32_t>(gone)));
    entry->mark_claiming();
    ::munmap(map, detail::registry_size(kDefaultMaxReaders));
  }
  RingStatus st = inspect(g.name);
  REQUIRE(st.readers.size() == 1);
  CHECK_FALSE(st.readers[0].alive);
  CHECK(reap_dead_readers(g.name) == 1);
  CHECK(inspect(g.name).readers.empty());
}
