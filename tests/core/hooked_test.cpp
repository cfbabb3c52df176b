// "Overwritten while copying", made deterministic: a test hook between the reader's copy
// and its horizon check (SHMCAST_MID_COPY_HOOK, src/test_hooks.hpp) lets the producer lap
// the record the reader is copying. The copy must be discarded and reported as a gap,
// never delivered; and when the lap's payloads imitate, at every 32-byte boundary, the
// chain of record headers the reader would follow from there, nothing forged may come out.
// And the record chain's searches, overtaken by the producer between their loads
// (SHMCAST_CHAIN_SEARCH_HOOK): a reader's place is never one the producer has moved past.
#include <catch2/catch.hpp>

#include "layout.hpp"
#include "raw_ring.hpp"
#include "record_chain.hpp"
#include "test_hooks.hpp"
#include "test_support.hpp"

#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <vector>

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {
std::function<void(std::uint64_t)> g_hook;
int g_calls = 0;
void call_hook(std::uint64_t seq) {
  if (g_calls++ == 0 && g_hook) g_hook(seq);
}
}  // namespace

TEST_CASE("record table: a record overwritten while the reader copies it is a gap, never a message", "[record][hooked]") {
  // 5 bytes take the word copies, 200 the producer's 16-byte stores, 1500 and 5000 the
  // wide ones (payload_io.hpp).
  const std::size_t size = GENERATE(std::size_t{5}, std::size_t{200}, std::size_t{1500}, std::size_t{5000});
  INFO("payload " << size << " bytes");
  RingGuard g(unique_ring("midcopy"));
  Producer p = Producer::create(g.name, {.ring_bytes = 16384, .max_message = 5000});
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::latest});
  const std::vector<std::byte> first(size, std::byte{1});
  p.publish(first);
  // Enough records of the same size to move the horizon past the first one's place.
  const std::uint64_t lap = 16384 / record_bytes(size) + 1;
  g_calls = 0;
  g_hook = [&](std::uint64_t) {
    const std::vector<std::byte> later(size, std::byte{2});
    for (std::uint64_t i = 0; i < lap; ++i) p.publish(later);
  };
  detail::g_mid_copy_hook = &call_hook;
  const ReadResult e = r.try_read();
  detail::g_mid_copy_hook = nullptr;
  g_hook = nullptr;
  REQUIRE(g_calls == 1);
  REQUIRE(e.status == ReadStatus::gap);
  CHECK(e.gap.first == 0);
  CHECK(e.gap.missed == 1 + lap);  // policy latest: to head
  CHECK(r.delivered() == 0);
  CHECK(r.try_read().status == ReadStatus::empty);
}

namespace {

// A message whose payload forges a chain of records: at every 32-byte boundary of the
// data it covers from offset `chain_at` on, the header of a 32-byte record (length 8) with
// the sequence a reader following such a chain from `chain_at`, where it expects
// `chain_seq`, would expect there. Bytes 0-7 make the real message checkable without
// knowing where it lay: mix64(seq) ^ fnv1a(bytes 8..).
std::vector<std::byte> forging(std::uint64_t seq, std::size_t size, std::uint64_t position, std::uint64_t chain_at = 0,
                               std::uint64_t chain_seq = 0) {
  std::vector<std::byte> out(size);
  for (std::size_t i = 8; i < size; ++i) out[i] = static_cast<std::byte>(0xF0 ^ i);
  for (std::size_t i = 8; i + 32 <= size; ++i) {
    const std::uint64_t offset = (position + kRecordHeaderBytes + i) % 4096;
    if (offset % 32 != 0 || offset < chain_at) continue;
    const std::uint64_t stamp = detail::record_stamp(chain_seq + (offset - chain_at) / 32);
    const std::uint64_t length_type = 8;
    const std::uint64_t ts = 7;
    std::memcpy(out.data() + i, &stamp, 8);
    std::memcpy(out.data() + i + 8, &length_type, 8);
    std::memcpy(out.data() + i + 16, &ts, 8);
  }
  const std::uint64_t check = shmcast::test::mix64(seq) ^ shmcast::test::fnv1a(out.data() + 8, size - 8);
  std::memcpy(out.data(), &check, 8);
  return out;
}

bool genuine(const Message& m) {
  if (m.payload.size() < 8) return false;
  std::uint64_t check = 0;
  std::memcpy(&check, m.payload.data(), 8);
  return check == (shmcast::test::mix64(m.seq) ^ shmcast::test::fnv1a(m.payload.data() + 8, m.payload.size() - 8));
}

}  // namespace

TEST_CASE("hostile bytes: a reader lapped while copying, over payloads that forge the chain it follows, gets a gap "
          "and only real messages",
          "[record][hooked][hostile]") {
  RingGuard g(unique_ring("midforge"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096});
  const bool in_place = GENERATE(false, true);
  INFO((in_place ? "peek and confirm" : "try_read"));
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest});
  REQUIRE(r.try_read().status == ReadStatus::empty);  // its place found: peek reads in place from here
  p.publish(forging(0, 100, 0));  // message 0 at 0 (128 bytes)
  // The lap: 1000-byte messages (1024-byte records) from 128 on, five of them, so that
  // the records from 0 to past 4096 + 128 are all forged chains.
  const auto lap = [&] {
    std::uint64_t position = 128;
    for (int i = 0; i < 5; ++i) {
      if (4096 - position % 4096 < 1024) position += 4096 - position % 4096;
      p.publish(forging(p.head(), 1000, position));
      position += 1024;
    }
  };
  Message held[4];
  if (in_place) {
    const Reader::Batch b = r.peek(held);
    REQUIRE(b.count == 1);
    CHECK(genuine(held[0]));
    lap();
    CHECK_FALSE(genuine(held[0]));  // its bytes are the lap's now: what confirm exists for
    CHECK_FALSE(r.confirm());
  } else {
    g_calls = 0;
    g_hook = [&](std::uint64_t) { lap(); };
    detail::g_mid_copy_hook = &call_hook;
  }
  const ReadResult e = in_place ? [&] {
    const Reader::Batch b = r.peek(held);
    REQUIRE(b.count == 0);
    return b.event;
  }() : r.try_read();
  detail::g_mid_copy_hook = nullptr;
  g_hook = nullptr;
  REQUIRE(e.status == ReadStatus::gap);
  CHECK(e.gap.first == 0);
  CHECK(r.delivered() == 0);
  // What follows is real messages only, whichever way they are read.
  std::uint64_t seq = r.position();
  std::size_t delivered = 0;
  for (int i = 0; i < 20; ++i) {
    if (in_place) {
      const Reader::Batch b = r.peek(held);
      if (b.count == 0) {
        CHECK(b.event.status == ReadStatus::empty);
        break;
      }
      for (std::size_t k = 0; k < b.count; ++k) {
        CHECK(held[k].seq == seq + k);
        CHECK(genuine(held[k]));
      }
      REQUIRE(r.confirm());
      seq += b.count;
      delivered += b.count;
    } else {
      const ReadResult m = r.try_read();
      if (!m) break;
      REQUIRE(m.status == ReadStatus::message);
      CHECK(m.message.seq == seq++);
      CHECK(m.message.payload.size() == 1000);
      CHECK(genuine(m.message));
      ++delivered;
    }
  }
  CHECK(delivered > 0);
  CHECK(r.position() == p.head());
  CHECK(r.delivered() + r.missed() == r.position() - r.start());
}

TEST_CASE("hostile bytes: a lap whose payload forges, at the reader's own place, the header it expects is a gap",
          "[record][hostile]") {
  RingGuard g(unique_ring("placeforge"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096});
  const bool in_place = GENERATE(false, true);
  INFO((in_place ? "peek and confirm" : "try_read"));
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest});
  p.publish(forging(0, 100, 0));  // message 0 at 0 (a 128-byte record)
  const ReadResult first = r.try_read();
  REQUIRE(first.status == ReadStatus::message);
  REQUIRE(genuine(first.message));
  // The reader now waits for message 1 at 128. The lap: 1000-byte messages (1024-byte
  // records) from 128 on; the fourth pads the end and goes to 4096, so that 128 lies in
  // its payload, which forges there the header of message 1 (stamp 2, length 8) and a
  // chain of 32-byte records after it. Only the horizon says it is not a record.
  std::uint64_t position = 128;
  for (int i = 0; i < 5; ++i) {
    if (4096 - position % 4096 < 1024) position += 4096 - position % 4096;
    p.publish(forging(p.head(), 1000, position, /*chain_at=*/128, /*chain_seq=*/1));
    position += 1024;
  }
  {
    test::RawRing raw(g.name, /*writable=*/false);
    REQUIRE(raw.record(128).stamp() == detail::record_stamp(1));  // the forgery stands where the reader looks
    REQUIRE(raw.record(128).meta().length == 8);
  }
  Message held[4];
  ReadResult e;
  if (in_place) {
    const Reader::Batch b = r.peek(held);
    if (b.count != 0) {  // a batch handed out before the check: confirm must refuse it
      CHECK_FALSE(r.confirm());
      e = r.peek(held).event;
    } else {
      e = b.event;
    }
  } else {
    e = r.try_read();
  }
  REQUIRE(e.status == ReadStatus::gap);
  CHECK(e.gap.first == 1);
  CHECK(r.delivered() == 1);
  std::uint64_t seq = e.gap.first + e.gap.missed;
  for (ReadResult m; (m = r.try_read());) {
    REQUIRE(m.status == ReadStatus::message);
    CHECK(m.message.seq == seq++);
    CHECK(genuine(m.message));
  }
  CHECK(r.position() == p.head());
  CHECK(r.delivered() + r.missed() == r.position() - r.start());
}

// The record chain's searches (record_chain.cpp) overtaken by the producer between their
// loads (SHMCAST_CHAIN_SEARCH_HOOK, src/test_hooks.hpp).
namespace {
std::function<void()> g_search_hook;
int g_search_calls = 0;
void call_search_hook() {
  if (g_search_calls++ == 0 && g_search_hook) g_search_hook();
}
struct SearchHook {
  explicit SearchHook(std::function<void()> f) {
    g_search_calls = 0;
    g_search_hook = std::move(f);
    detail::g_chain_search_hook = &call_search_hook;
  }
  ~SearchHook() {
    detail::g_chain_search_hook = nullptr;
    g_search_hook = nullptr;
  }
  SearchHook(const SearchHook&) = delete;
  SearchHook& operator=(const SearchHook&) = delete;
};
}  // namespace

TEST_CASE("record chain: a reader starting at latest while the first message is committed reads the next one",
          "[record][hooked]") {
  RingGuard g(unique_ring("latestrace"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096});
  const std::vector<std::byte> payload(8, std::byte{3});
  // Message 0 is committed while the reader's search stands between its two loads of the
  // producer's counters. The latest point is then after it (sequence 1, position 32), not
  // sequence 1 at position 0, where message 0 lies and no stamp 2 would ever come.
  std::optional<Reader> r;
  {
    SearchHook hook([&] { p.publish(payload); });
    r.emplace(g.name, ReaderOptions{.start = StartAt::latest});
    REQUIRE(g_search_calls >= 1);
  }
  REQUIRE(p.head() == 1);
  p.publish(payload);
  const ReadResult e = r->try_read();
  REQUIRE(e.status == ReadStatus::message);
  CHECK(e.message.seq == 1);
  CHECK(r->try_read().status == ReadStatus::empty);
  CHECK(r->delivered() + r->missed() == r->position() - r->start());
}

TEST_CASE("record chain: a search the producer overtakes never skips records still held", "[record][hooked]") {
  RingGuard g(unique_ring("searchrace"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096});
  const std::vector<std::byte> payload(8, std::byte{4});
  // 32-byte records: the index (4096 / 32 = 128 entries) turns over with the ring.
  for (int i = 0; i < 300; ++i) p.publish(payload);
  Reader r(g.name, {.start = StartAt::latest});
  test::RawRing raw(g.name, /*writable=*/false);
  // The oldest sequence at or after `seq` whose record is still whole.
  const auto oldest_held_from = [&](std::uint64_t seq) {
    for (;; ++seq) {
      const std::optional<std::uint64_t> at = raw.position_of(seq);
      if (at && raw.reserved() <= *at + raw.ring_bytes()) return seq;
    }
  };
  const std::uint64_t sought = oldest_held_from(0);
  // While the search stands on its first count, 40 more messages: the index entries of
  // the 40 oldest records now point at the newest ones, which any probe there finds.
  std::optional<detail::ChainPoint> found;
  {
    SearchHook hook([&] {
      for (int i = 0; i < 40; ++i) p.publish(payload);
    });
    found = detail::first_point_from(raw.view(), sought, 0);
    REQUIRE(g_search_calls >= 1);
  }
  REQUIRE(found);
  CHECK(found->seq == oldest_held_from(sought));  // not one of the 40 newest
  CHECK(found->seq < 300);
  CHECK(found->position == *raw.position_of(found->seq));
  // Through the API: a seek to the oldest sequence held, overtaken the same way, reports
  // what was overwritten as one gap from there (repositioned by the oldest policy, with
  // its margin), then reads every message on from its end.
  {
    SearchHook hook([&] {
      for (int i = 0; i < 40; ++i) p.publish(payload);
    });
    const std::uint64_t before = oldest_held_from(0);
    r.seek(before);
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == before);
    const std::uint64_t resumed = e.gap.first + e.gap.missed;
    CHECK(resumed >= oldest_held_from(before));
    CHECK(resumed < p.head() - 100);  // the ring holds about 120 records: most are read
    std::uint64_t next = resumed;
    ReadResult m;
    while ((m = r.try_read())) {
      REQUIRE(m.status == ReadStatus::message);
      CHECK(m.message.seq == next++);
    }
  }
  CHECK(r.position() == p.head());
}

TEST_CASE("stand-back: a blocking read never sleeps past a message it stood back from", "[stand-back][hooked]") {
  RingGuard g(unique_ring("standbacksleep"));
  Producer p = Producer::create(g.name, {.ring_bytes = 64 << 10});
  const std::vector<std::byte> payload(8, std::byte{5});
  for (int i = 0; i < 10; ++i) p.publish(payload);
  Reader r(g.name, {.start = StartAt::oldest, .wait = WaitStrategy::block, .stand_back_bytes = 8192});
  REQUIRE(r.try_read().status == ReadStatus::message);  // streaming from here on
  // Every look at the tail finds the producer moved on, and never 8 KiB ahead: a reader
  // standing back would wait for ever. read() spins, then goes to sleep; the re-check
  // before the sleep must read without standing back, or it would sleep until its
  // timeout with nine messages there to read (no other thread publishes to wake it).
  int looks = 0;
  static Producer* producer = nullptr;
  static int* look_count = nullptr;
  producer = &p;
  look_count = &looks;
  detail::g_tail_look_hook = [] {
    ++*look_count;
    const std::byte b[8]{};
    producer->publish(b);
  };
  const auto started = std::chrono::steady_clock::now();
  const ReadResult e = r.read(std::chrono::seconds(20));
  const auto took = std::chrono::steady_clock::now() - started;
  detail::g_tail_look_hook = nullptr;
  REQUIRE(e.status == ReadStatus::message);
  CHECK(e.message.seq == 1);
  CHECK(looks > 0);  // it did stand back first
  CHECK(took < std::chrono::seconds(10));  // not the timeout (the sleep slices are 100 ms)
}
