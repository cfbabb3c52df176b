// shmcast::SnapshotSchedule: publishes the producer's state as a snapshot every N
// messages or every T, whichever comes first, from a callback the producer supplies.
//
// The callback writes the state into a buffer the schedule owns (the ring's snapshot
// capacity, allocated once) and returns how many bytes it wrote, so nothing it returns
// can dangle. SnapshotSchedule::write copies bytes the caller already has:
//
//   std::array<Entry, 256> table;   // the producer's state
//   shmcast::SnapshotSchedule every(producer, {.messages = 1000, .interval = 100ms},
//       [&](std::span<std::byte> out) { return shmcast::SnapshotSchedule::write(out, std::as_bytes(std::span(table))); });
//   for (...) { apply(table, change); producer.publish(change_bytes); every.tick(); }
#pragma once

#include <shmcast/producer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace shmcast {

struct SnapshotCadence {
  std::uint64_t messages = 0;              // 0: not by count
  std::chrono::milliseconds interval{0};   // 0: not by time
};

class SnapshotSchedule {
 public:
  // Writes the state into `out` and returns the number of bytes written (at most out.size()).
  using StateFn = std::function<std::size_t(std::span<std::byte> out)>;

  // For a StateFn whose state is already in memory: copies `state` into `out` and returns
  // its size. Throws Errc::message_too_large, copying nothing, if it does not fit.
  static std::size_t write(std::span<std::byte> out, std::span<const std::byte> state);

  // Throws Errc::no_snapshot_area if the ring has no snapshot area, Errc::invalid_argument if
  // the cadence is empty or there is no state callback.
  SnapshotSchedule(Producer& producer, SnapshotCadence cadence, StateFn state);

  // Call after each publish: publishes a snapshot when one is due and returns true. Costs
  // a compare per call, and a clock read every 64 calls when an interval is set.
  bool tick();
  // Publishes a snapshot now and restarts both counters.
  void publish_now();

  [[nodiscard]] std::uint64_t published() const noexcept { return published_; }

 private:
  Producer& producer_;
  SnapshotCadence cadence_;
  StateFn state_;
  std::vector<std::byte> buffer_;  // the snapshot capacity: where state_ writes
  std::uint64_t last_head_ = 0;
  std::uint64_t calls_ = 0;
  std::uint64_t last_ns_ = 0;
  std::uint64_t published_ = 0;
};

}  // namespace shmcast
