// The control block a point's processes share: an anonymous MAP_SHARED mapping made by the
// parent before it forks, holding the start/stop flags, what the producer reports, and one
// slot (counters and latency histogram) per reader. Also the first-error-wins message and a
// sleeping wait for a flag.
#pragma once

#include "histogram.hpp"
#include "tsc.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <thread>

namespace shmcast::bench {

using u64 = std::uint64_t;

// Reader processes per point: the fan-out sweep goes up to 512 (options.cpp).
constexpr int kMaxReaders = 512;

struct alignas(64) ReaderSlot {
  u64 delivered = 0;
  u64 missed = 0;
  u64 corrupt = 0;     // payload that does not match its sequence (a torn read)
  u64 reordered = 0;   // a sequence at or below one already delivered
  u64 negative = 0;    // receipt TSC before the stamp (unsynchronised TSCs)
  u64 unconfirmed = 0; // ring-inplace: batches whose confirm() failed (their messages are counted missed)
  int cpu = -1;        // sched_getcpu() when the role ended (which CPU it ran on)
  Histogram hist;
};

struct Control {
  alignas(64) std::atomic<std::uint32_t> ring_ready[2];
  alignas(64) std::atomic<std::uint32_t> readers_ready;
  // For transports with queues of their own between the processes (zmq), the two markers
  // of roles.cpp: per channel, readers that have received the sender's warm-up message
  // (await_subscribers); readers that have received the producer's end marker (await_end).
  alignas(64) std::atomic<std::uint32_t> joined[2];
  alignas(64) std::atomic<std::uint32_t> ended;
  alignas(64) std::atomic<std::uint32_t> started;
  alignas(64) std::atomic<std::uint32_t> stop;
  alignas(64) std::atomic<std::uint32_t> producer_done;
  alignas(64) std::atomic<u64> line;  // the ping-pong probe's cache line
  alignas(64) u64 published;
  u64 producer_cpu_ns;
  std::int64_t producer_wakeups = -1;  // the ring's Producer::wakeups() when the producer ended; -1 for the others
  u64 elapsed_ns;
  int producer_cpu_seen = -1;  // sched_getcpu() when the producer (or ping) ended; -1 until then
  double ns_per_tick;
  double memcpy_bps[3];
  char error[256];
  ReaderSlot readers[kMaxReaders];
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free && std::atomic<u64>::is_always_lock_free);

inline Control* map_control() {
  void* p = ::mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error(std::string("mmap control block: ") + std::strerror(errno));
  return new (p) Control{};
}
inline void unmap_control(Control* c) { ::munmap(c, sizeof(Control)); }

inline void set_error(Control& c, const std::string& what) {
  if (c.error[0] == 0) std::snprintf(c.error, sizeof c.error, "%s", what.c_str());
}

// How long K readers may take to attach, join (zmq's warm-up) or finish: 30 s, and 0.1 s
// more a reader, since with the sweep's hundreds of readers time-sharing one CPU each of
// them starts, connects and drains in turn.
inline double attach_timeout_s(int readers) { return 30.0 + 0.1 * readers; }

inline bool wait_flag(const std::atomic<std::uint32_t>& flag, std::uint32_t at_least, double timeout_s) {
  const u64 deadline = mono_ns() + static_cast<u64>(timeout_s * 1e9);
  // 50 us, doubling to 1.6 ms: hundreds of readers waiting here on one CPU (the fan-out
  // sweep) would otherwise take it from the processes they wait for.
  auto pause = std::chrono::microseconds(50);
  while (flag.load(std::memory_order_acquire) < at_least) {
    if (mono_ns() > deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1600));
  }
  return true;
}

}  // namespace shmcast::bench
