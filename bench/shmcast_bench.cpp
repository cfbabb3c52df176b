// shmcast-bench: the multi-process benchmark harness (issue 7).
//
// For every point (transport, workload, K readers, message size) the parent forks one
// producer and K reader processes, optionally pinned to CPUs, lets them run, collects
// what they wrote into an anonymous shared control block and checks it: every reader's
// delivered + missed must equal what the producer published, and no reader may have seen
// a torn or misordered payload. Any failure makes the run exit non-zero.
//
// Workloads:
//   throughput  producer flat out for --duration; per-reader delivered rate and loss,
//               producer CPU time per message (CLOCK_THREAD_CPUTIME_ID).
//   latency     producer paced (--interval); one-way latency from a raw TSC read just
//               before publish (passed as the message's timestamp) to the moment the
//               reader holds the message, in a log-linear histogram.
//   rtt         ping publishes on ring A, echo republishes on ring B; one-way = RTT / 2.
// Probes: a cache-line ping-pong between the producer's and the first reader's CPUs right
// before every latency point (the one-way floor), and single-core memcpy bandwidth.
#include "histogram.hpp"
#include "transports.hpp"
#include "tsc.hpp"

#include <shmcast/shmcast.hpp>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace shmcast::bench {
namespace {

using u64 = std::uint64_t;

// ---------------------------------------------------------------- points and options

enum class Transport { ring, mutex, spsc };
enum class Workload { throughput, latency, rtt };

const char* name_of(Transport t) { return t == Transport::ring ? "ring" : t == Transport::mutex ? "mutex" : "spsc-fanout"; }
const char* name_of(Workload w) { return w == Workload::throughput ? "throughput" : w == Workload::latency ? "latency" : "rtt"; }
const char* name_of(Wait w) { return w == Wait::spin ? "spin" : w == Wait::yield ? "yield" : "block"; }

struct Spec {
  Transport transport = Transport::ring;
  Workload workload = Workload::throughput;
  int readers = 1;
  std::size_t size = 64;
  Wait wait = Wait::spin;
  int producer_cpu = -1;
  std::vector<int> reader_cpus;
};

struct Options {
  bool quick = false;
  double duration_s = 0.5;       // per throughput point
  int repeat = 3;                // throughput and rtt points run this often, interleaved; the median is kept
  u64 samples = 1'000'000;       // messages per latency / rtt point
  double latency_cap_s = 4.0;    // ... or this long, whichever comes first
  u64 interval_ns = 2000;        // pacing of the latency workload
  u64 probe_samples = 200'000;   // ping-pong round trips per floor probe
  std::vector<std::size_t> sizes{8, 64, 256, 1024, 4096, 16384, 65536};
  std::vector<int> readers{1, 2, 4};
  std::vector<Transport> transports{Transport::ring, Transport::mutex, Transport::spsc};
  std::vector<Workload> workloads{Workload::throughput, Workload::latency, Workload::rtt};
  std::optional<Wait> wait;      // default: spin when every process has its own CPU (see build_points)
  bool pin = true;
  std::vector<int> cpus;
  bool json = false;
  std::string out_dir;
  bool sizes_given = false;  // --sizes: rtt runs at each of them too (else at 64 B only)
};

// ---------------------------------------------------------------- the shared control block

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

Control* map_control() {
  void* p = ::mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error(std::string("mmap control block: ") + std::strerror(errno));
  return new (p) Control{};
}
void unmap_control(Control* c) { ::munmap(c, sizeof(Control)); }

void set_error(Control& c, const std::string& what) {
  if (c.error[0] == 0) std::snprintf(c.error, sizeof c.error, "%s", what.c_str());
}

bool wait_flag(const std::atomic<std::uint32_t>& flag, std::uint32_t at_least, double timeout_s) {
  const u64 deadline = mono_ns() + static_cast<u64>(timeout_s * 1e9);
  while (flag.load(std::memory_order_acquire) < at_least) {
    if (mono_ns() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

// ---------------------------------------------------------------- cleanup of named objects

// Names of every POSIX shared-memory object this run created, as shm_unlink wants them,
// in fixed storage so that the signal handler can unlink them without allocating.
constexpr int kMaxNames = 16;
char g_names[kMaxNames][128];
volatile std::sig_atomic_t g_name_count = 0;
pid_t g_children[kMaxReaders + 4];
volatile std::sig_atomic_t g_child_count = 0;

void remember_name(const std::string& object) {
  if (g_name_count >= kMaxNames) return;
  std::snprintf(g_names[g_name_count], sizeof g_names[0], "/%s", object.c_str());
  g_name_count = g_name_count + 1;
}
void unlink_names() noexcept {
  for (int i = 0; i < g_name_count; ++i) ::shm_unlink(g_names[i]);
  g_name_count = 0;
}
extern "C" void on_signal(int sig) {
  for (int i = 0; i < g_child_count; ++i) ::kill(g_children[i], SIGKILL);
  for (int i = 0; i < g_child_count; ++i) ::waitpid(g_children[i], nullptr, 0);
  unlink_names();
  ::_exit(128 + sig);
}

// ---------------------------------------------------------------- transports per point

Geometry geometry_for(std::size_t size) {
  Geometry g;
  g.slot_size = slot_size_for(static_cast<std::uint32_t>(size));
  g.slot_count = slot_count_for(size);
  return g;
}

// What the children need to reach a point's transport: ring names, or mappings the
// parent created (a named object each, inherited across fork).
struct Setup {
  Geometry geometry;
  std::string ring_name[2];
  void* region[2] = {nullptr, nullptr};
  std::size_t region_bytes[2] = {0, 0};
};

std::size_t spsc_class(std::size_t size) {
  std::size_t s = 8;
  while (s < size) s *= 2;
  return s;
}

template <class F>
decltype(auto) with_spsc_class(std::size_t size, F&& f) {
  switch (spsc_class(size)) {
    case 8: return f.template operator()<8>();
    case 16: return f.template operator()<16>();
    case 32: return f.template operator()<32>();
    case 64: return f.template operator()<64>();
    case 128: return f.template operator()<128>();
    case 256: return f.template operator()<256>();
    case 512: return f.template operator()<512>();
    case 1024: return f.template operator()<1024>();
    case 2048: return f.template operator()<2048>();
    case 4096: return f.template operator()<4096>();
    case 8192: return f.template operator()<8192>();
    case 16384: return f.template operator()<16384>();
    case 32768: return f.template operator()<32768>();
    default: return f.template operator()<65536>();
  }
}

void* create_region(const std::string& object, std::size_t bytes) {
  bip::shared_memory_object::remove(object.c_str());
  remember_name(object);
  bip::shared_memory_object shm(bip::create_only, object.c_str(), bip::read_write, bip::permissions(0600));
  shm.truncate(static_cast<bip::offset_t>(bytes));
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, shm.get_mapping_handle().handle, 0);
  if (p == MAP_FAILED) throw std::runtime_error("mmap " + object + ": " + std::strerror(errno));
  return p;
}

Setup make_setup(const Spec& spec, int point_id) {
  Setup s;
  s.geometry = geometry_for(spec.size);
  const int channels = spec.workload == Workload::rtt ? 2 : 1;
  const std::string base = "bench-" + std::to_string(::getpid()) + "-" + std::to_string(point_id);
  for (int ch = 0; ch < channels; ++ch) {
    const std::string tag = base + (ch == 0 ? "-a" : "-b");
    switch (spec.transport) {
      case Transport::ring:
        s.ring_name[ch] = tag;
        remember_name("shmcast." + tag);
        remember_name("shmcast." + tag + ".readers");
        break;
      case Transport::mutex: {
        s.region_bytes[ch] = MutexRing::bytes(s.geometry);
        s.region[ch] = create_region("shmcast-bench." + tag + ".mutex", s.region_bytes[ch]);
        auto* ring = new (s.region[ch]) MutexRing();
        ring->slot_count = s.geometry.slot_count;
        ring->slot_size = s.geometry.slot_size;
        break;
      }
      case Transport::spsc: {
        const std::size_t queues = ch == 0 ? static_cast<std::size_t>(spec.readers) : 1;
        with_spsc_class(spec.size, [&]<std::size_t S>() {
          s.region_bytes[ch] = SpscFanout<S>::bytes(queues);
          s.region[ch] = create_region("shmcast-bench." + tag + ".spsc", s.region_bytes[ch]);
          SpscFanout<S>::construct(s.region[ch], queues);
        });
        break;
      }
    }
  }
  return s;
}

void teardown(Setup& s) {
  for (int ch = 0; ch < 2; ++ch) {
    if (s.region[ch] != nullptr) {
      ::munmap(s.region[ch], s.region_bytes[ch]);
      s.region[ch] = nullptr;
    }
    if (!s.ring_name[ch].empty()) {
      try {
        Producer::remove(s.ring_name[ch]);
      } catch (...) {
      }
    }
  }
  unlink_names();
}

struct RingKind {
  static std::unique_ptr<RingTx> tx(const Spec& spec, const Setup& s, Control& c, int ch, std::size_t) {
    auto t = std::make_unique<RingTx>(s.ring_name[ch], s.geometry, spec.size);
    c.ring_ready[ch].store(1, std::memory_order_release);
    return t;
  }
  static std::unique_ptr<RingRx> rx(const Spec& spec, const Setup& s, Control& c, int ch, std::size_t, std::size_t) {
    if (!wait_flag(c.ring_ready[ch], 1, 30)) throw std::runtime_error("ring was never created");
    return std::make_unique<RingRx>(s.ring_name[ch], spec.wait);
  }
};

struct MutexKind {
  static std::unique_ptr<MutexTx> tx(const Spec& spec, const Setup& s, Control&, int ch, std::size_t) {
    return std::make_unique<MutexTx>(static_cast<MutexRing*>(s.region[ch]), spec.size);
  }
  static std::unique_ptr<MutexRx> rx(const Spec& spec, const Setup& s, Control&, int ch, std::size_t, std::size_t) {
    return std::make_unique<MutexRx>(static_cast<MutexRing*>(s.region[ch]), spec.wait);
  }
};

template <std::size_t S>
struct SpscKind {
  static std::unique_ptr<SpscTx<S>> tx(const Spec&, const Setup& s, Control&, int ch, std::size_t queues) {
    return std::make_unique<SpscTx<S>>(s.region[ch], queues);
  }
  static std::unique_ptr<SpscRx<S>> rx(const Spec& spec, const Setup& s, Control&, int ch, std::size_t queues,
                                       std::size_t index) {
    return std::make_unique<SpscRx<S>>(s.region[ch], queues, index, spec.wait);
  }
};

// ---------------------------------------------------------------- payloads

// Word 0 carries the sequence and the last word its complement, so that a copy that
// mixed two laps, or a message delivered under the wrong sequence, is caught.
inline void stamp_payload(std::byte* p, std::size_t size, u64 seq) noexcept {
  std::memcpy(p, &seq, 8);
  if (size >= 16) {
    const u64 inv = ~seq;
    std::memcpy(p + (size / 8 - 1) * 8, &inv, 8);
  }
}
inline bool payload_ok(const Got& g, std::size_t size) noexcept {
  if (g.len != size) return false;
  u64 first = 0;
  std::memcpy(&first, g.data, 8);
  if (first != g.seq) return false;
  if (size >= 16) {
    u64 last = 0;
    std::memcpy(&last, g.data + (size / 8 - 1) * 8, 8);
    if (last != ~g.seq) return false;
  }
  return true;
}

// ---------------------------------------------------------------- the processes

template <class Kind>
struct Roles {
  static int producer(const Spec& spec, const Setup& s, Control& c) {
    auto tx = Kind::tx(spec, s, c, 0, static_cast<std::size_t>(spec.readers));
    if (!wait_flag(c.readers_ready, static_cast<std::uint32_t>(spec.readers), 30))
      throw std::runtime_error("readers did not attach");
    std::byte* buf = tx->buffer();
    std::memset(buf, 0x5a, spec.size);
    u64 seq = 0;
    c.started.store(1, std::memory_order_release);
    const u64 t0 = mono_ns(), cpu0 = thread_cpu_ns();
    if (spec.workload == Workload::throughput) {
      // The timestamp is caller-supplied (the sequence): what a producer that already has
      // its source's timestamp pays. The microbenchmark measures the kNow variant.
      while (c.stop.load(std::memory_order_relaxed) == 0) {
        stamp_payload(buf, spec.size, seq);
        tx->send(spec.size, seq);
        ++seq;
      }
    } else {
      const double tick_ns = c.ns_per_tick;
      const auto interval = static_cast<u64>(static_cast<double>(spec_interval_ns) / tick_ns);
      const u64 cap = tsc() + static_cast<u64>(spec_cap_s * 1e9 / tick_ns);
      u64 next = tsc();
      while (seq < spec_samples && c.stop.load(std::memory_order_relaxed) == 0) {
        u64 now = tsc();
        while (now < next) {
          cpu_relax();
          now = tsc();
        }
        if (now > cap) break;
        stamp_payload(buf, spec.size, seq);
        tx->send(spec.size, tsc());
        ++seq;
        next += interval;
        if (next < now) next = now;
      }
    }
    c.producer_cpu_ns = thread_cpu_ns() - cpu0;
    c.elapsed_ns = mono_ns() - t0;
    c.published = seq;
    c.producer_done.store(1, std::memory_order_release);
    tx->finish();
    return 0;
  }

  static int reader(const Spec& spec, const Setup& s, Control& c, int index) {
    auto rx = Kind::rx(spec, s, c, 0, static_cast<std::size_t>(spec.readers), static_cast<std::size_t>(index));
    ReaderSlot& slot = c.readers[index];
    const bool latency = spec.workload == Workload::latency;
    const double tick_ns = c.ns_per_tick;
    u64 delivered = 0, corrupt = 0, reordered = 0, negative = 0, next = 0;
    auto on_message = [&](const Got& g) {
      if (latency) {
        const u64 now = tsc_after_loads();
        if (now >= g.ts) slot.hist.record(static_cast<u64>(static_cast<double>(now - g.ts) * tick_ns));
        else ++negative, slot.hist.record(0);
      }
      if (!payload_ok(g, spec.size)) [[unlikely]]
        ++corrupt;
      if (g.seq < next) [[unlikely]]
        ++reordered;
      next = g.seq + 1;
      ++delivered;
    };
    c.readers_ready.fetch_add(1, std::memory_order_acq_rel);
    Got g;
    for (;;) {
      Poll p = rx->poll(g);
      if (p == Poll::message) {
        on_message(g);
        continue;
      }
      if (p == Poll::gap) continue;
      // Drain: read the stop condition first, then probe until empty (DESIGN.md).
      if (c.producer_done.load(std::memory_order_acquire) != 0) {
        while ((p = rx->poll(g)) != Poll::empty)
          if (p == Poll::message) on_message(g);
        break;
      }
      if (rx->wait(g, std::chrono::milliseconds(1)) == Poll::message) on_message(g);
    }
    slot.delivered = delivered;
    slot.missed = rx->missed();
    slot.corrupt = corrupt;
    slot.reordered = reordered;
    slot.negative = negative;
    return corrupt != 0 || reordered != 0 ? 3 : 0;
  }

  // Round trip: publish on A, wait for the echo on B, one message in flight.
  static int ping(const Spec& spec, const Setup& s, Control& c) {
    auto tx = Kind::tx(spec, s, c, 0, 1);
    if (!wait_flag(c.readers_ready, 1, 30)) throw std::runtime_error("echo did not attach");
    auto rx = Kind::rx(spec, s, c, 1, 1, 0);
    ReaderSlot& slot = c.readers[0];
    const double tick_ns = c.ns_per_tick;
    std::byte* buf = tx->buffer();
    std::memset(buf, 0x5a, spec.size);
    c.started.store(1, std::memory_order_release);
    const u64 t0 = mono_ns();
    const u64 cap = t0 + static_cast<u64>(spec_cap_s * 1e9);
    u64 seq = 0;
    Got g;
    for (; seq < spec_samples && c.stop.load(std::memory_order_relaxed) == 0; ++seq) {
      if ((seq & 1023) == 0 && mono_ns() > cap) break;
      stamp_payload(buf, spec.size, seq);
      const u64 ts = tsc();
      tx->send(spec.size, ts);
      Poll p = rx->poll(g);
      if (p == Poll::empty) p = rx->wait(g, std::chrono::seconds(2));
      if (p != Poll::message) throw std::runtime_error("echo lost (no reply within 2 s)");
      const u64 now = tsc_after_loads();
      slot.hist.record(static_cast<u64>(static_cast<double>(now - ts) * tick_ns / 2));
      if (!payload_ok(g, spec.size) || g.ts != ts) ++slot.corrupt;
      ++slot.delivered;
    }
    c.elapsed_ns = mono_ns() - t0;
    c.published = seq;
    c.producer_done.store(1, std::memory_order_release);
    tx->finish();
    return slot.corrupt != 0 ? 3 : 0;
  }

  static int echo(const Spec& spec, const Setup& s, Control& c) {
    auto rx = Kind::rx(spec, s, c, 0, 1, 0);
    auto tx = Kind::tx(spec, s, c, 1, 1);
    c.readers_ready.fetch_add(1, std::memory_order_acq_rel);
    Got g;
    for (;;) {
      Poll p = rx->poll(g);
      if (p == Poll::empty) {
        if (c.producer_done.load(std::memory_order_acquire) != 0) break;
        p = rx->wait(g, std::chrono::milliseconds(1));
      }
      if (p != Poll::message) continue;
      std::memcpy(tx->buffer(), g.data, g.len);
      tx->send(g.len, g.ts);
    }
    return 0;
  }

  // Knobs of the paced workloads, set by the parent before forking.
  static inline u64 spec_interval_ns = 1000;
  static inline u64 spec_samples = 1'000'000;
  static inline double spec_cap_s = 4.0;
};

enum class Role { producer, reader, ping, echo };

struct Knobs {
  u64 interval_ns;
  u64 samples;
  double cap_s;
};

template <class Kind>
int run_role(Role role, const Spec& spec, const Setup& s, Control& c, int index, const Knobs& k) {
  Roles<Kind>::spec_interval_ns = k.interval_ns;
  Roles<Kind>::spec_samples = k.samples;
  Roles<Kind>::spec_cap_s = k.cap_s;
  switch (role) {
    case Role::producer: return Roles<Kind>::producer(spec, s, c);
    case Role::reader: return Roles<Kind>::reader(spec, s, c, index);
    case Role::ping: return Roles<Kind>::ping(spec, s, c);
    case Role::echo: return Roles<Kind>::echo(spec, s, c);
  }
  return 1;
}

int dispatch(Role role, const Spec& spec, const Setup& s, Control& c, int index, const Knobs& k) {
  switch (spec.transport) {
    case Transport::ring: return run_role<RingKind>(role, spec, s, c, index, k);
    case Transport::mutex: return run_role<MutexKind>(role, spec, s, c, index, k);
    case Transport::spsc:
      return with_spsc_class(spec.size, [&]<std::size_t S>() { return run_role<SpscKind<S>>(role, spec, s, c, index, k); });
  }
  return 1;
}

// ---------------------------------------------------------------- process plumbing

void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof set, &set);
}

pid_t spawn(int cpu, Control& c, const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    pin_to(cpu);
    int rc = 1;
    try {
      rc = body();
    } catch (const std::exception& e) {
      set_error(c, e.what());
      rc = 2;
    }
    ::_exit(rc);  // no destructors: the parent owns every named object
  }
  g_children[g_child_count] = pid;
  g_child_count = g_child_count + 1;
  return pid;
}

// Waits for every child; kills them all after `timeout_s`. Returns the worst exit status.
// The parent sleeps in sigtimedwait for SIGCHLD rather than polling: its processes are
// pinned to every CPU there is, and a parent waking every 200 us took a CPU from one of
// them 5000 times a second, in the middle of the latencies it measures.
int reap_children(Control& c, double timeout_s) {
  const u64 deadline = mono_ns() + static_cast<u64>(timeout_s * 1e9);
  // Blocked, SIGCHLD stays pending for sigtimedwait even with its default (ignore)
  // action. A child that exited before this is found by the first waitpid below.
  sigset_t chld, saved;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, &saved);
  int worst = 0;
  int left = g_child_count;
  while (left > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      --left;
      const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (rc != 0) {
        worst = std::max(worst, rc);
        // One process failing (or killed) would leave the others waiting for it.
        c.stop.store(1, std::memory_order_release);
        c.producer_done.store(1, std::memory_order_release);
      }
      continue;
    }
    if (pid < 0 && errno == ECHILD) break;  // none left to wait for, whatever the count says
    if (mono_ns() > deadline) {
      set_error(c, "timed out; killed");
      for (int i = 0; i < g_child_count; ++i) ::kill(g_children[i], SIGKILL);
      worst = std::max(worst, 124);
      c.stop.store(1, std::memory_order_release);
      c.producer_done.store(1, std::memory_order_release);
    }
    // Past the deadline the children were sent SIGKILL: wait for them in short slices.
    const u64 now = mono_ns();
    const u64 slice_ns = now < deadline ? std::min<u64>(deadline - now, 100'000'000) : 1'000'000;
    const timespec slice{static_cast<time_t>(slice_ns / 1'000'000'000), static_cast<long>(slice_ns % 1'000'000'000)};
    ::sigtimedwait(&chld, nullptr, &slice);  // SIGCHLD, a timeout or EINTR: look again
  }
  ::sigprocmask(SIG_SETMASK, &saved, nullptr);
  g_child_count = 0;
  return worst;
}

// ---------------------------------------------------------------- probes

struct FloorProbe {
  u64 p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, samples = 0;
  int cpu_a = -1, cpu_b = -1;
};

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

constexpr std::size_t kMemcpySizes[3] = {4096, 65536, 64u << 20};

// Single-core memcpy bandwidth between two private buffers of each size (hot for the
// small ones, DRAM for 64 MiB), on the producer's CPU.
std::vector<double> probe_memcpy(int cpu, double seconds_each) {
  Control* c = map_control();
  spawn(cpu, *c, [&] {
    for (int k = 0; k < 3; ++k) {
      const std::size_t n = kMemcpySizes[k];
      std::vector<std::byte> src(n, std::byte{1}), dst(n, std::byte{0});
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

// ---------------------------------------------------------------- running a point

struct Result {
  Spec spec;
  double msgs_per_s = 0;       // mean over readers of delivered / producer's elapsed time
  double min_msgs_per_s = 0;   // the slowest reader's
  double bytes_per_s = 0;
  double producer_cpu_ns = NAN;
  u64 published = 0, delivered = 0, missed = 0, samples = 0;
  u64 p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
  bool has_latency = false;
  std::optional<FloorProbe> floor;
  std::string error;  // empty if the point ran and its accounting added up
  int runs = 1;
};

// What the median of a repeated point is taken over: throughput by rate; rtt by p50 over
// its own floor probe where there is one (else by p50).
double median_key(const Result& r) {
  if (!r.has_latency) return r.msgs_per_s;
  if (r.floor && r.floor->p50 > 0) return static_cast<double>(r.p50) / static_cast<double>(r.floor->p50);
  return static_cast<double>(r.p50);
}

Result run_point(const Spec& spec, const Options& o, double tick_ns, int point_id) {
  Result r;
  r.spec = spec;
  Control* c = map_control();
  c->ns_per_tick = tick_ns;
  Setup setup;
  try {
    setup = make_setup(spec, point_id);
  } catch (const std::exception& e) {
    r.error = std::string("setup: ") + e.what();
    teardown(setup);
    unmap_control(c);
    return r;
  }
  // Large messages are paced at no more than 2 bytes/ns, so that the latency workload
  // measures latency rather than a queue building up behind a saturated transport.
  const Knobs knobs{std::max<u64>(o.interval_ns, spec.size / 2), o.samples, o.latency_cap_s};
  if (spec.workload == Workload::rtt) {
    spawn(spec.reader_cpus.at(0), *c, [&] { return dispatch(Role::echo, spec, setup, *c, 0, knobs); });
    spawn(spec.producer_cpu, *c, [&] { return dispatch(Role::ping, spec, setup, *c, 0, knobs); });
  } else {
    for (int i = 0; i < spec.readers; ++i)
      spawn(spec.reader_cpus.at(static_cast<std::size_t>(i)), *c, [&, i] { return dispatch(Role::reader, spec, setup, *c, i, knobs); });
    spawn(spec.producer_cpu, *c, [&] { return dispatch(Role::producer, spec, setup, *c, 0, knobs); });
  }
  int rc = 0;
  if (!wait_flag(c->started, 1, 30)) {
    set_error(*c, "the producer never started");
    c->stop.store(1);
    rc = reap_children(*c, 5);
  } else {
    if (spec.workload == Workload::throughput) {
      std::this_thread::sleep_for(std::chrono::duration<double>(o.duration_s));
      c->stop.store(1, std::memory_order_release);
      rc = reap_children(*c, 30);
    } else {
      rc = reap_children(*c, o.latency_cap_s + 30);
    }
  }

  r.published = c->published;
  const double elapsed_s = static_cast<double>(c->elapsed_ns) / 1e9;
  Histogram merged;
  const int readers = spec.workload == Workload::rtt ? 1 : spec.readers;
  double sum_rate = 0, min_rate = INFINITY;
  std::string problems;
  for (int i = 0; i < readers; ++i) {
    const ReaderSlot& s = c->readers[i];
    merged.merge(s.hist);
    r.delivered += s.delivered;
    r.missed += s.missed;
    const double rate = elapsed_s > 0 ? static_cast<double>(s.delivered) / elapsed_s : 0;
    sum_rate += rate;
    min_rate = std::min(min_rate, rate);
    if (s.corrupt != 0) problems += " reader " + std::to_string(i) + ": " + std::to_string(s.corrupt) + " corrupt payloads;";
    if (s.reordered != 0) problems += " reader " + std::to_string(i) + ": " + std::to_string(s.reordered) + " out of order;";
    if (spec.workload != Workload::rtt && s.delivered + s.missed != c->published)
      problems += " reader " + std::to_string(i) + ": delivered " + std::to_string(s.delivered) + " + missed " +
                  std::to_string(s.missed) + " != published " + std::to_string(c->published) + ";";
  }
  if (spec.workload == Workload::rtt && c->readers[0].delivered != c->published)
    problems += " rtt: " + std::to_string(c->readers[0].delivered) + " echoes for " + std::to_string(c->published) + " pings;";
  if (c->published == 0) problems += " nothing was published;";
  r.msgs_per_s = sum_rate / readers;
  r.min_msgs_per_s = min_rate;
  r.bytes_per_s = r.msgs_per_s * static_cast<double>(spec.size);
  if (spec.workload == Workload::throughput && c->published > 0)
    r.producer_cpu_ns = static_cast<double>(c->producer_cpu_ns) / static_cast<double>(c->published);
  if (spec.workload != Workload::throughput) {
    r.has_latency = true;
    r.samples = merged.count();
    r.p50 = merged.quantile(0.5);
    r.p90 = merged.quantile(0.9);
    r.p99 = merged.quantile(0.99);
    r.p999 = merged.quantile(0.999);
    r.max = merged.max();
  }
  if (rc != 0) r.error = "exit status " + std::to_string(rc) + (c->error[0] ? std::string(": ") + c->error : std::string());
  if (!problems.empty()) r.error += (r.error.empty() ? "" : ";") + problems;
  teardown(setup);
  unmap_control(c);
  return r;
}

// ---------------------------------------------------------------- output

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
std::string human(double v) {
  if (std::isnan(v)) return "-";
  if (v >= 1e9) return fmt("%.2fG", v / 1e9);
  if (v >= 1e6) return fmt("%.2fM", v / 1e6);
  if (v >= 1e3) return fmt("%.1fk", v / 1e3);
  return fmt("%.0f", v);
}
std::string size_str(std::size_t s) { return s >= 1024 && s % 1024 == 0 ? std::to_string(s / 1024) + "K" : std::to_string(s); }
std::string jnum(double v) { return std::isfinite(v) ? fmt("%.6g", v) : "null"; }
std::string jstr(const std::string& s) {
  std::string r = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') r += '\\';
    if (static_cast<unsigned char>(ch) >= 0x20) r += ch;
  }
  return r + "\"";
}

// The 1/5/15-minute load averages: this harness shares its machine, and says so.
std::string loadavg() {
  char buf[128] = "?";
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fgets(buf, sizeof buf, f) == nullptr) buf[0] = 0;
    std::fclose(f);
  }
  std::string s(buf);
  std::size_t cut = 0;
  for (int fields = 0; cut < s.size() && fields < 3; ++cut)
    if (s[cut] == ' ') ++fields;
  return s.substr(0, cut ? cut - 1 : s.size());
}

struct Run {
  std::string load;
  std::vector<Result> results;
  std::vector<std::string> probe_json;
  std::vector<double> memcpy_bps;
  double tick_ns = 1;
};

const Result* find(const Run& run, Transport t, Workload w, int k, std::size_t size) {
  for (const Result& r : run.results)
    if (r.spec.transport == t && r.spec.workload == w && r.spec.readers == k && r.spec.size == size) return &r;
  return nullptr;
}

std::string result_json(const Result& r) {
  std::ostringstream o;
  o << "{\"transport\":" << jstr(name_of(r.spec.transport)) << ",\"readers\":" << r.spec.readers << ",\"size\":" << r.spec.size
    << ",\"workload\":" << jstr(name_of(r.spec.workload)) << ",\"msgs_per_s\":" << jnum(r.msgs_per_s)
    << ",\"bytes_per_s\":" << jnum(r.bytes_per_s);
  auto lat = [&](u64 v) { return r.has_latency ? std::to_string(v) : std::string("null"); };
  o << ",\"p50_ns\":" << lat(r.p50) << ",\"p90_ns\":" << lat(r.p90) << ",\"p99_ns\":" << lat(r.p99) << ",\"p999_ns\":" << lat(r.p999)
    << ",\"max_ns\":" << lat(r.max) << ",\"producer_cpu_ns_per_msg\":" << jnum(r.producer_cpu_ns) << ",\"delivered\":" << r.delivered
    << ",\"missed\":" << r.missed << ",\"published\":" << r.published << ",\"samples\":" << r.samples
    << ",\"min_reader_msgs_per_s\":" << jnum(r.min_msgs_per_s) << ",\"wait\":" << jstr(name_of(r.spec.wait))
    << ",\"runs\":" << r.runs << ",\"floor_p50_ns\":" << (r.floor ? std::to_string(r.floor->p50) : "null")
    << ",\"ok\":" << (r.error.empty() ? "true" : "false");
  if (!r.error.empty()) o << ",\"error\":" << jstr(r.error);
  o << "}";
  return o.str();
}

std::string floor_json(const FloorProbe& f, const Spec& before) {
  std::ostringstream o;
  o << "{\"probe\":\"pingpong\",\"cpus\":[" << f.cpu_a << "," << f.cpu_b << "],\"before\":{\"transport\":"
    << jstr(name_of(before.transport)) << ",\"workload\":" << jstr(name_of(before.workload)) << ",\"readers\":" << before.readers
    << ",\"size\":" << before.size << "},\"p50_ns\":" << f.p50 << ",\"p90_ns\":" << f.p90 << ",\"p99_ns\":" << f.p99
    << ",\"p999_ns\":" << f.p999 << ",\"max_ns\":" << f.max << ",\"samples\":" << f.samples << "}";
  return o.str();
}

void print_table(std::FILE* out, const Run& run) {
  std::fprintf(out, "\n%-11s %-10s %2s %5s %10s %10s %7s %8s %7s %7s %7s %7s %8s %9s %7s %7s\n", "transport", "workload", "K", "size",
               "msg/s/rdr", "B/s/rdr", "loss%", "prod ns", "p50", "p90", "p99", "p99.9", "max", "samples", "vs mtx", "/floor");
  for (const Result& r : run.results) {
    const Result* m = find(run, Transport::mutex, r.spec.workload, r.spec.readers, r.spec.size);
    std::string vs = "-";
    if (m != nullptr && m != &r && r.error.empty() && m->error.empty()) {
      if (r.spec.workload == Workload::throughput && m->msgs_per_s > 0) vs = fmt("%.1fx", r.msgs_per_s / m->msgs_per_s);
      if (r.has_latency && r.p50 > 0) vs = fmt("%.1fx", static_cast<double>(m->p50) / static_cast<double>(r.p50));
    }
    const std::string fl = r.floor && r.floor->p50 > 0 ? fmt("%.2f", static_cast<double>(r.p50) / static_cast<double>(r.floor->p50)) : "-";
    const double total = static_cast<double>(r.delivered + r.missed);
    const std::string loss = r.spec.workload == Workload::rtt || total == 0 ? "-" : fmt("%.2f", 100.0 * static_cast<double>(r.missed) / total);
    auto l = [&](u64 v) { return r.has_latency ? std::to_string(v) : std::string("-"); };
    std::fprintf(out, "%-11s %-10s %2d %5s %10s %10s %7s %8s %7s %7s %7s %7s %8s %9s %7s %7s%s\n", name_of(r.spec.transport),
                 name_of(r.spec.workload), r.spec.readers, size_str(r.spec.size).c_str(), human(r.msgs_per_s).c_str(),
                 human(r.bytes_per_s).c_str(), loss.c_str(), std::isnan(r.producer_cpu_ns) ? "-" : fmt("%.1f", r.producer_cpu_ns).c_str(),
                 l(r.p50).c_str(), l(r.p90).c_str(), l(r.p99).c_str(), l(r.p999).c_str(), l(r.max).c_str(),
                 r.has_latency ? human(static_cast<double>(r.samples)).c_str() : "-", vs.c_str(), fl.c_str(),
                 r.error.empty() ? "" : "  FAILED");
  }
  for (const Result& r : run.results)
    if (!r.error.empty())
      std::fprintf(out, "FAILED %s %s K=%d size=%zu: %s\n", name_of(r.spec.transport), name_of(r.spec.workload), r.spec.readers,
                   r.spec.size, r.error.c_str());
  std::fprintf(out, "\nlatencies in ns; msg/s and B/s are per reader (mean over readers); prod ns = producer CPU ns per message;\n"
                    "vs mtx = throughput ratio to the mutex ring, or its p50 divided by this p50; /floor = p50 over the\n"
                    "ping-pong one-way p50 taken right before the point.\n");
  if (run.memcpy_bps.size() == 3)
    std::fprintf(out, "memcpy probe (one core): 4 KiB %s B/s, 64 KiB %s B/s, 64 MiB %s B/s\n", human(run.memcpy_bps[0]).c_str(),
                 human(run.memcpy_bps[1]).c_str(), human(run.memcpy_bps[2]).c_str());
}

// Checks issue 7's targets on this run's figures (ratios within the run).
void print_targets(std::FILE* out, const Run& run, const std::vector<int>& ks) {
  std::fprintf(out, "\nissue 7 targets (this run):\n");
  auto verdict = [&](const char* what, bool have, double value, double limit, bool higher_better, const std::string& detail) {
    if (!have) {
      std::fprintf(out, "  %-62s  n/a (not measured in this run)\n", what);
      return;
    }
    const bool met = higher_better ? value >= limit : value <= limit;
    // A third decimal where two would print the limit itself ("MISSED 1.50 (limit 1.50)").
    const int digits = std::fabs(value - limit) < 0.005 ? 3 : 2;
    std::fprintf(out, "  %-62s  %-6s %.*f (limit %.2f) %s\n", what, met ? "MET" : "MISSED", digits, value, limit, detail.c_str());
  };
  // 1. per-reader rate vs mutex, 64 B .. 1 KiB, every K measured.
  double worst = INFINITY;
  std::string at;
  for (const Result& r : run.results) {
    if (r.spec.transport != Transport::ring || r.spec.workload != Workload::throughput || r.spec.size < 64 || r.spec.size > 1024) continue;
    const Result* m = find(run, Transport::mutex, Workload::throughput, r.spec.readers, r.spec.size);
    if (m == nullptr || m->msgs_per_s <= 0) continue;
    const double ratio = r.msgs_per_s / m->msgs_per_s;
    if (ratio < worst) worst = ratio, at = "(worst: K=" + std::to_string(r.spec.readers) + " " + size_str(r.spec.size) + ")";
  }
  verdict("must: per-reader rate >= 5x mutex, 64 B..1 KiB", std::isfinite(worst), worst, 5, true, at);
  verdict("stretch: per-reader rate >= 20x mutex, 64 B..1 KiB", std::isfinite(worst), worst, 20, true, at);
  // 2. ahead of spsc-fanout for every K >= 2.
  double worst_spsc = INFINITY;
  std::string at_spsc;
  for (const Result& r : run.results) {
    if (r.spec.transport != Transport::ring || r.spec.workload != Workload::throughput || r.spec.readers < 2) continue;
    const Result* s = find(run, Transport::spsc, Workload::throughput, r.spec.readers, r.spec.size);
    if (s == nullptr || s->msgs_per_s <= 0) continue;
    const double ratio = r.msgs_per_s / s->msgs_per_s;
    if (ratio < worst_spsc) worst_spsc = ratio, at_spsc = "(worst: K=" + std::to_string(r.spec.readers) + " " + size_str(r.spec.size) + ")";
  }
  verdict("must: per-reader rate ahead of spsc-fanout for K >= 2", std::isfinite(worst_spsc), worst_spsc, 1.0, true, at_spsc);
  // 3. producer CPU per message: K=4 (or the largest K) over K=1, 64 B.
  const int kmax = ks.empty() ? 1 : *std::max_element(ks.begin(), ks.end());
  const Result* p1 = find(run, Transport::ring, Workload::throughput, 1, 64);
  const Result* pk = find(run, Transport::ring, Workload::throughput, std::min(kmax, 4) > 1 ? std::min(kmax, 4) : kmax, 64);
  const bool have_p = p1 && pk && pk != p1 && p1->producer_cpu_ns > 0;
  verdict(("must: producer CPU/msg K=" + std::to_string(pk ? pk->spec.readers : 4) + " over K=1, 64 B").c_str(), have_p,
          have_p ? pk->producer_cpu_ns / p1->producer_cpu_ns : 0, 1.2, false,
          have_p ? fmt("(%.1f ns", pk->producer_cpu_ns) + fmt(" vs %.1f ns)", p1->producer_cpu_ns) : "");
  // 4. latency over the floor.
  const Result* rtt = find(run, Transport::ring, Workload::rtt, 1, 64);
  const bool have_rtt = rtt && rtt->floor && rtt->floor->p50 > 0;
  verdict("must: rtt/2 p50 <= 1.3x ping-pong floor, 64 B", have_rtt,
          have_rtt ? static_cast<double>(rtt->p50) / static_cast<double>(rtt->floor->p50) : 0, 1.3, false,
          have_rtt ? "(" + std::to_string(rtt->p50) + " vs " + std::to_string(rtt->floor->p50) + " ns)" : "");
  const Result* lat = find(run, Transport::ring, Workload::latency, 1, 64);
  const bool have_lat = lat && lat->floor && lat->floor->p50 > 0;
  const double lat_ratio = have_lat ? static_cast<double>(lat->p50) / static_cast<double>(lat->floor->p50) : 0;
  const std::string lat_detail = have_lat ? "(" + std::to_string(lat->p50) + " vs " + std::to_string(lat->floor->p50) + " ns)" : "";
  verdict("must: paced one-way p50 <= 2x floor, K=1 64 B", have_lat, lat_ratio, 2.0, false, lat_detail);
  verdict("stretch: paced one-way p50 <= 1.5x floor", have_lat, lat_ratio, 1.5, false, lat_detail);
  verdict("stretch: paced one-way p99 <= 3x floor p50", have_lat,
          have_lat ? static_cast<double>(lat->p99) / static_cast<double>(lat->floor->p50) : 0, 3.0, false,
          have_lat ? "(p99 " + std::to_string(lat->p99) + " ns)" : "");
  // 5. 4 KiB bytes/s against memcpy.
  const Result* big = find(run, Transport::ring, Workload::throughput, 1, 4096);
  const bool have_big = big && run.memcpy_bps.size() == 3 && run.memcpy_bps[0] > 0;
  verdict("stretch: 4 KiB ring B/s >= 0.4x memcpy probe (4 KiB)", have_big, have_big ? big->bytes_per_s / run.memcpy_bps[0] : 0, 0.4,
          true, have_big ? "(" + human(big->bytes_per_s) + " vs " + human(run.memcpy_bps[0]) + " B/s)" : "");
}

void write_plot(const std::string& dir, const Run& run, std::FILE* log) {
  const std::string gp = dir + "/bench.gp";
  std::ofstream f(gp);
  const Transport ts[3] = {Transport::ring, Transport::mutex, Transport::spsc};
  auto block = [&](const std::string& nm, auto&& rows) {
    f << "$" << nm << " << EOD\n" << rows() << "EOD\n";
  };
  std::map<std::string, bool> nonempty;
  for (Transport t : ts) {
    const std::string tn = t == Transport::spsc ? "spsc" : name_of(t);
    // Rows keyed by their x value, so that lines join points in order.
    std::map<std::size_t, std::string> rows[4];
    for (const Result& r : run.results) {
      if (r.spec.transport != t || !r.error.empty()) continue;
      const std::size_t k = static_cast<std::size_t>(r.spec.readers);
      if (r.spec.workload == Workload::throughput && k == 1) rows[0][r.spec.size] = std::to_string(r.msgs_per_s) + " " + std::to_string(r.bytes_per_s);
      if (r.spec.workload == Workload::latency && k == 1) rows[1][r.spec.size] = std::to_string(r.p50) + " " + std::to_string(r.p99);
      if (r.spec.workload == Workload::throughput && r.spec.size == 64) rows[2][k] = std::to_string(r.msgs_per_s);
      if (r.spec.workload == Workload::latency && r.spec.size == 64) rows[3][k] = std::to_string(r.p50) + " " + std::to_string(r.p99);
    }
    std::string parts[4];
    for (int i = 0; i < 4; ++i)
      for (const auto& [x, row] : rows[i]) parts[i] += std::to_string(x) + " " + row + "\n";
    const char* names[4] = {"ts_", "ls_", "tk_", "lk_"};
    for (int i = 0; i < 4; ++i) {
      block(names[i] + tn, [&] { return parts[i].empty() ? std::string("0 NaN NaN\n") : parts[i]; });
      nonempty[names[i] + tn] = !parts[i].empty();
    }
  }
  f << "set terminal pngcairo size 1400,1000 font 'sans,10'\nset output '" << dir << "/bench.png'\n"
    << "set multiplot layout 2,2 title 'shmcast-bench: ring vs mutex ring vs spsc fan-out'\n"
    << "set grid\nset key top right\nset logscale y 10\n"
    << "set logscale x 2\nset xlabel 'message size (bytes)'\n"
    << "set ylabel 'messages/s per reader'\nset title 'throughput vs size (K=1)'\n";
  auto plot = [&](const std::string& prefix, const std::string& cols, bool with_p99) {
    f << "plot ";
    bool first = true;
    for (Transport t : ts) {
      const std::string tn = t == Transport::spsc ? "spsc" : name_of(t);
      if (!nonempty[prefix + tn]) continue;
      if (!first) f << ", ";
      first = false;
      const int color = t == Transport::ring ? 1 : t == Transport::mutex ? 2 : 3;
      f << "$" << prefix << tn << " using " << cols << " with linespoints lc " << color << " lw 2 title '" << name_of(t)
        << (with_p99 ? " p50'" : "'");
      if (with_p99)
        f << ", $" << prefix << tn << " using 1:3 with linespoints lc " << color << " dashtype 2 title '" << name_of(t) << " p99'";
    }
    if (first) f << "NaN notitle";
    f << "\n";
  };
  plot("ts_", "1:2", false);
  f << "set ylabel 'one-way latency (ns)'\nset title 'paced one-way latency vs size (K=1)'\n";
  plot("ls_", "1:2", true);
  f << "unset logscale x\nset xlabel 'readers K'\nset xtics 1\n"
    << "set ylabel 'messages/s per reader'\nset title 'throughput vs readers (64 B)'\n";
  plot("tk_", "1:2", false);
  f << "set ylabel 'one-way latency (ns)'\nset title 'paced one-way latency vs readers (64 B)'\n";
  plot("lk_", "1:2", true);
  f << "unset multiplot\n";
  f.close();
  const std::string cmd = "gnuplot '" + gp + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  if (rc != 0) std::fprintf(log, "warning: gnuplot failed (%d); the script is %s\n", rc, gp.c_str());
  else std::fprintf(log, "plot: %s/bench.png\n", dir.c_str());
}

// ---------------------------------------------------------------- command line

template <class T, class F>
std::vector<T> parse_list(const std::string& s, F&& conv) {
  std::vector<T> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) v.push_back(conv(item));
  return v;
}

std::size_t parse_size(const std::string& s) {
  std::size_t n = std::stoul(s);
  if (!s.empty() && (s.back() == 'K' || s.back() == 'k')) n *= 1024;
  return n;
}

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: shmcast-bench [options]\n"
               "  --quick               a seconds-long smoke run (what CI runs)\n"
               "  --duration SEC        per throughput point (default 0.5)\n"
               "  --repeat N            throughput and rtt points run N times, interleaved; median kept (default 3)\n"
               "  --samples N           messages per latency/rtt point (default 1000000)\n"
               "  --latency-cap SEC     stop a latency/rtt point after this long (default 4)\n"
               "  --interval NS         pacing of the latency workload (default 2000; at least size/2 ns)\n"
               "  --probe-samples N     ping-pong round trips per floor probe (default 200000)\n"
               "  --sizes LIST          message sizes, multiples of 8 in [8, 64K] (default 8,64,256,1K,4K,16K,64K)\n"
               "  --readers LIST        reader counts K (default 1,2,4)\n"
               "  --transports LIST     ring,mutex,spsc-fanout\n"
               "  --workloads LIST      throughput,latency,rtt\n"
               "  --wait MODE           spin|yield|block (default: spin if every process has a CPU,\n"
               "                        else yield for throughput and block for latency)\n"
               "  --pin LIST            CPUs to pin to: producer on the first, readers round-robin on the rest\n"
               "  --no-pin              do not pin (the floor probe is skipped)\n"
               "  --json                print one JSON array (results and probes) on stdout; the table goes to stderr\n"
               "  --out DIR             write DIR/bench.json, DIR/table.txt, DIR/bench.gp and DIR/bench.png\n");
}

Options parse_args(int argc, char** argv) {
  Options o;
  bool sizes_set = false, readers_set = false, samples_set = false, duration_set = false, repeat_set = false, cap_set = false,
       probe_set = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (a == "--quick") o.quick = true;
    else if (a == "--duration") o.duration_s = std::stod(next()), duration_set = true;
    else if (a == "--repeat") o.repeat = std::max(1, std::stoi(next())), repeat_set = true;
    else if (a == "--samples") o.samples = std::stoull(next()), samples_set = true;
    else if (a == "--latency-cap") o.latency_cap_s = std::stod(next()), cap_set = true;
    else if (a == "--interval") o.interval_ns = std::stoull(next());
    else if (a == "--probe-samples") o.probe_samples = std::stoull(next()), probe_set = true;
    else if (a == "--sizes") o.sizes = parse_list<std::size_t>(next(), parse_size), sizes_set = true;
    else if (a == "--readers") o.readers = parse_list<int>(next(), [](const std::string& s) { return std::stoi(s); }), readers_set = true;
    else if (a == "--transports")
      o.transports = parse_list<Transport>(next(), [](const std::string& s) {
        if (s == "ring") return Transport::ring;
        if (s == "mutex") return Transport::mutex;
        if (s == "spsc-fanout" || s == "spsc") return Transport::spsc;
        throw std::invalid_argument("unknown transport " + s);
      });
    else if (a == "--workloads")
      o.workloads = parse_list<Workload>(next(), [](const std::string& s) {
        if (s == "throughput") return Workload::throughput;
        if (s == "latency") return Workload::latency;
        if (s == "rtt") return Workload::rtt;
        throw std::invalid_argument("unknown workload " + s);
      });
    else if (a == "--wait") {
      const std::string w = next();
      if (w == "spin") o.wait = Wait::spin;
      else if (w == "yield") o.wait = Wait::yield;
      else if (w == "block") o.wait = Wait::block;
      else if (w != "auto") throw std::invalid_argument("unknown wait mode " + w);
    } else if (a == "--pin") o.cpus = parse_list<int>(next(), [](const std::string& s) { return std::stoi(s); }), o.pin = true;
    else if (a == "--no-pin") o.pin = false;
    else if (a == "--json") o.json = true;
    else if (a == "--out") o.out_dir = next();
    else throw std::invalid_argument("unknown option " + a);
  }
  o.sizes_given = sizes_set;
  if (o.quick) {
    if (!sizes_set) o.sizes = {64, 4096};
    if (!readers_set) o.readers = {1, 2};
    if (!samples_set) o.samples = 20'000;
    if (!duration_set) o.duration_s = 0.1;
    if (!repeat_set) o.repeat = 1;
    if (!cap_set) o.latency_cap_s = 1.0;
    if (!probe_set) o.probe_samples = 20'000;
  }
  for (std::size_t s : o.sizes)
    if (s < 8 || s > 65536 || s % 8 != 0) throw std::invalid_argument("sizes must be multiples of 8 in [8, 65536]");
  for (int k : o.readers)
    if (k < 1 || k > kMaxReaders) throw std::invalid_argument("readers must be in [1, 64]");
  if (o.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0)
      for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) o.cpus.push_back(c);
  }
  return o;
}

std::vector<Spec> build_points(const Options& o) {
  std::vector<Spec> pts;
  const int ncpu = static_cast<int>(o.cpus.size());
  auto add = [&](Workload w, int k, std::size_t size) {
    for (Transport t : o.transports) {
      Spec s;
      s.transport = t;
      s.workload = w;
      s.readers = k;
      s.size = size;
      // Spinning readers that share a CPU starve each other (DESIGN.md). With more
      // processes than CPUs, throughput readers yield (blocked readers would make the
      // producer pay a FUTEX_WAKE per publish) and latency readers block (a yielding reader
      // spins 2048 polls before it lets the next one run). spsc-fanout has no blocking
      // primitive: its `block` yields after a few polls.
      s.wait = o.wait ? *o.wait : (k + 1 <= ncpu ? Wait::spin : w == Workload::throughput ? Wait::yield : Wait::block);
      if (o.pin && ncpu > 0) {
        s.producer_cpu = o.cpus[0];
        for (int i = 0; i < k; ++i) s.reader_cpus.push_back(ncpu > 1 ? o.cpus[1 + static_cast<std::size_t>(i % (ncpu - 1))] : o.cpus[0]);
      } else {
        s.reader_cpus.assign(static_cast<std::size_t>(k), -1);
      }
      pts.push_back(s);
    }
  };
  auto has = [&](Workload w) { return std::find(o.workloads.begin(), o.workloads.end(), w) != o.workloads.end(); };
  const std::size_t base = 64;
  const std::vector<std::size_t> k_sizes = o.quick ? std::vector<std::size_t>{64} : std::vector<std::size_t>{64, 1024};
  if (has(Workload::throughput)) {
    for (std::size_t s : o.sizes) add(Workload::throughput, 1, s);
    for (std::size_t s : k_sizes)
      for (int k : o.readers)
        if (k != 1) add(Workload::throughput, k, s);
  }
  if (has(Workload::latency)) {
    for (int k : o.readers) add(Workload::latency, k, base);
    for (std::size_t s : o.sizes)
      if (s != base) add(Workload::latency, 1, s);
  }
  if (has(Workload::rtt)) {
    if (o.sizes_given)
      for (std::size_t s : o.sizes) add(Workload::rtt, 1, s);
    else
      add(Workload::rtt, 1, base);
  }
  return pts;
}

int main_impl(int argc, char** argv) {
  Options o;
  try {
    o = parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shmcast-bench: %s\n", e.what());
    usage(stderr);
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGHUP, on_signal);
  std::FILE* log = o.json ? stderr : stdout;

  Run run;
  run.tick_ns = calibrate_ns_per_tick(o.quick ? 20'000'000 : 200'000'000);
  char cpu_model[256] = "unknown";
  if (std::FILE* ci = std::fopen("/proc/cpuinfo", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, ci))
      if (std::strncmp(line, "model name", 10) == 0) {
        const char* p = std::strchr(line, ':');
        if (p) std::snprintf(cpu_model, sizeof cpu_model, "%s", p + 2);
        cpu_model[std::strcspn(cpu_model, "\n")] = 0;
        break;
      }
    std::fclose(ci);
  }
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  const std::string load_start = loadavg();
  std::fprintf(log, "shmcast-bench: %s, %ld CPUs online, %zu usable, pinning %s; TSC %.4f ns/tick\n", cpu_model, online,
               o.cpus.size(), o.pin ? "on" : "off", run.tick_ns);

  const int producer_cpu = o.pin && !o.cpus.empty() ? o.cpus[0] : -1;
  run.memcpy_bps = probe_memcpy(producer_cpu, o.quick ? 0.02 : 0.2);
  {
    std::ostringstream j;
    j << "{\"probe\":\"memcpy\",\"cpu\":" << producer_cpu << ",\"bandwidth\":[";
    for (int k = 0; k < 3; ++k) j << (k ? "," : "") << "{\"size\":" << kMemcpySizes[k] << ",\"bytes_per_s\":" << jnum(run.memcpy_bps[k]) << "}";
    j << "]}";
    run.probe_json.push_back(j.str());
  }

  const std::vector<Spec> points = build_points(o);
  int point_id = 0;
  const bool can_probe = o.pin && o.cpus.size() >= 2;
  // Throughput and rtt points run `repeat` times each, the three transports interleaved
  // per configuration so that their ratios come from the same minutes; the median is kept.
  // An rtt point's median is taken over its ratio to the floor probe run right before it:
  // the floor moves with the host's placement from one probe to the next (DESIGN.md), and
  // a run is only comparable with its own probe. Paced latency points (a million messages
  // at --interval each, seconds apiece) run once: repeating them would triple the run.
  for (std::size_t i = 0; i < points.size();) {
    std::size_t j = i;
    while (j < points.size() && points[j].workload == points[i].workload && points[j].readers == points[i].readers &&
           points[j].size == points[i].size)
      ++j;
    const int reps = points[i].workload == Workload::latency ? 1 : o.repeat;
    std::vector<std::vector<Result>> runs(j - i);
    for (int rep = 0; rep < reps; ++rep) {
      for (std::size_t p = i; p < j; ++p) {
        const Spec& s = points[p];
        std::optional<FloorProbe> floor;
        if (s.workload != Workload::throughput && can_probe) {
          floor = probe_pingpong(s.producer_cpu, s.reader_cpus.at(0), o.probe_samples, run.tick_ns);
          run.probe_json.push_back(floor_json(*floor, s));
        }
        std::fprintf(log, "[%zu/%zu] %-11s %-10s K=%d size=%-6zu wait=%-5s run %d/%d ...", p + 1, points.size(), name_of(s.transport),
                     name_of(s.workload), s.readers, s.size, name_of(s.wait), rep + 1, reps);
        std::fflush(log);
        Result r = run_point(s, o, run.tick_ns, point_id++);
        r.floor = floor;
        if (r.has_latency) std::fprintf(log, " p50 %llu ns%s\n", static_cast<unsigned long long>(r.p50), floor ? fmt(" (floor %.0f)", static_cast<double>(floor->p50)).c_str() : "");
        else std::fprintf(log, " %s msg/s/reader, loss %s\n", human(r.msgs_per_s).c_str(), human(static_cast<double>(r.missed)).c_str());
        if (!r.error.empty()) std::fprintf(log, "   FAILED: %s\n", r.error.c_str());
        runs[p - i].push_back(r);
      }
    }
    for (auto& rs : runs) {
      std::sort(rs.begin(), rs.end(), [](const Result& a, const Result& b) { return median_key(a) < median_key(b); });
      Result median = rs[rs.size() / 2];
      median.runs = static_cast<int>(rs.size());
      for (const Result& r : rs)
        if (!r.error.empty() && median.error.empty()) median.error = r.error;  // a failure in any run fails the point
      run.results.push_back(median);
    }
    i = j;
  }

  std::FILE* table_out = o.json ? stderr : stdout;
  run.load = "load average at start " + load_start + ", at end " + loadavg();
  std::fprintf(table_out, "\n%s, %ld CPUs online; %s\n", cpu_model, online, run.load.c_str());
  print_table(table_out, run);
  print_targets(table_out, run, o.readers);

  std::ostringstream json;
  json << "[\n";
  bool first = true;
  for (const Result& r : run.results) json << (first ? "" : ",\n") << result_json(r), first = false;
  for (const std::string& p : run.probe_json) json << (first ? "" : ",\n") << p, first = false;
  json << (first ? "" : ",\n") << "{\"machine\":" << jstr(cpu_model) << ",\"cpus_online\":" << online
       << ",\"tsc_ns_per_tick\":" << jnum(run.tick_ns) << ",\"load\":" << jstr(run.load) << "}";
  json << "\n]\n";
  if (o.json) std::fputs(json.str().c_str(), stdout);
  if (!o.out_dir.empty()) {
    ::mkdir(o.out_dir.c_str(), 0755);
    std::ofstream(o.out_dir + "/bench.json") << json.str();
    if (std::FILE* t = std::fopen((o.out_dir + "/table.txt").c_str(), "w")) {
      std::fprintf(t, "%s, %ld CPUs; %s\ncommand:", cpu_model, online, run.load.c_str());
      for (int i = 0; i < argc; ++i) std::fprintf(t, " %s", argv[i]);
      std::fprintf(t, "\n");
      print_table(t, run);
      print_targets(t, run, o.readers);
      std::fclose(t);
    }
    write_plot(o.out_dir, run, log);
  }
  int failures = 0;
  for (const Result& r : run.results) failures += r.error.empty() ? 0 : 1;
  if (failures != 0) {
    std::fprintf(stderr, "shmcast-bench: %d point(s) FAILED their sanity checks\n", failures);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace shmcast::bench

int main(int argc, char** argv) {
  try {
    return shmcast::bench::main_impl(argc, argv);
  } catch (const std::exception& e) {
    shmcast::bench::unlink_names();
    std::fprintf(stderr, "shmcast-bench: %s\n", e.what());
    return 1;
  }
}
