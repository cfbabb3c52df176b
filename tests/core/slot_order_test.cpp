// The slot order (layout.hpp, SlotOrder): which slot holds message n. It is part of the
// wire format, so these tests pin it down from both sides: the function itself, and
// where a real producer's messages land in a real ring's memory.
#include <catch2/catch.hpp>

#include "layout.hpp"
#include "raw_ring.hpp"
#include "test_support.hpp"

#include <set>

using namespace shmcast;
using namespace shmcast::detail;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

TEST_CASE("slot order: one- and two-line slots, and rings under 16 slots, keep n mod slot_count", "[layout]") {
  const std::uint64_t count = GENERATE(2u, 4u, 8u, 16u, 256u, 4096u);
  const std::uint32_t size = GENERATE(64u, 128u);
  const SlotOrder order = SlotOrder::of(count, size);
  for (std::uint64_t n = 0; n < 3 * count; ++n) CHECK(order.index(n) == n % count);
  if (count < 16) {  // too few slots for 8 lanes of two: wide slots keep the plain order too
    for (std::uint32_t wide : {192u, 320u, 8192u}) {
      const SlotOrder small = SlotOrder::of(count, wide);
      for (std::uint64_t n = 0; n < 3 * count; ++n) CHECK(small.index(n) == n % count);
    }
  }
}

TEST_CASE("slot order: slots of three lines and more interleave 8 lanes, one slot per residue", "[layout]") {
  const std::uint64_t count = GENERATE(16u, 64u, 4096u, std::uint64_t{1} << 30);
  const std::uint32_t size = GENERATE(192u, 320u, 1088u, 65600u);
  const SlotOrder order = SlotOrder::of(count, size);
  INFO(count << " slots of " << size << " bytes");
  const std::uint64_t lane = count / 8;
  // Consecutive messages are a lane apart; message n + 8 sits next to message n.
  for (std::uint64_t n : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{8}, count - 9, count - 1}) {
    CHECK(order.index(n) == (n % 8) * lane + (n % count) / 8);
    CHECK(order.index(n + count) == order.index(n));  // the next lap reuses the slot
  }
  CHECK(order.index(1) == lane);
  CHECK(order.index(8) == 1);
  if (count <= 4096) {
    std::set<std::uint64_t> used;
    for (std::uint64_t n = 0; n < count; ++n) {
      const std::uint64_t i = order.index(n);
      CHECK(i < count);
      used.insert(i);
    }
    CHECK(used.size() == count);  // a permutation: every slot holds exactly one residue
  }
}

TEST_CASE("slot order: a producer writes message n where the order says, and a reader finds it there", "[layout]") {
  RingGuard g(unique_ring("order"));
  const Geometry geometry{.slot_count = 32, .slot_size = 320};
  Producer p = Producer::create(g.name, geometry);
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0});
  alignas(8) std::byte buf[296];
  for (std::uint64_t n = 0; n < 40; ++n) p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 200, n)));

  // Where the layout (layout.hpp's diagram) puts message n, computed here from the order
  // alone rather than through the library's RingView.
  const test::RawRing raw(g.name, /*writable=*/false);
  const SlotOrder order = SlotOrder::of(geometry.slot_count, geometry.slot_size);
  for (std::uint64_t n = 8; n < 40; ++n) {
    const std::byte* slot = raw.base() + kRingHeaderSize + order.index(n) * geometry.slot_size;
    INFO("message " << n << " in slot " << order.index(n));
    CHECK(reinterpret_cast<const SlotHeader*>(slot)->stamp() == stamp_committed(n));
    CHECK(test::verify_payload(std::span(slot + kSlotHeaderSize, 200), n));
  }
  // Not the plain order: message 9 is a lane (4 slots) past message 8, not next to it.
  CHECK(order.index(9) == order.index(8) + 4);

  // The reader, lapped by 8, resumes at the oldest message kept and reads the rest in order.
  ReadResult first = r.try_read();
  REQUIRE(first.status == ReadStatus::gap);
  CHECK(first.gap.first == 0);
  for (std::uint64_t n = first.gap.first + first.gap.missed; n < 40; ++n) {
    ReadResult m = r.try_read();
    REQUIRE(m.status == ReadStatus::message);
    CHECK(m.message.seq == n);
    CHECK(test::verify_payload(m.message.payload, n));
  }
  CHECK(r.try_read().status == ReadStatus::empty);
}
