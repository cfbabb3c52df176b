// What a run found and how it is shown: the per-point Result, the table (stdout and
// table.txt), bench.json (one array of result, probe and machine objects, written with
// nlohmann::json) and the gnuplot script and PNG.
#pragma once

#include "options.hpp"
#include "probes.hpp"

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace shmcast::bench {

struct Result {
  Spec spec;
  double msgs_per_s = 0;       // mean over readers of delivered / producer's elapsed time
  double min_msgs_per_s = 0;   // the slowest reader's
  double bytes_per_s = 0;
  double producer_cpu_ns = NAN;
  u64 published = 0, delivered = 0, missed = 0, samples = 0;
  u64 unconfirmed = 0;                 // ring-inplace: batches whose confirm() failed, over all readers
  std::int64_t producer_wakeups = -1;  // the ring's FUTEX_WAKE calls over the point (-1: not a ring point)
  // Sweep throughput points with K > 1: the producer cost of K=1 runs of the same transport
  // right before and right after (run_sweep_pair in shmcast_bench.cpp); NaN elsewhere.
  double k1_before_ns = NAN, k1_after_ns = NAN;
  int pair_attempts = 0;
  // What the point's producer cost is read against: the mean of the two.
  [[nodiscard]] double k1_producer_cpu_ns() const noexcept { return (k1_before_ns + k1_after_ns) / 2; }
  u64 p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
  bool has_latency = false;
  std::optional<FloorProbe> floor;
  std::string error;  // empty if the point ran and its accounting added up
  std::string skipped;  // why the point did not run (not an error): it becomes a note
  int runs = 1;
  int producer_cpu_seen = -1;         // where the producer (or ping) ran when it ended (sched_getcpu)
  std::vector<int> reader_cpus_seen;  // the distinct CPUs the readers (or the echo) ended on
};

struct Run {
  std::string machine;   // the CPU model
  long cpus_online = 0;
  std::string load;      // load averages at start and end
  std::string placement;  // where the producer and the first reader run, and why (placement.hpp)
  bool give_back = true;  // ring readers gave their lines back (--no-give-back: false)
  std::uint64_t stand_back = 0;  // --stand-back: throughput points' ring readers stood this far back
  double tick_ns = 1;
  std::vector<Result> results;
  std::vector<std::pair<FloorProbe, Spec>> floors;  // each floor probe and the point it was taken for
  int memcpy_cpu = -1;
  std::vector<double> memcpy_bps;  // one per kMemcpySizes
  std::vector<std::string> notes;  // one line each: transports skipped, and why
  std::vector<std::string> sweep_notes;  // the sweep's own: pacing, blocking, cores shared
};

// Adds `note` to the run's notes unless it is there already.
void add_note(Run& run, const std::string& note);

std::string fmt(const char* f, double v);  // printf of one double
std::string human(double v);               // 1.23G, 4.56M, 7.8k; "-" for NaN
std::string size_str(std::size_t s);       // 64, 4K
std::string loadavg();                     // "0.52 0.40 0.33"
std::string cpu_model();                   // /proc/cpuinfo's model name

// The regular point (not the sweep's) of that transport, workload, K and size, or null;
// with `sweep`, the sweep's.
const Result* find(const Run& run, Transport t, Workload w, int k, std::size_t size, bool sweep = false);

void print_table(std::FILE* out, const Run& run);

// The fan-out sweep's table (nothing if the run had no sweep): per transport and K, the
// unpaced point's producer CPU/msg, per-reader rate and loss, the paced point's p50/p99.
void print_sweep_table(std::FILE* out, const Run& run);

// bench.json: one JSON array, one object a line (results, then probes, then notes, then the machine).
std::string bench_json(const Run& run);

// DIR/bench.gp and, through gnuplot, DIR/bench.png (and for a sweep DIR/sweep.gp and
// DIR/sweep.png); says on `log` how it went.
void write_plot(const std::string& dir, const Run& run, std::FILE* log);

}  // namespace shmcast::bench
