// The control block a point's processes share: an anonymous MAP_SHARED mapping made by the
// parent before it forks, holding the start/stop flags, what the producer reports, and one
// slot (counters and latency histogram) per reader. Also the first-error-wins message and a
// sleeping wait for a flag.
#pragma once

#include "histogram.hpp"
#include "tsc.hpp"

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

constexpr int kMaxReaders = 64;

struct alignas(64) ReaderSlot {
  u64 delivered = 0;
  u64 missed = 0;
  u64 corrupt = 0;     // payload that does not match its sequence (a torn read)
  u64 reordered = 0;   // a sequence at or below one already delivered
  u64 negative = 0;    // receipt TSC before the stamp (unsynchronised TSCs)
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
  u64 elapsed_ns;
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

inline bool wait_flag(const std::atomic<std::uint32_t>& flag, std::uint32_t at_least, double timeout_s) {
  const u64 deadline = mono_ns() + static_cast<u64>(timeout_s * 1e9);
  while (flag.load(std::memory_order_acquire) < at_least) {
    if (mono_ns() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

}  // namespace shmcast::bench
