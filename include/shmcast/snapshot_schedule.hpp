// shmcast::SnapshotSchedule: publishes the producer's state as a snapshot every N
// messages or every T, whichever comes first, from a callback the producer supplies.
//
//   std::map<...> table;   // the producer's state
//   shmcast::SnapshotSchedule every(producer, {.messages = 1000, .interval = 100ms},
//                                   [&] { return serialize(table); });
//   for (...) { apply(table, change); producer.publish(change_bytes); every.tick(); }
#pragma once

#include <shmcast/producer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>

namespace shmcast {

struct SnapshotCadence {
  std::uint64_t messages = 0;              // 0: not by count
  std::chrono::milliseconds interval{0};   // 0: not by time
};

class SnapshotSchedule {
 public:
  using StateFn = std::function<std::span<const std::byte>()>;

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
  std::uint64_t last_head_ = 0;
  std::uint64_t calls_ = 0;
  std::uint64_t last_ns_ = 0;
  std::uint64_t published_ = 0;
};

}  // namespace shmcast
