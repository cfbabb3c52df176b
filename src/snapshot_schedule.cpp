#include <shmcast/clock.hpp>
#include <shmcast/error.hpp>
#include <shmcast/snapshot_schedule.hpp>

#include <cstring>
#include <string>

namespace shmcast {

std::size_t SnapshotSchedule::write(std::span<std::byte> out, std::span<const std::byte> state) {
  if (state.size() > out.size())
    throw Error(Errc::message_too_large, "a snapshot of " + std::to_string(state.size()) +
                                             " bytes does not fit the snapshot capacity of " +
                                             std::to_string(out.size()) + " bytes; nothing was written");
  if (!state.empty()) std::memcpy(out.data(), state.data(), state.size());
  return state.size();
}

SnapshotSchedule::SnapshotSchedule(Producer& producer, SnapshotCadence cadence, StateFn state)
    : producer_(producer), cadence_(cadence), state_(std::move(state)) {
  if (producer_.geometry().snapshot_capacity == 0)
    throw Error(Errc::no_snapshot_area, producer_.name(), "has no snapshot area");
  if (cadence_.messages == 0 && cadence_.interval.count() <= 0)
    throw Error(Errc::invalid_argument, "a snapshot schedule needs a message count or an interval");
  if (!state_) throw Error(Errc::invalid_argument, "a snapshot schedule needs a state callback");
  buffer_.resize(static_cast<std::size_t>(producer_.geometry().snapshot_capacity));
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
  const std::size_t length = state_(std::span<std::byte>(buffer_));
  if (length > buffer_.size())
    throw Error(Errc::message_too_large, producer_.name(),
                "the snapshot callback reports " + std::to_string(length) + " bytes, more than the " +
                    std::to_string(buffer_.size()) + "-byte buffer it was given; nothing was written");
  producer_.publish_snapshot(std::span<const std::byte>(buffer_.data(), length));
  last_head_ = producer_.head();
  last_ns_ = now_ns();
  ++published_;
}

}  // namespace shmcast
