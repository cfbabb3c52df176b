// Raw TSC reads for cross-process latency. The producer stamps a message with the raw
// counter just before publishing; the reader reads it again once it holds the message.
// The parent calibrates ticks to nanoseconds once (Linux exposes an invariant TSC that is
// synchronised across CPUs: "constant_tsc nonstop_tsc" in /proc/cpuinfo).
#pragma once

#include <cstdint>
#include <ctime>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace shmcast::bench {

inline std::uint64_t mono_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Every thread of the process: a transport with threads of its own (zmq's I/O thread) is
// charged for them too.
inline std::uint64_t process_cpu_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

#if defined(__x86_64__) || defined(__i386__)
// The stamp: no fence, as cheap as it gets, taken right before publish.
inline std::uint64_t tsc() noexcept { return __rdtsc(); }
// The receipt: lfence first so the loads that delivered the message have completed.
inline std::uint64_t tsc_after_loads() noexcept {
  _mm_lfence();
  return __rdtsc();
}
inline void cpu_relax() noexcept { _mm_pause(); }
#else
inline std::uint64_t tsc() noexcept { return mono_ns(); }
inline std::uint64_t tsc_after_loads() noexcept { return mono_ns(); }
inline void cpu_relax() noexcept {}
#endif

// Nanoseconds per TSC tick, measured against CLOCK_MONOTONIC_RAW over `window_ns`.
inline double calibrate_ns_per_tick(std::uint64_t window_ns) noexcept {
  const std::uint64_t n0 = mono_ns(), t0 = tsc();
  std::uint64_t n1 = n0, t1 = t0;
  while (n1 - n0 < window_ns) {
    n1 = mono_ns();
    t1 = tsc();
  }
  return t1 > t0 ? static_cast<double>(n1 - n0) / static_cast<double>(t1 - t0) : 1.0;
}

}  // namespace shmcast::bench
