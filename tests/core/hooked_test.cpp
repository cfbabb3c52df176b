// "Overwritten while copying": the reader's copy is interrupted (through the test hook
// between copy and re-check) by a producer that laps the slot. The copy must be
// discarded and reported as a gap, never delivered.
#include <catch2/catch.hpp>

#include "test_hooks.hpp"
#include "test_support.hpp"

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {
Producer* g_producer = nullptr;
int g_overwrites = 0;
std::size_t g_size = 0;
}  // namespace

TEST_CASE("stamp table: a slot overwritten while the reader copies it is a gap, never a message", "[stamp][hooked]") {
  // 5 bytes take the word copies, 200 the producer's 16-byte stores, 1500 and 5000 the
  // wide ones (payload_io.hpp).
  const std::size_t size = GENERATE(std::size_t{5}, std::size_t{200}, std::size_t{1500}, std::size_t{5000});
  INFO("payload " << size << " bytes");
  RingGuard g(unique_ring("midcopy"));
  Producer p = Producer::create(g.name, {.slot_count = 4, .slot_size = size < 40 ? 64u : 8192u});
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::latest});
  const std::vector<std::byte> first(size, std::byte{1});
  p.publish(first);
  g_producer = &p;
  g_overwrites = 0;
  g_size = size;
  detail::g_mid_copy_hook = [](std::uint64_t) {
    if (g_overwrites++ != 0) return;
    const std::vector<std::byte> lap(g_size, std::byte{2});
    for (int i = 0; i < 4; ++i) g_producer->publish(lap);  // message 4 takes slot 0
  };
  ReadResult e = r.try_read();
  detail::g_mid_copy_hook = nullptr;
  REQUIRE(e.status == ReadStatus::gap);
  CHECK(e.gap.first == 0);
  CHECK(e.gap.missed == 5);  // policy latest: to head 5
  CHECK(r.delivered() == 0);
  CHECK(r.try_read().status == ReadStatus::empty);
}
