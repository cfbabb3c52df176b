#include "geometry.hpp"
#include "names.hpp"

#include <shmcast/error.hpp>

namespace shmcast::detail {

namespace {
constexpr bool is_power_of_two(u64 v) noexcept { return v != 0 && (v & (v - 1)) == 0; }
}  // namespace

void check_geometry(const Geometry& g, std::string_view ring) {
  if (std::string why = geometry_problem(g); !why.empty())
    throw Error(Errc::invalid_argument, ring, "invalid geometry: " + why);
}

u64 snapshot_stride(u64 capacity) noexcept { return (capacity + kCacheLine - 1) / kCacheLine * kCacheLine; }

u64 ring_size(const Geometry& g) noexcept {
  return kRingHeaderSize + g.slot_count * g.slot_size + 2 * snapshot_stride(g.snapshot_capacity);
}

u64 snapshot_offset(const Geometry& g) noexcept {
  return g.snapshot_capacity != 0 ? kRingHeaderSize + g.slot_count * g.slot_size : 0;
}

void init_header(RingHeader& h, const Geometry& g, u64 ring_id, u64 creation_time_ns) noexcept {
  h.version = kLayoutVersion;
  h.header_size = static_cast<u32>(kRingHeaderSize);
  h.slot_count = g.slot_count;
  h.slot_size = g.slot_size;
  h.payload_capacity = g.payload_capacity();
  h.snapshot_capacity = g.snapshot_capacity;
  h.total_size = ring_size(g);
  h.creation_time_ns = creation_time_ns;
  h.ring_id = ring_id;
  h.slots_offset = kRingHeaderSize;
  h.snapshot_offset = snapshot_offset(g);
  h.snapshot_stride = snapshot_stride(g.snapshot_capacity);
}

Geometry validate_header(const RingHeader& h, u64 object_size, std::string_view ring) {
  auto corrupt = [&](const std::string& why) { throw Error(Errc::corrupt, ring, "is corrupt (" + why + ")"); };
  if (h.magic != kRingMagic)
    throw Error(Errc::foreign, ring, object_path(ring_object_name(ring)) + " is not a shmcast ring (bad magic)");
  if (h.version != kLayoutVersion)
    throw Error(Errc::version_mismatch, ring,
                "has layout version " + std::to_string(h.version) + ", this build reads version " +
                    std::to_string(kLayoutVersion));
  if (h.header_size != kRingHeaderSize || h.slots_offset != kRingHeaderSize)
    corrupt("header size " + std::to_string(h.header_size));
  const Geometry g{h.slot_count, h.slot_size, h.snapshot_capacity};
  if (std::string why = geometry_problem(g); !why.empty()) corrupt(why);
  if (h.payload_capacity != g.payload_capacity())
    corrupt("payload capacity " + std::to_string(h.payload_capacity) + " does not fit slot size");
  if (h.snapshot_offset != snapshot_offset(g) || h.snapshot_stride != snapshot_stride(g.snapshot_capacity))
    corrupt(g.snapshot_capacity == 0 ? "snapshot area without capacity" : "snapshot area offsets");
  const u64 expected = ring_size(g);
  if (h.total_size != expected) corrupt("total size " + std::to_string(h.total_size) + " != " + std::to_string(expected));
  if (object_size < expected)
    throw Error(Errc::truncated, ring,
                "is truncated: the object has " + std::to_string(object_size) + " bytes, its header needs " +
                    std::to_string(expected));
  return g;
}

}  // namespace shmcast::detail

namespace shmcast {

std::string geometry_problem(const Geometry& g) {
  using namespace detail;
  if (!is_power_of_two(g.slot_count) || g.slot_count < 2 || g.slot_count > kMaxSlotCount)
    return "slot count " + std::to_string(g.slot_count) + " must be a power of two from 2 to 2^30";
  if (g.slot_size < kSlotSizeUnit || g.slot_size % kSlotSizeUnit != 0 || g.slot_size > kMaxSlotSize)
    return "slot size " + std::to_string(g.slot_size) + " must be a multiple of 64 from 64 to 16 MiB";
  if (g.snapshot_capacity > kMaxSnapshotCapacity) return "snapshot capacity is larger than 4 GiB";
  return {};
}

}  // namespace shmcast
