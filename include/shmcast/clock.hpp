// The clock shmcast stamps messages with: CLOCK_REALTIME nanoseconds, read through the
// TSC (calibrated once per process, about 5 ms, when the first Producer or Reader is made
// or else at the first call; re-anchored about once a second) where the CPU has an
// invariant TSC, and through clock_gettime otherwise (bench/README.md has the costs).
#pragma once

#include <cstdint>

namespace shmcast {

// Nanoseconds since the Unix epoch. Monotonic within a process between re-anchorings to
// within the calibration error (tens of ns); not for cross-process latency measurement
// below a microsecond: use raw TSC deltas for that, as the benchmark does. Between
// anchors it runs at the rate CLOCK_REALTIME had over the last second: while the system
// slews or steps CLOCK_REALTIME, it is off by what that moved since the last anchor (up
// to 0.5 ms under NTP's 500 ppm limit).
[[nodiscard]] std::uint64_t now_ns() noexcept;

// True when now_ns() reads the TSC rather than calling clock_gettime.
[[nodiscard]] bool clock_uses_tsc() noexcept;

}  // namespace shmcast
