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

u64 index_entries(const Geometry& g) noexcept { return g.ring_bytes / kRecordAlign; }

u64 index_offset(const Geometry& g) noexcept { return kRingHeaderSize + g.ring_bytes; }

u64 ring_size(const Geometry& g) noexcept {
  return index_offset(g) + index_entries(g) * sizeof(IndexEntry) + 2 * snapshot_stride(g.snapshot_capacity);
}

u64 snapshot_offset(const Geometry& g) noexcept {
  return g.snapshot_capacity != 0 ? index_offset(g) + index_entries(g) * sizeof(IndexEntry) : 0;
}

void init_header(RingHeader& h, const Geometry& g, u64 ring_id, u64 creation_time_ns) noexcept {
  h.version = kLayoutVersion;
  h.header_size = static_cast<u32>(kRingHeaderSize);
  h.ring_bytes = g.ring_bytes;
  h.max_message = g.message_limit();
  h.record_align = kRecordAlign;
  h.snapshot_capacity = g.snapshot_capacity;
  h.total_size = ring_size(g);
  h.creation_time_ns = creation_time_ns;
  h.ring_id = ring_id;
  h.data_offset = kRingHeaderSize;
  h.index_offset = index_offset(g);
  h.index_entries = index_entries(g);
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
                    std::to_string(kLayoutVersion) +
                    (h.version < kLayoutVersion ? " (fixed slots, replaced by records of any size): recreate the ring with this version"
                                                : ": read it with the build that created it"));
  if (h.header_size != kRingHeaderSize || h.data_offset != kRingHeaderSize)
    corrupt("header size " + std::to_string(h.header_size));
  if (h.max_message == 0) corrupt("maximum message size 0");
  const Geometry g{h.ring_bytes, h.max_message, h.snapshot_capacity};
  if (std::string why = geometry_problem(g); !why.empty()) corrupt(why);
  if (h.record_align != kRecordAlign) corrupt("record alignment " + std::to_string(h.record_align));
  if (h.index_offset != index_offset(g) || h.index_entries != index_entries(g)) corrupt("record index offsets");
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
  if (!is_power_of_two(g.ring_bytes) || g.ring_bytes < kMinRingBytes || g.ring_bytes > kMaxRingBytes)
    return "ring size " + std::to_string(g.ring_bytes) + " must be a power of two from 4 KiB to 64 GiB";
  const u64 largest = g.ring_bytes / 2 - kRecordHeaderBytes - kRecordAlign;
  const u64 max = g.message_limit();
  if (max > largest || max > kMaxMessageLimit)
    return "maximum message size " + std::to_string(max) + " must be at most half the ring less 56 bytes (" +
           std::to_string(largest) + " here) and at most 1 GiB";
  if (g.snapshot_capacity > kMaxSnapshotCapacity) return "snapshot capacity is larger than 4 GiB";
  return {};
}

}  // namespace shmcast
