// Zero-copy reads: Reader::peek hands out messages in place, in the ring, and
// Reader::confirm says whether they stayed intact while the application looked at them.
// Single-process cases first, each state made deterministically; then reader processes
// that peek and confirm under a producer that laps them all the time, checking every byte
// of every message confirmed, and what follows a confirm that says false.
#include <catch2/catch.hpp>

#include "raw_ring.hpp"
#include "ring_model.hpp"
#include "test_support.hpp"

#include <array>
#include <cstring>
#include <optional>
#include <cstdio>
#include <sys/mman.h>
#include <thread>
#include <vector>

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::RingModel;
using shmcast::test::unique_ring;

namespace {

constexpr Geometry kSmall{.ring_bytes = 4096};

std::string text(const Message& m) { return std::string(text_of(m.payload)); }

void publish_n(Producer& p, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t seq = p.head();
    p.publish(bytes_of(shmcast::test::numbered("m", seq)));
  }
}

}  // namespace

TEST_CASE("peek: messages in place, delivered only once confirmed", "[peek]") {
  RingGuard g(unique_ring("peek"));
  Producer p = Producer::create(g.name, kSmall);
  Reader r(g.name, {.start = StartAt::oldest});
  std::array<Message, 3> out{};
  SECTION("nothing to read: no message, the event empty") {
    const Reader::Batch b = r.peek(out);
    CHECK(b.count == 0);
    CHECK(b.event.status == ReadStatus::empty);
    CHECK_FALSE(r.confirm());  // nothing peeked: nothing to vouch for
  }
  SECTION("a batch, confirmed: delivered, and the reader moves past it") {
    publish_n(p, 5);
    (void)r.try_read();  // the first event fixes the start (m0, copied)
    Reader::Batch b = r.peek(out);
    REQUIRE(b.count == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(out[i].seq == 1 + i);
      CHECK(text(out[i]) == shmcast::test::numbered("m", 1 + i));
    }
    CHECK(r.delivered() == 1);  // not yet
    CHECK(r.position() == 1);
    CHECK(r.confirm());
    CHECK(r.delivered() == 4);
    CHECK(r.position() == 4);
    b = r.peek(out);
    REQUIRE(b.count == 1);
    CHECK(out[0].seq == 4);
    CHECK(r.confirm());
    b = r.peek(out);
    CHECK(b.count == 0);
    CHECK(b.event.status == ReadStatus::empty);
    CHECK(r.delivered() + r.missed() == r.position() - r.start());
  }
  SECTION("a batch not confirmed is returned again, by peek or by try_read") {
    publish_n(p, 5);
    (void)r.try_read();
    REQUIRE(r.peek(out).count == 3);
    Reader::Batch b = r.peek(out);  // no confirm: the same messages again
    REQUIRE(b.count == 3);
    CHECK(out[0].seq == 1);
    CHECK(out[2].seq == 3);
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == 1);
    CHECK_FALSE(r.confirm());  // try_read gave the peek up: confirm vouches for nothing
    CHECK(r.delivered() == 2);
    CHECK(r.position() == 2);
  }
  SECTION("the payloads point into the ring, each inside the data") {
    publish_n(p, 5);
    (void)r.try_read();
    const test::RawRing raw(g.name, /*writable=*/false);
    REQUIRE(r.peek(out).count == 3);
    for (const Message& m : out) {
      // The same bytes as the ring's own record, at the same offset of the data.
      const std::optional<std::uint64_t> at = raw.position_of(m.seq);
      REQUIRE(at);
      CHECK(std::memcmp(m.payload.data(), raw.payload(*at), m.payload.size()) == 0);
    }
    CHECK(r.confirm());
  }
  SECTION("a batch follows the records across the end of the data") {
    publish_n(p, 126);  // 4032 bytes: the next 128-byte record goes to the start
    const std::string big(100, 'x');
    p.publish(bytes_of(big));
    publish_n(p, 2);
    Reader at(g.name, {.start = StartAt::sequence, .start_seq = 124});
    (void)at.try_read();  // m124
    std::array<Message, 8> many{};
    const Reader::Batch b = at.peek(many);
    REQUIRE(b.count == 4);
    CHECK(many[0].seq == 125);
    CHECK(text(many[1]) == big);
    CHECK(many[3].seq == 128);
    CHECK(at.confirm());
    CHECK(at.position() == 129);
  }
  SECTION("a skip record is not a message: peek returns the gap") {
    publish_n(p, 2);
    p.skip_to(10);
    publish_n(p, 1);
    Reader::Batch b = r.peek(out);
    // The first event: m0 (through the copying read while the start is not fixed yet).
    REQUIRE(b.count == 1);
    CHECK(out[0].seq == 0);
    CHECK(r.confirm());
    b = r.peek(out);
    REQUIRE(b.count == 1);  // m1; the batch stops at the skip record
    CHECK(out[0].seq == 1);
    CHECK(r.confirm());
    b = r.peek(out);
    REQUIRE(b.count == 0);
    REQUIRE(b.event.status == ReadStatus::gap);
    CHECK(b.event.gap.first == 2);
    CHECK(b.event.gap.missed == 8);
    b = r.peek(out);
    REQUIRE(b.count == 1);
    CHECK(out[0].seq == 10);
    CHECK(r.confirm());
    CHECK(r.delivered() + r.missed() == 11);
  }
}

TEST_CASE("peek: confirm answers only for the last peek, and the same answer when asked again", "[peek]") {
  RingGuard g(unique_ring("peekans"));
  Producer p = Producer::create(g.name, kSmall);
  publish_n(p, 8);
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0});
  REQUIRE(r.try_read().message.seq == 0);
  std::array<Message, 3> out{};
  SECTION("confirmed, then asked again: true once more, and nothing delivered twice") {
    REQUIRE(r.peek(out).count == 3);
    CHECK(r.confirm());
    CHECK(r.confirm());
    CHECK(r.delivered() == 4);
    CHECK(r.position() == 4);
  }
  SECTION("a second peek gives the first up: confirm vouches only for what the second returned") {
    REQUIRE(r.peek(out).count == 3);
    REQUIRE(r.peek(std::span(out.data(), 0)).count == 0);
    CHECK_FALSE(r.confirm());
    CHECK(r.delivered() == 1);
    REQUIRE(r.peek(out).count == 3);
    CHECK(out[0].seq == 1);  // the same messages again
  }
  SECTION("a seek gives the peek up") {
    REQUIRE(r.peek(out).count == 3);
    REQUIRE(r.seek(6));
    CHECK_FALSE(r.confirm());
    CHECK(r.delivered() == 1);
    CHECK(r.try_read().message.seq == 6);
  }
  SECTION("reattaching gives the peek up: its views were into the old mapping") {
    REQUIRE(r.peek(out).count == 3);
    REQUIRE(Producer::remove(g.name));  // under its live producer: remove() does not ask
    Producer recreated = Producer::create(g.name, kSmall);
    publish_n(recreated, 2);
    REQUIRE(r.replaced());
    REQUIRE(r.reattach());
    CHECK_FALSE(r.confirm());
    CHECK(r.delivered() == 0);
  }
}

TEST_CASE("peek: the first record after the end of the data is read in place, not delivered before confirm",
          "[peek]") {
  RingGuard g(unique_ring("peekwrap"));
  Producer p = Producer::create(g.name, kSmall);
  publish_n(p, 126);  // 4032 bytes: the next 128-byte record goes to the start, after padding
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 120});
  std::array<Message, 8> out{};
  REQUIRE(r.try_read().message.seq == 120);
  REQUIRE(r.peek(out).count == 5);
  REQUIRE(r.confirm());  // read up to the padding: the reader waits at the end of the data
  const std::string big(100, 'x');
  p.publish(bytes_of(big));
  const std::uint64_t delivered = r.delivered();
  const test::RawRing raw(g.name, /*writable=*/false);
  Reader::Batch b = r.peek(out);
  REQUIRE(b.count == 1);
  CHECK(out[0].seq == 126);
  CHECK(text(out[0]) == big);
  CHECK(out[0].payload.data() != nullptr);
  CHECK(std::memcmp(out[0].payload.data(), raw.payload(0), big.size()) == 0);
  CHECK(r.delivered() == delivered);  // in place: nothing delivered before confirm
  b = r.peek(out);  // not confirmed: the same message again
  REQUIRE(b.count == 1);
  CHECK(out[0].seq == 126);
  CHECK(r.confirm());
  CHECK(r.delivered() == delivered + 1);
  CHECK(r.position() == 127);
}

// The horizon check of a batch that starts after the padding at the wrap is made at its
// first record. The producer reserves ahead in steps, so its horizon can pass the padding
// (at the end of the data) long before the records after it (at the start): checked at the
// padding, such a batch was refused although every record in it was whole, and the next
// read, finding them all still held, handed them out again where a refused batch must be
// reported as a gap (the lapping stress test below caught it under TSan, a few runs in 40).
TEST_CASE("peek: a batch after the padding at the wrap is confirmed by its first record, not the padding", "[peek]") {
  RingGuard g(unique_ring("peekpad"));
  Producer p = Producer::create(g.name, kSmall);
  const test::RawRing raw(g.name, /*writable=*/false);
  const std::uint64_t ring = raw.ring_bytes();
  while (ring - raw.producer().tail() > 640) p.publish(bytes_of("s"));
  const std::uint64_t padding_at = raw.producer().tail();
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = p.head() - 1});
  REQUIRE(r.try_read().status == ReadStatus::message);  // the reader waits at padding_at
  const std::string big(700, 'w');  // a 736-byte record: padding at padding_at, the record at the start
  const std::uint64_t big_seq = p.publish(bytes_of(big));
  REQUIRE(raw.position_of(big_seq) == ring);
  std::array<Message, 1> out{};
  const std::uint64_t delivered = r.delivered();
  REQUIRE(r.peek(out).count == 1);
  CHECK(out[0].seq == big_seq);
  CHECK(r.delivered() == delivered);  // in place: not delivered before confirm (a copy would be)
  SECTION("the horizon passes the padding, not the record: confirmed") {
    while (raw.reserved() <= padding_at + ring) p.publish(bytes_of("f"));
    REQUIRE(raw.reserved() <= 2 * ring);  // nothing at or after the record's next lap
    CHECK(text(out[0]) == big);
    CHECK(r.confirm());
    CHECK(r.delivered() == delivered + 1);
    CHECK(r.position() == big_seq + 1);
    CHECK(r.try_read().message.seq == big_seq + 1);
  }
  SECTION("the horizon passes the record too: refused, and reported as a gap from it") {
    while (raw.reserved() <= 2 * ring) p.publish(bytes_of("f"));
    CHECK_FALSE(r.confirm());
    CHECK(r.delivered() == delivered);
    CHECK(r.position() == big_seq);
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == big_seq);
    CHECK(r.delivered() + r.missed() == r.position() - r.start());
  }
}

TEST_CASE("peek: a message peek returns copied is handed out again until confirmed, and counted once", "[peek]") {
  RingGuard g(unique_ring("peekcopy"));
  Producer p = Producer::create(g.name, kSmall);
  publish_n(p, 4);
  // A reader starting at the oldest reads its first message by copy: its start may still move.
  Reader r(g.name, {.start = StartAt::oldest});
  std::array<Message, 3> out{};
  Reader::Batch b = r.peek(out);
  REQUIRE(b.count == 1);
  CHECK(out[0].seq == 0);
  CHECK(r.delivered() == 1);  // a copy counts as it is made
  SECTION("by peek") {
    b = r.peek(out);
    REQUIRE(b.count == 1);
    CHECK(out[0].seq == 0);
    CHECK(text(out[0]) == shmcast::test::numbered("m", 0));
    CHECK(r.delivered() == 1);  // once
    CHECK(r.confirm());
    CHECK(r.confirm());
    b = r.peek(out);
    REQUIRE(b.count == 3);
    CHECK(out[0].seq == 1);
    CHECK(r.confirm());
  }
  SECTION("an empty peek in between: confirm says false, and the copy is still held") {
    REQUIRE(r.peek(std::span(out.data(), 0)).count == 0);
    CHECK_FALSE(r.confirm());
    b = r.peek(out);
    REQUIRE(b.count == 1);
    CHECK(out[0].seq == 0);
    CHECK(r.confirm());
    CHECK(r.delivered() == 1);
    CHECK(r.try_read().message.seq == 1);
  }
  SECTION("by try_read, which hands it over for good") {
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == 0);
    CHECK(text(e.message) == shmcast::test::numbered("m", 0));
    CHECK_FALSE(r.confirm());  // the peek was given up for the try_read
    CHECK(r.try_read().message.seq == 1);
    CHECK(r.delivered() == 2);
  }
  CHECK(r.delivered() + r.missed() == r.position() - r.start());
}

TEST_CASE("peek: a batch overwritten while held is never delivered, and the next read reports the gap",
          "[peek][gap]") {
  RingGuard g(unique_ring("peeklap"));
  Producer p = Producer::create(g.name, kSmall);
  RingModel model(kSmall.ring_bytes);
  for (int i = 0; i < 4; ++i) {
    p.publish(bytes_of(shmcast::test::numbered("m", i)));
    model.publish(2);
  }
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0});
  REQUIRE(r.try_read().message.seq == 0);
  std::array<Message, 3> out{};
  REQUIRE(r.peek(out).count == 3);  // m1..m3
  const bool next_is_peek = GENERATE(false, true);
  INFO((next_is_peek ? "the next read is a peek" : "the next read is try_read"));
  SECTION("overwritten: the producer wrote over the batch") {
    for (int i = 4; i < 300; ++i) {
      p.publish(bytes_of(shmcast::test::numbered("m", i)));
      model.publish(shmcast::test::numbered("m", i).size());
    }
  }
  SECTION("only reserved: the horizon passed the batch, its bytes still intact") {
    // 128 records of 32 bytes: the tail at the end of the data, the horizon a step into
    // the next lap, over the batch's bytes, which no store has touched yet.
    for (int i = 4; i < 128; ++i) {
      p.publish(bytes_of(shmcast::test::numbered("m", i)));
      model.publish(shmcast::test::numbered("m", i).size());
    }
    const test::RawRing raw(g.name, /*writable=*/false);
    REQUIRE(raw.producer().tail() == 4096);
    REQUIRE(raw.reserved() > 4096 + 32);
    REQUIRE(raw.record(32).stamp() == detail::record_stamp(1));
  }
  CHECK_FALSE(r.confirm());
  CHECK_FALSE(r.confirm());  // asked again: the same answer
  CHECK(r.delivered() == 1);
  CHECK(r.position() == 1);
  ReadResult e;
  if (next_is_peek) {
    const Reader::Batch b = r.peek(out);
    REQUIRE(b.count == 0);
    e = b.event;
  } else {
    e = r.try_read();
  }
  REQUIRE(e.status == ReadStatus::gap);
  CHECK(e.gap.first == 1);
  CHECK(e.gap.missed == model.oldest() - 1);
  CHECK(r.delivered() + r.missed() == r.position() - r.start());
}

namespace {

constexpr std::uint64_t kMessages = shmcast::test::kSanitized ? 100'000 : 1'000'000;

struct PeekTally {
  std::uint64_t done = 0;
  std::uint64_t delivered = 0, missed = 0, gaps = 0, span = 0, accounting_ok = 0;
  std::uint64_t confirmed = 0, refused = 0, peeked = 0, copied = 0;
  std::uint64_t confirmed_corrupt = 0;     // a message confirmed whose bytes were not its own: never allowed
  std::uint64_t unconfirmed_corrupt = 0;   // torn or forged bytes seen in a batch that confirm refused: expected
  std::uint64_t refused_not_gap = 0;       // a refused confirm not followed by a gap from the batch's first seq
  std::uint64_t disorder = 0;
};

struct PeekShared {
  std::atomic<int> attached{0};
  PeekTally readers[3];
};

// Reads with peek (batches of 1 to 16) and, one read in four, try_read, until it has moved
// over `messages` sequences. Every message of a batch is checked before confirm, as an
// application would decode it; confirm's answer then says whether that check counts. A
// reader standing back (`stand_back` bytes) must still reach the last message once the
// producer stops.
int peek_reader(const std::string& ring, PeekTally& t, std::atomic<int>& attached, std::uint64_t messages, bool stall,
                std::uint64_t stand_back) {
  Reader r(ring, {.start = StartAt::sequence, .start_seq = 0, .wait = WaitStrategy::spin_yield, .stand_back_bytes = stand_back});
  attached.fetch_add(1);
  const std::size_t max = r.geometry().message_limit();
  const std::uint64_t start = r.position();
  std::array<Message, 16> out{};
  std::uint64_t x = 0x1234 + static_cast<std::uint64_t>(::getpid());
  std::uint64_t expect_gap_from = UINT64_MAX;  // after a refused confirm
  const auto idle_until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (r.position() < messages && std::chrono::steady_clock::now() < idle_until) {
    x = shmcast::test::mix64(x);
    ReadResult event;
    if (x % 4 == 0) {
      event = r.try_read();
      if (event.status == ReadStatus::message) {
        ++t.copied;
        if (!shmcast::test::verify_sized(event.message.payload, event.message.seq, max)) ++t.confirmed_corrupt;
        if (event.message.seq != r.position() - 1) ++t.disorder;
      }
    } else {
      const std::size_t want = 1 + (x >> 8) % out.size();
      const std::uint64_t at = r.position();
      const Reader::Batch b = r.peek(std::span(out.data(), want));
      if (b.count != 0) {
        ++t.peeked;
        std::uint64_t bad = 0;
        for (std::size_t i = 0; i < b.count; ++i) {
          if (out[i].seq != at + i) ++bad;
          if (!shmcast::test::verify_sized(out[i].payload, out[i].seq, max)) ++bad;
          if (out[i].type != shmcast::test::sized_type(out[i].seq)) ++bad;
        }
        if (stall && (x >> 20) % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
        if (r.confirm()) {
          ++t.confirmed;
          t.confirmed_corrupt += bad;
          if (r.position() != at + b.count) ++t.disorder;
          expect_gap_from = UINT64_MAX;
        } else {
          ++t.refused;
          t.unconfirmed_corrupt += bad;
          if (r.position() != at) ++t.disorder;
          expect_gap_from = at;
        }
        continue;
      }
      event = b.event;
    }
    if (expect_gap_from != UINT64_MAX && event.status != ReadStatus::empty) {
      if (event.status != ReadStatus::gap || event.gap.first != expect_gap_from) ++t.refused_not_gap;
      expect_gap_from = UINT64_MAX;
    }
    if (event.status == ReadStatus::gap) {
      ++t.gaps;
      t.missed += event.gap.missed;
    } else if (event.status == ReadStatus::message) {
      ++t.delivered;
    } else if (event.status == ReadStatus::empty) {
      std::this_thread::yield();
    }
  }
  t.delivered = r.delivered();
  t.span = r.position() - start;
  t.accounting_ok = t.missed == r.missed() && t.gaps == r.gaps() && r.delivered() + r.missed() == t.span;
  t.done = 1;
  return 0;
}

}  // namespace

TEST_CASE("processes: peek and confirm under a producer that laps its readers: every confirmed byte intact, exact "
          "accounting (one reader stalls now and then, one stands back from the producer)",
          "[peek][stress][process]") {
  RingGuard g(unique_ring("peekprocs"));
  { Producer create = Producer::create(g.name, kSmall); }
  void* mapping = ::mmap(nullptr, sizeof(PeekShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mapping != MAP_FAILED);
  auto* shared = new (mapping) PeekShared;
  std::vector<pid_t> readers;
  for (int i = 0; i < 3; ++i)
    readers.push_back(shmcast::test::spawn([&, i] {
      return peek_reader(g.name, shared->readers[i], shared->attached, kMessages, i == 2, i == 1 ? kSmall.ring_bytes / 8 : 0);
    }));
  while (shared->attached.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const pid_t producer = shmcast::test::spawn([&] {
    Producer p = Producer::open(g.name);
    std::vector<std::byte> buf(p.max_message());
    for (std::uint64_t seq = 0; seq < kMessages; ++seq)
      p.publish(std::span(buf.data(), shmcast::test::fill_sized(buf.data(), seq, buf.size())), shmcast::test::sized_type(seq));
    return 0;
  });
  CHECK(shmcast::test::wait_exit(producer) == 0);
  std::uint64_t confirmed = 0, refused = 0;
  for (int i = 0; i < 3; ++i) {
    CHECK(shmcast::test::wait_exit(readers[static_cast<std::size_t>(i)]) == 0);
    const PeekTally& t = shared->readers[i];
    std::printf("  peek reader %d: delivered %llu (%llu batches confirmed, %llu refused, %llu copies), missed %llu in %llu "
                "gaps; %llu torn or forged messages seen in refused batches\n",
                i, static_cast<unsigned long long>(t.delivered), static_cast<unsigned long long>(t.confirmed),
                static_cast<unsigned long long>(t.refused), static_cast<unsigned long long>(t.copied),
                static_cast<unsigned long long>(t.missed), static_cast<unsigned long long>(t.gaps),
                static_cast<unsigned long long>(t.unconfirmed_corrupt));
    INFO("reader " << i << ": delivered " << t.delivered << ", confirmed batches " << t.confirmed << ", refused "
                   << t.refused << ", missed " << t.missed << " in " << t.gaps << " gaps, span " << t.span);
    CHECK(t.done == 1);
    CHECK(t.confirmed_corrupt == 0);
    CHECK(t.refused_not_gap == 0);
    CHECK(t.disorder == 0);
    CHECK(t.accounting_ok == 1);
    CHECK(t.span == kMessages);
    CHECK(t.delivered > 0);
    confirmed += t.confirmed;
    refused += t.refused;
  }
  CHECK(confirmed > 0);
  shared->~PeekShared();
  ::munmap(mapping, sizeof(PeekShared));
}
