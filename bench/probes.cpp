// The floor and memcpy probes: each runs in forked, pinned children that write what they
// measured into an anonymous control block, which the parent reads once they have exited.
#include "probes.hpp"

#include "control.hpp"
#include "processes.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace shmcast::bench {
namespace {

// `n` bytes of `value` at a page boundary.
class AlignedBytes {
 public:
  AlignedBytes(std::size_t n, std::byte value)
      : data_(static_cast<std::byte*>(std::aligned_alloc(4096, (n + 4095) / 4096 * 4096))) {
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_, static_cast<int>(value), n);
  }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  ~AlignedBytes() { std::free(data_); }
  [[nodiscard]] std::byte* data() const noexcept { return data_; }

 private:
  std::byte* data_;
};

}  // namespace

FloorProbe probe_pingpong(int cpu_a, int cpu_b, u64 samples, double tick_ns) {
  Control* c = map_control();
  c->ns_per_tick = tick_ns;
  spawn(cpu_b, *c, [&] {
    c->readers_ready.store(1, std::memory_order_release);
    while (c->stop.load(std::memory_order_relaxed) == 0) {
      const u64 v = c->line.load(std::memory_order_acquire);
      if ((v & 1) != 0) c->line.store(v + 1, std::memory_order_release);
      else cpu_relax();
    }
    return 0;
  });
  spawn(cpu_a, *c, [&] {
    if (!wait_flag(c->readers_ready, 1, 30)) return 2;
    Histogram& h = c->readers[0].hist;
    for (u64 i = 0; i < samples; ++i) {
      const u64 t = tsc();
      c->line.store(2 * i + 1, std::memory_order_release);
      while (c->line.load(std::memory_order_acquire) != 2 * i + 2) cpu_relax();
      h.record(static_cast<u64>(static_cast<double>(tsc_after_loads() - t) * tick_ns / 2));
    }
    c->stop.store(1, std::memory_order_release);
    return 0;
  });
  reap_children(*c, 60);
  const Histogram& h = c->readers[0].hist;
  FloorProbe f{h.quantile(0.5), h.quantile(0.9), h.quantile(0.99), h.quantile(0.999), h.max(), h.count(), cpu_a, cpu_b};
  unmap_control(c);
  return f;
}

std::vector<double> probe_memcpy(int cpu, double seconds_each) {
  Control* c = map_control();
  spawn(cpu, *c, [&] {
    for (int k = 0; k < 3; ++k) {
      const std::size_t n = kMemcpySizes[k];
      // Page-aligned, so that the copy measures bandwidth rather than where the allocator
      // put the buffers: glibc's memcpy (rep movsb) ran 20-40 times slower with the
      // destination a few bytes past the source modulo 4 KiB (bench/README.md, fix 15).
      const AlignedBytes src(n, std::byte{1}), dst(n, std::byte{0});
      u64 bytes = 0;
      const u64 t0 = mono_ns();
      u64 t1 = t0;
      while (t1 - t0 < static_cast<u64>(seconds_each * 1e9)) {
        for (int r = 0; r < 16; ++r) {
          std::memcpy(dst.data(), src.data(), n);
          asm volatile("" : : "r"(dst.data()), "r"(src.data()) : "memory");
          bytes += n;
        }
        t1 = mono_ns();
      }
      c->memcpy_bps[k] = static_cast<double>(bytes) * 1e9 / static_cast<double>(t1 - t0);
    }
    return 0;
  });
  reap_children(*c, 60);
  std::vector<double> r(c->memcpy_bps, c->memcpy_bps + 3);
  unmap_control(c);
  return r;
}

}  // namespace shmcast::bench
