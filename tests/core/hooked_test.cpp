// "Overwritten while copying", made deterministic: a test hook between the reader's copy
// and its horizon check (SHMCAST_MID_COPY_HOOK, src/test_hooks.hpp) lets the producer lap
// the record the reader is copying. The copy must be discarded and reported as a gap,
// never delivered; and when the lap's payloads imitate, at every 32-byte boundary, the
// chain of record headers the reader would follow from there, nothing forged may come out.
#include <catch2/catch.hpp>

#include "layout.hpp"
#include "test_hooks.hpp"
#include "test_support.hpp"

#include <cstring>
#include <functional>
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
// data it covers, the header of a 32-byte record (length 8) with the sequence a reader
// following such a chain from offset 0 would expect there (offset / 32). Bytes 0-7 make
// the real message checkable without knowing where it lay: mix64(seq) ^ fnv1a(bytes 8..).
std::vector<std::byte> forging(std::uint64_t seq, std::size_t size, std::uint64_t position) {
  std::vector<std::byte> out(size);
  for (std::size_t i = 8; i < size; ++i) out[i] = static_cast<std::byte>(0xF0 ^ i);
  for (std::size_t i = 8; i + 32 <= size; ++i) {
    const std::uint64_t offset = (position + kRecordHeaderBytes + i) % 4096;
    if (offset % 32 != 0) continue;
    const std::uint64_t stamp = detail::record_stamp(offset / 32);
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
