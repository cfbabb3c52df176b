// A process's view of a mapped ring: where its regions and slots are in this process's
// address space. It holds pointers, so it never lives in shared memory. Producer, Reader,
// the observer, takeover and the tests address a slot or a snapshot buffer only through
// it; the bytes themselves are read and written through the accessors of layout.hpp.
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
  // `base` is the start of a mapping whose header was validated to hold `geometry`.
  RingView(std::byte* base, const Geometry& geometry) noexcept
      : base_(base),
        slots_(base + kRingHeaderSize),
        order_(SlotOrder::of(geometry.slot_count, geometry.slot_size)),
        slot_size_(geometry.slot_size),
        payload_capacity_(geometry.payload_capacity()),
        snapshots_(base + snapshot_offset(geometry)),
        snapshot_capacity_(geometry.snapshot_capacity),
        snapshot_stride_(snapshot_stride(geometry.snapshot_capacity)) {}

  [[nodiscard]] RingPrefix& prefix() const noexcept { return *reinterpret_cast<RingPrefix*>(base_); }
  [[nodiscard]] ProducerLine& producer() const noexcept { return prefix().producer; }
  [[nodiscard]] SequenceLine& sequence() const noexcept { return prefix().sequence; }
  [[nodiscard]] SnapshotControl& snapshot_control() const noexcept { return prefix().snapshot; }
  [[nodiscard]] RelayLine& relay() const noexcept { return prefix().relay; }

  // The slot of message seq (SlotOrder), and its payload right after the slot header.
  [[nodiscard, gnu::always_inline]] SlotHeader& slot(std::uint64_t seq) const noexcept {
    return *reinterpret_cast<SlotHeader*>(slots_ + order_.index(seq) * slot_size_);
  }
  [[nodiscard, gnu::always_inline]] static std::byte* payload(SlotHeader& slot) noexcept {
    return reinterpret_cast<std::byte*>(&slot) + kSlotHeaderSize;
  }
  [[nodiscard, gnu::always_inline]] static const std::byte* payload(const SlotHeader& slot) noexcept {
    return reinterpret_cast<const std::byte*>(&slot) + kSlotHeaderSize;
  }

  // Snapshot buffer 0 or 1; only for rings with a snapshot area.
  [[nodiscard]] std::byte* snapshot_buffer(std::uint64_t index) const noexcept {
    return snapshots_ + index * snapshot_stride_;
  }
  [[nodiscard]] bool has_snapshot_area() const noexcept { return snapshot_capacity_ != 0; }
  [[nodiscard]] std::uint64_t snapshot_capacity() const noexcept { return snapshot_capacity_; }

  [[nodiscard]] std::uint64_t slot_count() const noexcept { return order_.mask + 1; }
  [[nodiscard]] std::uint32_t slot_size() const noexcept { return slot_size_; }
  [[nodiscard]] std::uint32_t payload_capacity() const noexcept { return payload_capacity_; }
  [[nodiscard]] std::byte* base() const noexcept { return base_; }

 private:
  std::byte* base_ = nullptr;
  std::byte* slots_ = nullptr;
  SlotOrder order_{};
  std::uint32_t slot_size_ = 0;
  std::uint32_t payload_capacity_ = 0;
  std::byte* snapshots_ = nullptr;
  std::uint64_t snapshot_capacity_ = 0;
  std::uint64_t snapshot_stride_ = 0;
};

}  // namespace shmcast::detail
