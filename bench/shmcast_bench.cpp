// shmcast-bench: runs every point of the command line (see options.hpp) and reports them.
// For each point the parent makes its transports, forks one producer and K readers (or
// ping and echo), waits for them, and checks what they wrote into the control block: every
// reader's delivered + missed must equal what the producer published, and no reader may
// have seen a torn or misordered payload. Any failure makes the run exit 1.
#include "control.hpp"
#include "options.hpp"
#include "placement.hpp"
#include "probes.hpp"
#include "processes.hpp"
#include "report.hpp"
#include "roles.hpp"
#include "setup.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace shmcast::bench {
namespace {

// Runs one point once and checks its accounting.
Result run_point(const Spec& spec, double tick_ns, int point_id) {
  Result r;
  r.spec = spec;
  Control* c = map_control();
  c->ns_per_tick = tick_ns;
  Setup setup;
  try {
    setup = make_setup(spec, point_id);
  } catch (const PointSkipped& e) {
    r.skipped = e.what();
    teardown(setup);
    unmap_control(c);
    return r;
  } catch (const std::exception& e) {
    r.error = std::string("setup: ") + e.what();
    teardown(setup);
    unmap_control(c);
    return r;
  }
  if (spec.workload == Workload::rtt) {
    spawn(spec.reader_cpus.at(0), *c, [&] { return dispatch(Role::echo, spec, setup, *c, 0); });
    spawn(spec.producer_cpu, *c, [&] { return dispatch(Role::ping, spec, setup, *c, 0); });
  } else {
    for (int i = 0; i < spec.readers; ++i)
      spawn(spec.reader_cpus.at(static_cast<std::size_t>(i)), *c, [&, i] { return dispatch(Role::reader, spec, setup, *c, i); });
    spawn(spec.producer_cpu, *c, [&] { return dispatch(Role::producer, spec, setup, *c, 0); });
  }
  int rc = 0;
  const double attach_s = attach_timeout_s(spec.readers);
  // The producer waits up to attach_s for its readers and as long again for zmq's to join.
  if (!wait_flag(c->started, 1, 2 * attach_s + 5)) {
    set_error(*c, "the producer never started");
    c->stop.store(1);
    rc = reap_children(*c, 5);
  } else {
    if (spec.workload == Workload::throughput) {
      std::this_thread::sleep_for(std::chrono::duration<double>(spec.duration_s));
      c->stop.store(1, std::memory_order_release);
      rc = reap_children(*c, attach_s);
    } else {
      rc = reap_children(*c, spec.cap_s + attach_s);
    }
  }

  // A child killed (timeout, signal) never deregistered from the point's RouDi.
  setup.clients_clean = rc < 124;
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
    r.unconfirmed += s.unconfirmed;
    const double rate = elapsed_s > 0 ? static_cast<double>(s.delivered) / elapsed_s : 0;
    sum_rate += rate;
    min_rate = std::min(min_rate, rate);
    if (s.corrupt != 0) problems += " reader " + std::to_string(i) + ": " + std::to_string(s.corrupt) + " corrupt payloads;";
    if (s.reordered != 0) problems += " reader " + std::to_string(i) + ": " + std::to_string(s.reordered) + " out of order;";
    if (s.cpu >= 0 && std::find(r.reader_cpus_seen.begin(), r.reader_cpus_seen.end(), s.cpu) == r.reader_cpus_seen.end())
      r.reader_cpus_seen.push_back(s.cpu);
    if (spec.workload != Workload::rtt && s.delivered + s.missed != c->published)
      problems += " reader " + std::to_string(i) + ": delivered " + std::to_string(s.delivered) + " + missed " +
                  std::to_string(s.missed) + " != published " + std::to_string(c->published) + ";";
  }
  if (spec.workload == Workload::rtt && c->readers[0].delivered != c->published)
    problems += " rtt: " + std::to_string(c->readers[0].delivered) + " echoes for " + std::to_string(c->published) + " pings;";
  if (c->published == 0) problems += " nothing was published;";
  std::sort(r.reader_cpus_seen.begin(), r.reader_cpus_seen.end());
  r.producer_cpu_seen = c->producer_cpu_seen;
  r.producer_wakeups = c->producer_wakeups;
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

// What the median of a repeated point is taken over: throughput by rate; rtt by p50 over
// its own floor probe where there is one (else by p50).
double median_key(const Result& r) {
  if (!r.has_latency) return r.msgs_per_s;
  if (r.floor && r.floor->p50 > 0) return static_cast<double>(r.p50) / static_cast<double>(r.floor->p50);
  return static_cast<double>(r.p50);
}

// The kept run of a repeated point: the median by median_key; a failure in any run fails it.
Result median_of(std::vector<Result> rs) {
  std::sort(rs.begin(), rs.end(), [](const Result& a, const Result& b) { return median_key(a) < median_key(b); });
  Result median = rs[rs.size() / 2];
  median.runs = static_cast<int>(rs.size());
  for (const Result& r : rs)
    if (!r.error.empty() && median.error.empty()) median.error = r.error;
  return median;
}

// A sweep throughput point with K > 1, bracketed by two K=1 runs of the same transport:
// the producer's cost is read as a ratio to their mean. A VM's host may move its vCPUs
// every few seconds, and that alone changes the producer's cost several times over
// (bench/README.md, "Fan-out sweep"), so a ratio of two points taken minutes apart
// measures the host. K=1 runs before and after that disagree by more than 30 % say the
// host moved during the point: it is run again, up to kPairAttempts times.
constexpr int kPairAttempts = 4;
constexpr double kPairSpread = 1.3;

Result run_sweep_pair(const Spec& s, Run& run, int& point_id, std::FILE* log) {
  Spec reference = s;
  reference.readers = 1;
  reference.reader_cpus.resize(1);
  const auto cost = [](const Result& k1) { return k1.error.empty() && k1.skipped.empty() ? k1.producer_cpu_ns : NAN; };
  for (int attempt = 1;; ++attempt) {
    const double before = cost(run_point(reference, run.tick_ns, point_id++));
    Result r = run_point(s, run.tick_ns, point_id++);
    const double after = cost(run_point(reference, run.tick_ns, point_id++));
    r.k1_before_ns = before;
    r.k1_after_ns = after;
    r.pair_attempts = attempt;
    const bool steady = std::max(before, after) <= kPairSpread * std::min(before, after);  // false if either is NaN
    if (steady || attempt == kPairAttempts || !r.skipped.empty()) return r;
    std::fprintf(log, " (K=1 %.0f ns before, %.0f after: the host moved, again)", before, after);
    std::fflush(log);
  }
}

// Runs every point and appends the kept results (and the floor probes) to `run`.
// Throughput and rtt points run `repeat` times each, the transports interleaved per
// configuration so that their ratios come from the same minutes; the median is kept.
// An rtt point's median is taken over its ratio to the floor probe run right before it:
// the floor moves with the host's placement from one probe to the next, and a run is
// only comparable with its own probe. Paced latency points (a million messages at
// --interval each, seconds apiece) run once: repeating them would triple the run.
void run_points(const std::vector<Spec>& points, const Options& o, Run& run, std::FILE* log) {
  int point_id = 0;
  const bool can_probe = o.pin && o.cpus.size() >= 2;
  for (std::size_t i = 0; i < points.size();) {
    std::size_t j = i;
    while (j < points.size() && points[j].workload == points[i].workload && points[j].readers == points[i].readers &&
           points[j].size == points[i].size && points[j].sweep == points[i].sweep)
      ++j;
    // The sweep's points run once each: seven reader counts up to 512 processes apiece.
    const int reps = points[i].workload == Workload::latency || points[i].sweep ? 1 : o.repeat;
    std::vector<std::vector<Result>> runs(j - i);
    for (int rep = 0; rep < reps; ++rep) {
      for (std::size_t p = i; p < j; ++p) {
        const Spec& s = points[p];
        std::optional<FloorProbe> floor;
        if (s.workload != Workload::throughput && can_probe) {
          floor = probe_pingpong(s.producer_cpu, s.reader_cpus.at(0), o.probe_samples, run.tick_ns);
          run.floors.emplace_back(*floor, s);
        }
        std::fprintf(log, "[%zu/%zu] %s%-12s %-10s K=%d size=%-6zu wait=%-5s run %d/%d ...", p + 1, points.size(), s.sweep ? "sweep " : "", name_of(s.transport),
                     name_of(s.workload), s.readers, s.size, name_of(s.wait), rep + 1, reps);
        std::fflush(log);
        Result r = s.sweep && s.workload == Workload::throughput && s.readers > 1 ? run_sweep_pair(s, run, point_id, log)
                                                                                  : run_point(s, run.tick_ns, point_id++);
        if (!r.skipped.empty()) {
          std::fprintf(log, " skipped: %s\n", r.skipped.c_str());
          add_note(run, r.skipped);
          continue;
        }
        r.floor = floor;
        if (r.has_latency) std::fprintf(log, " p50 %llu ns%s\n", static_cast<unsigned long long>(r.p50), floor ? fmt(" (floor %.0f)", static_cast<double>(floor->p50)).c_str() : "");
        else if (!std::isnan(r.k1_producer_cpu_ns()))
          std::fprintf(log, " %s msg/s/reader, loss %s; producer %.1f ns/msg, %.2fx K=1 around it\n", human(r.msgs_per_s).c_str(),
                       human(static_cast<double>(r.missed)).c_str(), r.producer_cpu_ns, r.producer_cpu_ns / r.k1_producer_cpu_ns());
        else std::fprintf(log, " %s msg/s/reader, loss %s\n", human(r.msgs_per_s).c_str(), human(static_cast<double>(r.missed)).c_str());
        if (!r.error.empty()) std::fprintf(log, "   FAILED: %s\n", r.error.c_str());
        runs[p - i].push_back(r);
      }
    }
    for (auto& rs : runs)
      if (!rs.empty()) run.results.push_back(median_of(std::move(rs)));
    i = j;
  }
}

// Where the producer and the first reader run (every latency point and floor probe runs
// between those two), in words for the log, the table and bench.json.
std::string placement_line(const Options& o) {
  if (!o.pin) return "unpinned: the scheduler places every process";
  if (o.cpus.size() < 2) return "every process on CPU " + std::to_string(o.cpus.at(0));
  return "producer on CPU " + std::to_string(o.cpus[0]) + ", first reader on CPU " + std::to_string(o.cpus[1]) + ": " +
         name_of(relation(o.cpus[0], o.cpus[1])) +
         (o.placement ? std::string(" (--placement ") + name_of(*o.placement) + ")" : std::string(" (the first two CPUs; --placement chooses)")) +
         "; " + topology(o.cpus);
}

int main_impl(int argc, char** argv) {
  Options o;
  if (const std::optional<int> rc = parse_args(argc, argv, o)) return *rc;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGHUP, on_signal);
  std::FILE* log = o.json ? stderr : stdout;

  Run run;
  run.tick_ns = calibrate_ns_per_tick(o.quick ? 20'000'000 : 200'000'000);
  run.machine = cpu_model();
  run.cpus_online = ::sysconf(_SC_NPROCESSORS_ONLN);
  const std::string load_start = loadavg();
  std::fprintf(log, "shmcast-bench: %s, %ld CPUs online, %zu usable, pinning %s; TSC %.4f ns/tick\n", run.machine.c_str(),
               run.cpus_online, o.cpus.size(), o.pin ? "on" : "off", run.tick_ns);
  run.placement = placement_line(o);
  std::fprintf(log, "placement: %s\n", run.placement.c_str());
  // What the reader of the report must know: in the log now, and under the table.
  const auto say = [&](const std::string& note) {
    std::fprintf(log, "%s\n", note.c_str());
    add_note(run, note);
  };
  run.give_back = o.give_back;
  run.stand_back = o.stand_back;
  if (o.stand_back != 0)
    say("ring readers of throughput points stood " + std::to_string(o.stand_back) + " bytes behind a busy producer (--stand-back)");
  if (!o.give_back) say("ring readers kept the lines they read (--no-give-back)");

  // Transports that cannot run here (not built; iceoryx: someone else's RouDi) are left out.
  std::vector<Transport> runnable;
  for (Transport t : o.transports) {
    if (const std::string why = unavailable(t); !why.empty()) {
      say(why);
    } else {
      runnable.push_back(t);
    }
  }
  o.transports = runnable;

  if (o.sweep) {
    const int most = *std::max_element(o.sweep_readers.begin(), o.sweep_readers.end());
    const long ncpu = static_cast<long>(o.cpus.size());
    run.sweep_notes.push_back(fmt("sweep: 64 B; latency paced at one message every %.0f ns (", static_cast<double>(o.sweep_interval_ns)) +
                              human(1e9 / static_cast<double>(o.sweep_interval_ns)) + " msg/s), " + std::to_string(o.sweep_samples) +
                              " messages; throughput unpaced for " + fmt("%g s", o.sweep_duration_s) + "; each point run once");
    run.sweep_notes.push_back(
        "sweep: readers block (ring: futex; iceoryx: WaitSet; zmq: zmq_poll; mutex: condition variable; spsc-fanout has no "
        "blocking primitive and yields after 16 empty polls) so that readers outnumbering the CPUs do not livelock them");
    if (most + 1 > ncpu)
      run.sweep_notes.push_back("sweep: this machine has " + std::to_string(ncpu) + " usable CPUs for up to " + std::to_string(most) +
                                " readers and a producer: readers TIME-SHARE the cores" +
                                (o.pin && ncpu > 1 ? " (producer pinned to CPU " + std::to_string(o.cpus[0]) + ", readers round-robin on the rest)" : "") +
                                ", so per-reader rates and latencies at large K measure the scheduler; the producer-cost column "
                                "(prod ns) is the meaningful one");
    for (const std::string& n : run.sweep_notes) std::fprintf(log, "note: %s\n", n.c_str());
  }

  run.memcpy_cpu = o.pin && !o.cpus.empty() ? o.cpus[0] : -1;
  run.memcpy_bps = probe_memcpy(run.memcpy_cpu, o.quick ? 0.02 : 0.2);
  run_points(build_points(o), o, run, log);

  std::FILE* table_out = o.json ? stderr : stdout;
  run.load = "load average at start " + load_start + ", at end " + loadavg();
  std::fprintf(table_out, "\n%s, %ld CPUs online; %s\nplacement: %s\n", run.machine.c_str(), run.cpus_online, run.load.c_str(),
               run.placement.c_str());
  const bool regular = std::any_of(run.results.begin(), run.results.end(), [](const Result& r) { return !r.spec.sweep; });
  if (regular || !o.sweep) print_table(table_out, run);
  print_sweep_table(table_out, run);

  const std::string json = bench_json(run);
  if (o.json) std::fputs(json.c_str(), stdout);
  if (!o.out_dir.empty()) {
    ::mkdir(o.out_dir.c_str(), 0755);
    std::ofstream(o.out_dir + "/bench.json") << json;
    if (std::FILE* t = std::fopen((o.out_dir + "/table.txt").c_str(), "w")) {
      std::fprintf(t, "%s, %ld CPUs; %s\nplacement: %s\ncommand:", run.machine.c_str(), run.cpus_online, run.load.c_str(),
                   run.placement.c_str());
      for (int i = 0; i < argc; ++i) std::fprintf(t, " %s", argv[i]);
      std::fprintf(t, "\n");
      if (regular || !o.sweep) print_table(t, run);
      print_sweep_table(t, run);
      std::fclose(t);
    }
    write_plot(o.out_dir, run, log);
  }
  std::fprintf(table_out, "\nverdicts against the benchmark's targets: python3 bench/targets.py %s\n",
               o.out_dir.empty() ? "DIR/bench.json (run with --out DIR, or save the --json output)"
                                 : (o.out_dir + "/bench.json").c_str());
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
