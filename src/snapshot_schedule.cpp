#include <shmcast/clock.hpp>
#include <shmcast/error.hpp>
#include <shmcast/snapshot_schedule.hpp>

namespace shmcast {

SnapshotSchedule::SnapshotSchedule(Producer& producer, SnapshotCadence cadence, StateFn state)
    : producer_(producer), cadence_(cadence), state_(std::move(state)) {
  if (producer_.geometry().snapshot_capacity == 0)
    throw Error(Errc::no_snapshot_area, producer_.name(), "has no snapshot area");
  if (cadence_.messages == 0 && cadence_.interval.count() <= 0)
    throw Error(Errc::invalid_argument, "a snapshot schedule needs a message count or an interval");
  if (!state_) throw Error(Errc::invalid_argument, "a snapshot schedule needs a state callback");
  last_head_ = producer_.head();
  last_ns_ = now_ns();
}

bool SnapshotSchedule::tick() {
  ++calls_;
  bool due = cadence_.messages != 0 && producer_.head() - last_head_ >= cadence_.messages;
  if (!due && cadence_.interval.count() > 0 && calls_ % 64 == 0)
    due = now_ns() - last_ns_ >= static_cast<std::uint64_t>(std::chrono::nanoseconds(cadence_.interval).count());
  if (!due) return false;
  publish_now();
  return true;
}

void SnapshotSchedule::publish_now() {
  producer_.publish_snapshot(state_());
  last_head_ = producer_.head();
  last_ns_ = now_ns();
  ++published_;
}

}  // namespace shmcast
