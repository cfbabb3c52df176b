// The command line (parsed with CLI11) and what it turns into: the points of a run. Each
// Spec names one transport, workload, reader count and message size, with the CPUs, wait
// strategy and pacing its processes use; build_points lays them out in the order they run.
#pragma once

#include "placement.hpp"
#include "transports.hpp"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace shmcast::bench {

using u64 = std::uint64_t;

// iceoryx and zmq are compiled in only where their libraries were found (SHMCAST_BENCH_ICEORYX,
// SHMCAST_BENCH_ZMQ); a run that asks for one that is not there skips it with a note.
// ring and ring_inplace are the same ring, read by copying (try_read) and in place
// (peek/confirm): the two read modes an application chooses between.
enum class Transport { ring, ring_inplace, mutex, spsc, iceoryx, zmq };
inline constexpr Transport kAllTransports[] = {Transport::ring,    Transport::ring_inplace, Transport::mutex,
                                               Transport::spsc,    Transport::iceoryx,      Transport::zmq};
enum class Workload { throughput, latency, rtt };

const char* name_of(Transport t);
const char* name_of(Workload w);
const char* name_of(Wait w);

struct Spec {
  Transport transport = Transport::ring;
  Workload workload = Workload::throughput;
  int readers = 1;
  std::size_t size = 64;
  Wait wait = Wait::spin;
  int producer_cpu = -1;
  std::vector<int> reader_cpus;
  double duration_s = 0.5;     // a throughput point runs this long
  u64 interval_ns = 2000;      // a latency point's pacing
  u64 samples = 1'000'000;     // latency and rtt points stop after this many messages...
  double cap_s = 4.0;          // ... or this long, whichever comes first
  bool sweep = false;          // a point of the fan-out sweep (--sweep): reported in its own table
  bool give_back = true;       // ring readers give their lines back (ReaderOptions::give_back_lines)
  u64 stand_back = 0;          // ring readers stand this far back while streaming (ReaderOptions::stand_back_bytes)
};

// The fan-out sweep's reader counts (--sweep-readers overrides them).
inline const std::vector<int> kSweepReaders{1, 2, 8, 32, 128, 256, 512};

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
  std::vector<Transport> transports{std::begin(kAllTransports), std::end(kAllTransports)};
  std::vector<Workload> workloads{Workload::throughput, Workload::latency, Workload::rtt};
  std::optional<Wait> wait;      // default: spin when every process has its own CPU (see build_points)
  bool pin = true;
  std::vector<int> cpus;         // producer on the first, readers round-robin on the rest
  std::optional<Placement> placement;  // --placement: cpus[0] and cpus[1] were chosen to stand in it
  bool json = false;
  std::string out_dir;
  bool give_back = true;  // --no-give-back clears it: ReaderOptions::give_back_lines for every ring reader
  u64 stand_back = 0;     // --stand-back: ReaderOptions::stand_back_bytes for the throughput points' ring readers
  bool sizes_given = false;  // --sizes: rtt runs at each of them too (else at 64 B only)
  // The fan-out sweep: per K and transport, one unpaced throughput point (producer CPU per
  // message, per-reader delivered rate, loss) and one paced latency point, 64 B, readers
  // blocking. With --sweep alone only the sweep runs; with --workloads too, both. The
  // default set (no --quick, --workloads, --sizes or --readers) runs it after the workloads,
  // unless --no-sweep.
  bool sweep = false;
  bool only_sweep = false;
  std::vector<int> sweep_readers = kSweepReaders;
  u64 sweep_interval_ns = 10'000;  // 100 k msg/s: a rate every transport sustains at K = 1
  u64 sweep_samples = 50'000;      // messages per paced sweep point (0.5 s at 100 k msg/s)
  double sweep_duration_s = 0.5;   // per unpaced sweep point
};

// Fills `o` from the command line. Returns an exit status when the program should stop
// here: 0 after --help, 2 after a usage error (already reported on stderr).
std::optional<int> parse_args(int argc, char** argv, Options& o);

std::vector<Spec> build_points(const Options& o);

}  // namespace shmcast::bench
