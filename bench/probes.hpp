// What the transports are measured against: the one-way floor (a cache line bounced between
// two pinned processes, RTT/2) and single-core memcpy bandwidth. Each probe forks its own
// processes with a control block of its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace shmcast::bench {

struct FloorProbe {
  std::uint64_t p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, samples = 0;
  int cpu_a = -1, cpu_b = -1;
};

// `samples` round trips of a cache line between cpu_a and cpu_b, one-way = RTT/2 in ns.
FloorProbe probe_pingpong(int cpu_a, int cpu_b, std::uint64_t samples, double tick_ns);

constexpr std::size_t kMemcpySizes[3] = {4096, 65536, 64u << 20};

// Bytes/s copied between two private buffers of each of kMemcpySizes (hot for the small
// ones, DRAM for 64 MiB) on `cpu`, for `seconds_each` each.
std::vector<double> probe_memcpy(int cpu, double seconds_each);

}  // namespace shmcast::bench
