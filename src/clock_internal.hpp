// The clock's set-up, done where a ring is attached rather than on the hot path.
#pragma once

#include <chrono>
#include <cstdint>

namespace shmcast::detail {

// CLOCK_REALTIME in nanoseconds through clock_gettime: for the rare stamps (creation,
// attach) that must not depend on the TSC calibration.
[[nodiscard]] std::uint64_t realtime_ns() noexcept;

// Runs the once-per-process TSC calibration (about 5 ms) and anchors the calling thread,
// so that neither lands on a hot path: the first publish(kNow) or a reader's first
// activity stamp would otherwise stall for the calibration, which on a paced stream shows
// as a 5 ms latency spike behind every later message. Producer and Reader constructors
// call it; it is cheap once done.
void calibrate_clock() noexcept;

// The steady-clock moment `timeout` from now, saturating instead of overflowing: a
// timeout too long to add (nanoseconds::max(), milliseconds::max()) means "never", and
// one at or below zero "now".
template <class Rep, class Period>
[[nodiscard]] std::chrono::steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) noexcept {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point now = Clock::now();
  if (timeout <= timeout.zero()) return now;
  if (timeout >= std::chrono::duration_cast<decltype(timeout)>(Clock::time_point::max() - now)) return Clock::time_point::max();
  return now + std::chrono::duration_cast<Clock::duration>(timeout);
}

// True once this process's calibration has run (tests check the constructors did it).
[[nodiscard]] bool clock_calibrated() noexcept;

}  // namespace shmcast::detail
