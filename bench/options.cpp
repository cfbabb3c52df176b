// shmcast-bench's command line on CLI11: every flag, its default and its check, with --quick
// filling in whatever the user left unset; and the list of points a run measures.
#include "options.hpp"

#include "control.hpp"
#include "placement.hpp"
#include "setup.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sched.h>

namespace shmcast::bench {

const char* name_of(Transport t) {
  switch (t) {
    case Transport::ring: return "ring";
    case Transport::ring_inplace: return "ring-inplace";
    case Transport::mutex: return "mutex";
    case Transport::spsc: return "spsc-fanout";
    case Transport::iceoryx: return "iceoryx";
    case Transport::zmq: return "zmq";
  }
  return "?";
}
const char* name_of(Workload w) { return w == Workload::throughput ? "throughput" : w == Workload::latency ? "latency" : "rtt"; }
const char* name_of(Wait w) { return w == Wait::spin ? "spin" : w == Wait::yield ? "yield" : "block"; }

namespace {

// A byte count: bytes, or KiB / MiB with a K / M suffix in either case ("16K" = 16384),
// below 2^40; nullopt when `s` is not one.
std::optional<unsigned long long> byte_count(const std::string& s) {
  std::size_t end = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(s, &end);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const char unit = end + 1 == s.size() ? static_cast<char>(std::toupper(static_cast<unsigned char>(s[end]))) : '\0';
  if (end == 0 || s[0] == '-' || (end != s.size() && unit != 'K' && unit != 'M')) return std::nullopt;
  const unsigned shift = unit == 'K' ? 10 : unit == 'M' ? 20 : 0;
  if (n >= (1ULL << (40 - shift))) return std::nullopt;
  return n << shift;
}

// A message size: a byte count that is a multiple of 8 in [8, 64K]. Rewrites `s` as the
// number of bytes; returns what is wrong, or "".
std::string parse_size(std::string& s) {
  const std::optional<unsigned long long> n = byte_count(s);
  if (!n) return "'" + s + "' is not a size (bytes, or KiB with a K suffix)";
  if (*n < 8 || *n > 65536 || *n % 8 != 0) return "sizes must be multiples of 8 in [8, 65536], not " + s;
  s = std::to_string(*n);
  return {};
}

// A distance in bytes (--stand-back). Rewrites `s` as the number of bytes; returns what is
// wrong, or "".
std::string parse_bytes(std::string& s) {
  const std::optional<unsigned long long> n = byte_count(s);
  if (!n) return "'" + s + "' is not a byte count below 2^40 (bytes, or KiB / MiB with a K / M suffix)";
  s = std::to_string(*n);
  return {};
}

Transport transport_of(const std::string& s) {
  for (Transport t : kAllTransports)
    if (s == name_of(t)) return t;
  return Transport::spsc;  // "spsc", the short name
}
Workload workload_of(const std::string& s) {
  return s == "throughput" ? Workload::throughput : s == "latency" ? Workload::latency : Workload::rtt;
}

std::vector<int> usable_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

}  // namespace

std::optional<int> parse_args(int argc, char** argv, Options& o) {
  CLI::App app{"shmcast-bench: the shmcast ring, read by copying and in place, against a mutex-guarded ring,\n"
               "a per-reader spsc_queue fan-out, iceoryx and ZeroMQ: one producer and K reader processes per point.",
               "shmcast-bench"};
  app.get_formatter()->column_width(30);
  std::vector<std::string> transports, workloads;
  std::string wait = "auto";
  bool no_pin = false;
  bool no_sweep = false;

  app.add_flag("--quick", o.quick, "a seconds-long smoke run (what CI runs)");
  auto* duration = app.add_option("--duration", o.duration_s, "seconds per throughput point (default 0.5)")->type_name("SEC");
  auto* repeat = app.add_option("--repeat", o.repeat, "throughput and rtt points run N times, interleaved; median kept (default 3)")->type_name("N");
  auto* samples = app.add_option("--samples", o.samples, "messages per latency/rtt point (default 1000000)")->type_name("N");
  auto* cap = app.add_option("--latency-cap", o.latency_cap_s, "stop a latency/rtt point after this long (default 4)")->type_name("SEC");
  app.add_option("--interval", o.interval_ns, "pacing of the latency workload (default 2000; at least size/2 ns)")->type_name("NS");
  auto* probe = app.add_option("--probe-samples", o.probe_samples, "ping-pong round trips per floor probe (default 200000)")->type_name("N");
  auto* sizes = app.add_option("--sizes", o.sizes, "message sizes, multiples of 8 in [8, 64K] (default 8,64,256,1K,4K,16K,64K)")
                    ->delimiter(',')
                    ->transform(CLI::Validator(parse_size, "", "size"))
                    ->type_name("LIST");
  auto* readers = app.add_option("--readers", o.readers, "reader counts K (default 1,2,4)")
                      ->delimiter(',')
                      ->check(CLI::Range(1, kMaxReaders).description(""))
                      ->type_name("LIST");
  app.add_option("--transports", transports,
                 "ring,ring-inplace,mutex,spsc-fanout,iceoryx,zmq (default all six; those not built are skipped)")
      ->delimiter(',')
      ->check(CLI::IsMember({"ring", "ring-inplace", "mutex", "spsc-fanout", "spsc", "iceoryx", "zmq"}).description(""))
      ->type_name("LIST");
  auto* workloads_opt = app.add_option("--workloads", workloads, "throughput,latency,rtt (default all three)")
      ->delimiter(',')
      ->check(CLI::IsMember({"throughput", "latency", "rtt"}).description(""))
      ->type_name("LIST");
  app.add_option("--wait", wait,
                 "spin|yield|block|auto (default auto: spin if every process has a CPU,\n"
                 "else yield for throughput and block for latency)")
      ->check(CLI::IsMember({"spin", "yield", "block", "auto"}).description(""))
      ->type_name("MODE");
  auto* pin = app.add_option("--pin", o.cpus, "CPUs to pin to: producer on the first, readers round-robin on the rest\n"
                                               "(default: every CPU this process may use)")
                  ->delimiter(',')
                  ->check(CLI::Range(0, CPU_SETSIZE - 1).description(""))
                  ->type_name("LIST");
  std::string placement;
  auto* placement_opt =
      app.add_option("--placement", placement,
                     "put the producer and the first reader (the floor probe's two ends too) on\n"
                     "SMT siblings, two cores sharing the last-level cache, or two that do not\n"
                     "(default: the first two CPUs of --pin; the report says which they are)")
          ->check(CLI::IsMember({"sibling", "same-cache", "cross"}).description(""))
          ->type_name("sibling|same-cache|cross");
  app.add_flag("--no-pin", no_pin, "do not pin (the floor probe is skipped)")->excludes(pin)->excludes(placement_opt);
  app.add_flag("--sweep", o.sweep,
               "the fan-out sweep: K = 1,2,8,32,128,256,512 blocking readers, 64 B, per transport:\n"
               "producer CPU/msg, delivered rate and loss unpaced, p50/p99 paced (alone unless --workloads;\n"
               "the default set, without --quick, --workloads, --sizes or --readers, runs it after the workloads)");
  app.add_flag("--no-sweep", no_sweep, "leave the fan-out sweep out of the default set");
  auto* sweep_readers = app.add_option("--sweep-readers", o.sweep_readers, "the sweep's reader counts (default 1,2,8,32,128,256,512)")
                            ->delimiter(',')
                            ->check(CLI::Range(1, kMaxReaders).description(""))
                            ->type_name("LIST");
  auto* sweep_interval =
      app.add_option("--sweep-interval", o.sweep_interval_ns, "pacing of the sweep's latency points (default 10000: 100 k msg/s)")->type_name("NS");
  auto* sweep_samples = app.add_option("--sweep-samples", o.sweep_samples, "messages per paced sweep point (default 50000)")->type_name("N");
  auto* sweep_duration = app.add_option("--sweep-duration", o.sweep_duration_s, "seconds per unpaced sweep point (default 0.5)")->type_name("SEC");
  bool no_give_back = false;
  app.add_flag("--no-give-back", no_give_back,
               "ring readers keep the lines they have read (ReaderOptions::give_back_lines = false):\n"
               "for an A/B against the default, or where producer and reader are SMT siblings");
  app.add_option("--stand-back", o.stand_back,
                 "ring readers of throughput points stand this many bytes behind a busy producer\n"
                 "(ReaderOptions::stand_back_bytes; default 0: off; at most a quarter of the ring)")
      ->transform(CLI::Validator(parse_bytes, "", "bytes"))
      ->type_name("BYTES");
  app.add_flag("--json", o.json, "print one JSON array (results and probes) on stdout; the table goes to stderr");
  app.add_option("--out", o.out_dir, "write DIR/bench.json, DIR/table.txt, DIR/bench.gp and DIR/bench.png")->option_text("DIR");
  app.footer("Verdicts against the benchmark's targets: python3 bench/targets.py DIR/bench.json");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "shmcast-bench: %s\nRun with --help for the options.\n", e.what());
    return 2;
  }

  o.repeat = std::max(1, o.repeat);
  o.pin = !no_pin;
  o.give_back = !no_give_back;
  if (!transports.empty()) {
    o.transports.clear();
    for (const std::string& t : transports) o.transports.push_back(transport_of(t));
  }
  if (!workloads.empty()) {
    o.workloads.clear();
    for (const std::string& w : workloads) o.workloads.push_back(workload_of(w));
  }
  if (wait != "auto") o.wait = wait == "spin" ? Wait::spin : wait == "yield" ? Wait::yield : Wait::block;
  o.sizes_given = sizes->count() != 0;
  if (sweep_readers->count() != 0 || sweep_interval->count() != 0 || sweep_samples->count() != 0 || sweep_duration->count() != 0)
    o.sweep = true;
  o.only_sweep = o.sweep && workloads_opt->count() == 0;
  // The default set (nothing narrowed) is every workload, then the sweep: one run answers
  // both questions a user choosing an IPC mechanism asks.
  if (!o.sweep && !no_sweep && !o.quick && workloads_opt->count() == 0 && sizes->count() == 0 && readers->count() == 0)
    o.sweep = true;
  if (o.quick) {
    if (sizes->count() == 0) o.sizes = {64, 4096};
    if (readers->count() == 0) o.readers = {1, 2};
    if (samples->count() == 0) o.samples = 20'000;
    if (duration->count() == 0) o.duration_s = 0.1;
    if (repeat->count() == 0) o.repeat = 1;
    if (cap->count() == 0) o.latency_cap_s = 1.0;
    if (probe->count() == 0) o.probe_samples = 20'000;
    if (sweep_readers->count() == 0) o.sweep_readers = {1, 8};
    if (sweep_samples->count() == 0) o.sweep_samples = 5'000;
    if (sweep_duration->count() == 0) o.sweep_duration_s = 0.1;
  }
  if (o.sweep_interval_ns == 0) o.sweep_interval_ns = 1;
  if (o.cpus.empty()) o.cpus = usable_cpus();
  if (!placement.empty()) {
    for (Placement p : kAllPlacements)
      if (placement == name_of(p)) o.placement = p;
    const auto pair = find_pair(*o.placement, o.cpus);
    if (!pair) {
      std::string possible;
      for (Placement p : kAllPlacements)
        if (find_pair(p, o.cpus)) possible += std::string(possible.empty() ? "" : ", ") + name_of(p);
      std::fprintf(stderr, "shmcast-bench: --placement %s: no two of the CPUs to pin to stand in it (%s).\n%s\n", placement.c_str(),
                   topology(o.cpus).c_str(),
                   possible.empty() ? "This machine offers no placement to choose: run without --placement."
                                    : ("Placements these CPUs offer: " + possible + ".").c_str());
      return 2;
    }
    // The pair first, the other CPUs after it for further readers.
    std::vector<int> ordered{pair->first, pair->second};
    for (int c : o.cpus)
      if (c != pair->first && c != pair->second) ordered.push_back(c);
    o.cpus = std::move(ordered);
  }
  // The library refuses a distance over a quarter of the ring (stand_back.hpp); say which
  // points' ring is too small before any runs, rather than fail them one by one.
  for (const Spec& s : build_points(o)) {
    const u64 ring = geometry_for(s.size).ring_bytes;
    if (s.stand_back > ring / 4) {
      std::fprintf(stderr,
                   "shmcast-bench: --stand-back %llu is more than a quarter of the %llu-byte ring the %zu-byte points use.\n"
                   "Give at most %llu, or leave %zu out of --sizes.\n",
                   static_cast<unsigned long long>(s.stand_back), static_cast<unsigned long long>(ring), s.size,
                   static_cast<unsigned long long>(ring / 4), s.size);
      return 2;
    }
  }
  return std::nullopt;
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
      // Spinning readers that share a CPU starve each other. With more
      // processes than CPUs, throughput readers yield (blocked readers would make the
      // producer pay a FUTEX_WAKE per publish) and latency readers block (a yielding reader
      // spins 2048 polls before it lets the next one run). spsc-fanout has no blocking
      // primitive: its `block` yields after a few polls.
      s.wait = o.wait ? *o.wait : (k + 1 <= ncpu ? Wait::spin : w == Workload::throughput ? Wait::yield : Wait::block);
      // zmq's messages are moved by an I/O thread in each process, pinned with it: a reader
      // spinning on its socket takes the CPU its own I/O thread needs to deliver (bench/README.md,
      // "ZeroMQ", has the round trips each way). Its
      // readers block in zmq_poll, as libzmq's documentation has them, unless told otherwise.
      if (t == Transport::zmq && !o.wait) s.wait = Wait::block;
      if (o.pin && ncpu > 0) {
        s.producer_cpu = o.cpus[0];
        for (int i = 0; i < k; ++i) s.reader_cpus.push_back(ncpu > 1 ? o.cpus[1 + static_cast<std::size_t>(i % (ncpu - 1))] : o.cpus[0]);
      } else {
        s.reader_cpus.assign(static_cast<std::size_t>(k), -1);
      }
      s.duration_s = o.duration_s;
      s.give_back = o.give_back;
      if (w == Workload::throughput) s.stand_back = o.stand_back;
      // Large messages are paced at no more than 2 bytes/ns, so that the latency workload
      // measures latency rather than a queue building up behind a saturated transport.
      s.interval_ns = std::max<u64>(o.interval_ns, size / 2);
      s.samples = o.samples;
      s.cap_s = o.latency_cap_s;
      pts.push_back(s);
    }
  };
  auto has = [&](Workload w) {
    return !o.only_sweep && std::find(o.workloads.begin(), o.workloads.end(), w) != o.workloads.end();
  };
  const std::size_t base = 64;
  // K > 1 at the sizes the targets name (64 B, 256 B, 1 KiB; bench/targets.py).
  const std::vector<std::size_t> k_sizes = o.quick ? std::vector<std::size_t>{64} : std::vector<std::size_t>{64, 256, 1024};
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
  if (o.sweep) {
    // Per K, the transports side by side: unpaced throughput, then paced latency. Every
    // reader blocks (the ring on its futex, iceoryx in a WaitSet, zmq in zmq_poll, the
    // mutex ring on its condition variable; spsc-fanout, which has none, yields after a few
    // polls), since K readers soon outnumber the CPUs: spinning ones would livelock them.
    for (int k : o.sweep_readers) {
      for (Workload w : {Workload::throughput, Workload::latency}) {
        const std::size_t first = pts.size();
        add(w, k, base);
        for (std::size_t i = first; i < pts.size(); ++i) {
          Spec& s = pts[i];
          s.sweep = true;
          s.wait = o.wait ? *o.wait : Wait::block;
          s.duration_s = o.sweep_duration_s;
          s.interval_ns = o.sweep_interval_ns;
          s.samples = o.sweep_samples;
        }
      }
    }
  }
  return pts;
}

}  // namespace shmcast::bench
