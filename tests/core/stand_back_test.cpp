// A reader standing back from the producer (ReaderOptions::stand_back_bytes,
// src/stand_back.hpp): the decision rule, the distance it keeps while the producer moves,
// and that it reads everything once the producer pauses. Across processes, the peek stress
// test runs one reader standing back against a producer that laps it.
#include <catch2/catch.hpp>

#include "stand_back.hpp"
#include "test_support.hpp"

#include <shmcast/shmcast.hpp>

#include <array>
#include <string>
#include <vector>

using namespace shmcast;
using namespace shmcast::detail;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

// The decision with a tail that the test sets, counting how often it was read.
struct Looks {
  std::uint64_t tail = 0;
  int count = 0;
  StandBack decide(StandBackState& s, std::uint64_t bytes, std::uint64_t cursor, std::uint64_t idle_polls) {
    return stand_back(s, bytes, cursor, idle_polls, [&] {
      ++count;
      return tail;
    });
  }
};

}  // namespace

TEST_CASE("stand-back: the rule, look by look", "[stand-back]") {
  StandBackState s;
  Looks l{.tail = 10'000};
  // Streaming, far enough back: read up to the tail less the distance.
  StandBack d = l.decide(s, 1000, 0, 0);
  CHECK((!d.wait && d.limit == 9000));
  CHECK(l.count == 1);
  // Below that limit the reader reads on without looking again.
  d = l.decide(s, 1000, 8000, 0);
  CHECK((!d.wait && d.limit == 9000));
  CHECK(l.count == 1);
  // The tail has not moved since: the producer paused, read what there is.
  d = l.decide(s, 1000, 9000, 0);
  CHECK((!d.wait && d.limit == kNoReadLimit));
  // It moved, and the reader is within the distance: wait, then kStandBackPolls polls
  // without a look at the producer's line, then look again.
  l.tail = 10'096;
  d = l.decide(s, 1000, 9500, 0);
  CHECK(d.wait);
  CHECK(l.count == 3);
  for (std::uint32_t i = 0; i < kStandBackPolls; ++i) CHECK(l.decide(s, 1000, 9500, 0).wait);
  CHECK(l.count == 3);
  l.tail = 20'000;
  d = l.decide(s, 1000, 9500, 0);
  CHECK((!d.wait && d.limit == 19'000));
  CHECK(l.count == 4);
  // A reader that is not streaming (it has polled in vain since its last delivery) reads
  // as usual, without a look.
  l.tail = 30'000;
  d = l.decide(s, 1000, 29'990, kStreamingIdlePolls);
  CHECK((!d.wait && d.limit == kNoReadLimit));
  CHECK(l.count == 4);
  // A tail below the distance (a young ring) is too near too.
  StandBackState young;
  Looks y{.tail = 500};
  CHECK(y.decide(young, 1000, 0, 0).wait);
}

// (No ';' in test names: CTest would split the name there.)
TEST_CASE("stand-back: nothing within the distance of a moving producer's tail is read, and all of it is within the "
          "polls it waits once the producer pauses",
          "[stand-back]") {
  RingGuard g(unique_ring("standback"));
  constexpr std::uint64_t kBack = 1024;
  Producer p = Producer::create(g.name, {.ring_bytes = 64 << 10});
  Reader copying(g.name, {.start = StartAt::oldest, .register_reader = false, .stand_back_bytes = kBack});
  Reader in_place(g.name, {.start = StartAt::oldest, .register_reader = false, .stand_back_bytes = kBack});
  const std::vector<std::byte> payload(64);
  const std::uint64_t record = record_bytes(payload.size());
  for (int i = 0; i < 100; ++i) p.publish(payload);

  // One message published between reads: the producer keeps moving.
  std::array<Message, 8> out{};
  for (int step = 0; step < 200; ++step) {
    p.publish(payload);
    const std::uint64_t tail = p.head() * record;  // no wraps or jumps yet: record n starts at n * record
    if (const ReadResult r = copying.try_read(); r.status == ReadStatus::message)
      CHECK(r.message.seq * record + kBack < tail);
    const Reader::Batch b = in_place.peek(out);
    for (std::size_t i = 0; i < b.count; ++i) CHECK(out[i].seq * record + kBack < tail);
    CHECK(in_place.confirm());
  }
  CHECK(copying.delivered() > 0);
  CHECK(in_place.delivered() > 0);
  CHECK(copying.position() < p.head());
  CHECK(in_place.position() < p.head());

  // The producer pauses: each reader has all of it within kStandBackPolls + 2 polls of
  // coming to the distance, and then reads the rest as usual.
  std::uint64_t polls = 0;
  for (std::uint64_t calls = 0; copying.position() < p.head() && calls < 10'000; ++calls)
    polls += copying.try_read().status == ReadStatus::empty ? 1 : 0;
  CHECK(copying.position() == p.head());
  CHECK(polls <= kStandBackPolls + 2);
  polls = 0;
  while (in_place.position() < p.head() && polls < 10'000) {
    const Reader::Batch b = in_place.peek(out);
    CHECK(in_place.confirm());
    polls += b.count == 0 ? 1 : 0;
  }
  CHECK(in_place.position() == p.head());
  CHECK(polls <= kStandBackPolls + 2);
  CHECK(copying.delivered() + copying.missed() == copying.position() - copying.start());
  CHECK(copying.missed() == 0);
  CHECK(in_place.missed() == 0);
}

TEST_CASE("stand-back: blocking reads deliver every message of a producer that moves between them", "[stand-back]") {
  RingGuard g(unique_ring("standbackblock"));
  Producer p = Producer::create(g.name, {.ring_bytes = 64 << 10});
  Reader r(g.name, {.start = StartAt::oldest, .wait = WaitStrategy::block, .stand_back_bytes = 8192});
  const std::vector<std::byte> payload(64);
  for (int i = 0; i < 10; ++i) p.publish(payload);
  for (int i = 0; i < 10; ++i) {
    const ReadResult e = r.read(std::chrono::seconds(5));
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == static_cast<std::uint64_t>(i));
    p.publish(payload);  // the producer moves between reads: every look finds it nearer than 8 KiB
  }
}

TEST_CASE("stand-back: a distance over a quarter of the ring is refused, saying the largest allowed", "[stand-back]") {
  RingGuard g(unique_ring("standbackbig"));
  Producer p = Producer::create(g.name, {.ring_bytes = 64 << 10});
  CHECK_NOTHROW(Reader(g.name, {.stand_back_bytes = 16 << 10}));
  try {
    Reader r(g.name, {.stand_back_bytes = (16 << 10) + 1});
    FAIL("a reader standing back more than a quarter of the ring was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_argument);
    CHECK(std::string(e.what()).find("at most 16384") != std::string::npos);
  }
}
