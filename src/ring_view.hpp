// A process's view of a mapped ring: where its regions, records, index and snapshot
// buffers are in this process's address space. It holds pointers, so it never lives in
// shared memory. Producer, Reader, the observer, takeover and the tests address a record
// or a snapshot buffer only through it; the bytes themselves are read and written through
// the accessors of layout.hpp. Every address it gives lies inside the mapping, whatever
// position or record number it is asked for.
#pragma once

#include "geometry.hpp"
#include "layout.hpp"

#include <shmcast/types.hpp>

#include <cstddef>
#include <cstdint>

namespace shmcast::detail {

class RingView {
 public:
  RingView() = default;
  // `base` is the start of a mapping whose header was validated to hold `geometry` (resolved).
  RingView(std::byte* base, const Geometry& geometry) noexcept
      : base_(base),
        data_(base + kRingHeaderSize),
        index_(reinterpret_cast<IndexEntry*>(base + index_offset(geometry))),
        mask_(geometry.ring_bytes - 1),
        index_mask_(detail::index_entries(geometry) - 1),
        max_message_(geometry.message_limit()),
        snapshots_(base + snapshot_offset(geometry)),
        snapshot_capacity_(geometry.snapshot_capacity),
        snapshot_stride_(snapshot_stride(geometry.snapshot_capacity)) {}

  [[nodiscard]] RingPrefix& prefix() const noexcept { return *reinterpret_cast<RingPrefix*>(base_); }
  [[nodiscard]] ProducerLine& producer() const noexcept { return prefix().producer; }
  [[nodiscard]] ReserveLine& reserve() const noexcept { return prefix().reserve; }
  [[nodiscard]] SequenceLine& sequence() const noexcept { return prefix().sequence; }
  [[nodiscard]] SnapshotControl& snapshot_control() const noexcept { return prefix().snapshot; }
  [[nodiscard]] RelayLine& relay() const noexcept { return prefix().relay; }

  // The record at absolute position `position` (a multiple of kRecordAlign), and its payload.
  [[nodiscard, gnu::always_inline]] RecordHeader& record(std::uint64_t position) const noexcept {
    return *reinterpret_cast<RecordHeader*>(data_ + (position & mask_));
  }
  [[nodiscard, gnu::always_inline]] std::byte* payload(std::uint64_t position) const noexcept {
    return data_ + (position & mask_) + kRecordHeaderSize;
  }
  // Bytes from `position` to the end of the data, where a record must end.
  [[nodiscard, gnu::always_inline]] std::uint64_t room_to_end(std::uint64_t position) const noexcept {
    return ring_bytes() - (position & mask_);
  }
  // Whether a record at `position` whose header says `length` lies within the data and
  // the ring's limit: a length read from shared memory is checked with this before use.
  [[nodiscard, gnu::always_inline]] bool fits(std::uint64_t position, std::uint32_t length) const noexcept {
    return length <= max_message_ && record_bytes(length) <= room_to_end(position);
  }
  [[nodiscard, gnu::always_inline]] IndexEntry& index(std::uint64_t record) const noexcept {
    return index_[record & index_mask_];
  }

  // Snapshot buffer 0 or 1; only for rings with a snapshot area.
  [[nodiscard]] std::byte* snapshot_buffer(std::uint64_t which) const noexcept {
    return snapshots_ + which * snapshot_stride_;
  }
  [[nodiscard]] bool has_snapshot_area() const noexcept { return snapshot_capacity_ != 0; }
  [[nodiscard]] std::uint64_t snapshot_capacity() const noexcept { return snapshot_capacity_; }

  [[nodiscard]] std::uint64_t ring_bytes() const noexcept { return mask_ + 1; }
  [[nodiscard]] std::uint64_t index_entries() const noexcept { return index_mask_ + 1; }
  [[nodiscard]] std::uint32_t max_message() const noexcept { return max_message_; }
  [[nodiscard]] std::byte* base() const noexcept { return base_; }

 private:
  std::byte* base_ = nullptr;
  std::byte* data_ = nullptr;
  IndexEntry* index_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint64_t index_mask_ = 0;
  std::uint32_t max_message_ = 0;
  std::byte* snapshots_ = nullptr;
  std::uint64_t snapshot_capacity_ = 0;
  std::uint64_t snapshot_stride_ = 0;
};

}  // namespace shmcast::detail
