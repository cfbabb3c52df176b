// now_ns(): CLOCK_REALTIME through the TSC. One calibration per process (about 5 ms,
// the first time a clock is needed), then each thread re-anchors itself to
// clock_gettime about once a second, which also refines the rate over a long baseline.
#include <shmcast/clock.hpp>

#include "clock_internal.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#define SHMCAST_HAVE_TSC 1
#endif

namespace shmcast {

namespace {

std::atomic<bool> g_calibrated{false};


#ifdef SHMCAST_HAVE_TSC
bool invariant_tsc() noexcept {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (static_cast<unsigned>(__get_cpuid_max(0x80000000u, nullptr)) < 0x80000007u) return false;
  __cpuid(0x80000007u, eax, ebx, ecx, edx);
  return (edx & (1u << 8)) != 0;
}

struct Calibration {
  bool use_tsc = false;
  double ns_per_tick = 0;
  std::uint64_t ticks_per_second = 0;
};

// One (tsc, ns) pair read as tightly as the scheduler allows: clock_gettime bracketed by
// two TSC reads, the tightest of a few tries kept, so a preemption inside one try cannot
// skew the pair (a 10 ms preemption in a 2 ms window would otherwise skew the rate 5x).
struct Pair {
  std::uint64_t tsc = 0;
  std::uint64_t ns = 0;
};
Pair read_pair() noexcept {
  Pair best;
  std::uint64_t best_width = ~0ull;
  for (int i = 0; i < 8; ++i) {
    const std::uint64_t before = __rdtsc();
    const std::uint64_t ns = detail::realtime_ns();
    const std::uint64_t after = __rdtsc();
    if (after - before < best_width) {
      best_width = after - before;
      best = {before + (after - before) / 2, ns};
    }
  }
  return best;
}

Calibration measure() noexcept {
  Calibration cal;
  if (!invariant_tsc()) return cal;
  const Pair start = read_pair();
  Pair end = start;
  while (end.ns - start.ns < 5'000'000) end = read_pair();
  if (end.tsc <= start.tsc) return cal;
  cal.ns_per_tick = static_cast<double>(end.ns - start.ns) / static_cast<double>(end.tsc - start.tsc);
  cal.ticks_per_second = static_cast<std::uint64_t>(1e9 / cal.ns_per_tick);
  cal.use_tsc = cal.ns_per_tick > 0.01 && cal.ns_per_tick < 100;
  return cal;
}

// The flag is set inside the static's initialisation, so the hot path never writes it.
const Calibration& calibration() noexcept {
  static const Calibration c = [] {
    const Calibration cal = measure();
    g_calibrated.store(true, std::memory_order_relaxed);
    return cal;
  }();
  return c;
}

struct Anchor {
  std::uint64_t tsc = 0;
  std::uint64_t ns = 0;
  double ns_per_tick = 0;
};
#endif

}  // namespace

namespace detail {

void calibrate_clock() noexcept {
  static_cast<void>(now_ns());
#ifndef SHMCAST_HAVE_TSC
  g_calibrated.store(true, std::memory_order_relaxed);
#endif
}

bool clock_calibrated() noexcept { return g_calibrated.load(std::memory_order_relaxed); }

}  // namespace detail

bool clock_uses_tsc() noexcept {
#ifdef SHMCAST_HAVE_TSC
  return calibration().use_tsc;
#else
  return false;
#endif
}

std::uint64_t now_ns() noexcept {
#ifdef SHMCAST_HAVE_TSC
  thread_local Anchor anchor;
  const Calibration& cal = calibration();
  if (!cal.use_tsc) return detail::realtime_ns();
  const std::uint64_t tsc = __rdtsc();
  const std::uint64_t elapsed = tsc - anchor.tsc;
  if (anchor.ns == 0 || elapsed > cal.ticks_per_second) [[unlikely]] {
    const Pair now = read_pair();
    if (anchor.ns != 0 && now.ns > anchor.ns && now.tsc > anchor.tsc)
      anchor.ns_per_tick = static_cast<double>(now.ns - anchor.ns) / static_cast<double>(now.tsc - anchor.tsc);
    else
      anchor.ns_per_tick = cal.ns_per_tick;
    anchor.tsc = now.tsc;
    anchor.ns = now.ns;
    return now.ns + static_cast<std::uint64_t>(static_cast<double>(tsc > now.tsc ? tsc - now.tsc : 0) * anchor.ns_per_tick);
  }
  return anchor.ns + static_cast<std::uint64_t>(static_cast<double>(elapsed) * anchor.ns_per_tick);
#else
  return detail::realtime_ns();
#endif
}

namespace detail {

std::uint64_t realtime_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace detail

}  // namespace shmcast
