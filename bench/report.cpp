// The table, bench.json and the plot. JSON field names are a published format (bench/README.md
// lists them, bench/targets.py reads them): results carry transport, readers, size, workload
// and their figures, probes a "probe" field, and the last object a "machine" field.
#include "report.hpp"

#include "placement.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

namespace shmcast::bench {

using Json = nlohmann::ordered_json;

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

std::string cpu_model() {
  char model[256] = "unknown";
  if (std::FILE* ci = std::fopen("/proc/cpuinfo", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, ci))
      if (std::strncmp(line, "model name", 10) == 0) {
        const char* p = std::strchr(line, ':');
        if (p) std::snprintf(model, sizeof model, "%s", p + 2);
        model[std::strcspn(model, "\n")] = 0;
        break;
      }
    std::fclose(ci);
  }
  return model;
}

void add_note(Run& run, const std::string& note) {
  for (const std::string& n : run.notes)
    if (n == note) return;
  run.notes.push_back(note);
}

const Result* find(const Run& run, Transport t, Workload w, int k, std::size_t size, bool sweep) {
  for (const Result& r : run.results)
    if (r.spec.transport == t && r.spec.workload == w && r.spec.readers == k && r.spec.size == size && r.spec.sweep == sweep) return &r;
  return nullptr;
}

namespace {

// The latency fields that results and floor probes share, from anything with p50..max;
// null where there is no distribution (a throughput point).
template <class T>
void put_latency(Json& j, const T& x, bool have) {
  auto ns = [&](u64 v) { return have ? Json(v) : Json(nullptr); };
  j["p50_ns"] = ns(x.p50);
  j["p90_ns"] = ns(x.p90);
  j["p99_ns"] = ns(x.p99);
  j["p999_ns"] = ns(x.p999);
  j["max_ns"] = ns(x.max);
}

Json result_json(const Result& r) {
  Json j;
  j["transport"] = name_of(r.spec.transport);
  j["readers"] = r.spec.readers;
  j["size"] = r.spec.size;
  j["workload"] = name_of(r.spec.workload);
  j["msgs_per_s"] = r.msgs_per_s;  // NaN and infinities are written as null
  j["bytes_per_s"] = r.bytes_per_s;
  put_latency(j, r, r.has_latency);
  j["producer_cpu_ns_per_msg"] = r.producer_cpu_ns;
  j["delivered"] = r.delivered;
  j["missed"] = r.missed;
  j["published"] = r.published;
  j["samples"] = r.samples;
  j["min_reader_msgs_per_s"] = r.min_msgs_per_s;
  j["wait"] = name_of(r.spec.wait);
  j["runs"] = r.runs;
  j["floor_p50_ns"] = r.floor ? Json(r.floor->p50) : Json(nullptr);
  if (r.spec.transport == Transport::ring_inplace) j["unconfirmed_batches"] = r.unconfirmed;
  if (r.producer_wakeups >= 0) j["producer_wakeups"] = r.producer_wakeups;
  if (r.pair_attempts > 0) {
    j["k1_producer_cpu_ns_per_msg"] = r.k1_producer_cpu_ns();
    j["k1_before_after_ns"] = {r.k1_before_ns, r.k1_after_ns};
    j["pair_attempts"] = r.pair_attempts;
  }
  if (r.spec.sweep) j["sweep"] = true;
  if (r.spec.workload == Workload::latency) j["interval_ns"] = r.spec.interval_ns;
  j["cpus_seen"] = {{"producer", r.producer_cpu_seen}, {"readers", r.reader_cpus_seen}};
  j["placement"] = name_of(relation(r.producer_cpu_seen, r.reader_cpus_seen.empty() ? -1 : r.reader_cpus_seen.front()));
  j["ok"] = r.error.empty();
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

Json floor_json(const FloorProbe& f, const Spec& before) {
  Json j;
  j["probe"] = "pingpong";
  j["cpus"] = {f.cpu_a, f.cpu_b};
  j["placement"] = name_of(relation(f.cpu_a, f.cpu_b));
  j["before"] = {{"transport", name_of(before.transport)},
                 {"workload", name_of(before.workload)},
                 {"readers", before.readers},
                 {"size", before.size}};
  put_latency(j, f, true);
  j["samples"] = f.samples;
  return j;
}

Json memcpy_json(int cpu, const std::vector<double>& bps) {
  Json bandwidth = Json::array();
  for (std::size_t k = 0; k < bps.size() && k < std::size(kMemcpySizes); ++k)
    bandwidth.push_back({{"size", kMemcpySizes[k]}, {"bytes_per_s", bps[k]}});
  return {{"probe", "memcpy"}, {"cpu", cpu}, {"bandwidth", bandwidth}};
}

}  // namespace

std::string bench_json(const Run& run) {
  std::vector<Json> items;
  for (const Result& r : run.results) items.push_back(result_json(r));
  if (!run.memcpy_bps.empty()) items.push_back(memcpy_json(run.memcpy_cpu, run.memcpy_bps));
  for (const auto& [f, before] : run.floors) items.push_back(floor_json(f, before));
  for (const std::string& n : run.notes) items.push_back({{"note", n}});
  for (const std::string& n : run.sweep_notes) items.push_back({{"note", n}, {"sweep", true}});
  items.push_back({{"machine", run.machine}, {"cpus_online", run.cpus_online}, {"tsc_ns_per_tick", run.tick_ns}, {"load", run.load}, {"placement", run.placement}, {"give_back", run.give_back}, {"stand_back", run.stand_back}});
  // One array, laid out one object a line so that a diff or grep shows one point at a time.
  std::string out = "[\n";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? ",\n" : "") + items[i].dump(-1, ' ', false, Json::error_handler_t::replace);
  return out + "\n]\n";
}

void print_table(std::FILE* out, const Run& run) {
  std::fprintf(out, "\n%-12s %-10s %2s %5s %10s %10s %7s %8s %7s %7s %7s %7s %8s %9s %7s %7s\n", "transport", "workload", "K", "size",
               "msg/s/rdr", "B/s/rdr", "loss%", "prod ns", "p50", "p90", "p99", "p99.9", "max", "samples", "vs mtx", "/floor");
  for (const Result& r : run.results) {
    if (r.spec.sweep) continue;
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
    std::fprintf(out, "%-12s %-10s %2d %5s %10s %10s %7s %8s %7s %7s %7s %7s %8s %9s %7s %7s%s\n", name_of(r.spec.transport),
                 name_of(r.spec.workload), r.spec.readers, size_str(r.spec.size).c_str(), human(r.msgs_per_s).c_str(),
                 human(r.bytes_per_s).c_str(), loss.c_str(), std::isnan(r.producer_cpu_ns) ? "-" : fmt("%.1f", r.producer_cpu_ns).c_str(),
                 l(r.p50).c_str(), l(r.p90).c_str(), l(r.p99).c_str(), l(r.p999).c_str(), l(r.max).c_str(),
                 r.has_latency ? human(static_cast<double>(r.samples)).c_str() : "-", vs.c_str(), fl.c_str(),
                 r.error.empty() ? "" : "  FAILED");
  }
  for (const Result& r : run.results)
    if (!r.error.empty() && !r.spec.sweep)
      std::fprintf(out, "FAILED %s %s K=%d size=%zu: %s\n", name_of(r.spec.transport), name_of(r.spec.workload), r.spec.readers,
                   r.spec.size, r.error.c_str());
  std::fprintf(out, "\nlatencies in ns; msg/s and B/s are per reader (mean over readers); prod ns = producer CPU ns per message;\n"
                    "vs mtx = throughput ratio to the mutex ring, or its p50 divided by this p50; /floor = p50 over the\n"
                    "ping-pong one-way p50 taken right before the point.\n");
  for (const std::string& n : run.notes) std::fprintf(out, "note: %s\n", n.c_str());
  if (run.memcpy_bps.size() == 3)
    std::fprintf(out, "memcpy probe (one core): 4 KiB %s B/s, 64 KiB %s B/s, 64 MiB %s B/s\n", human(run.memcpy_bps[0]).c_str(),
                 human(run.memcpy_bps[1]).c_str(), human(run.memcpy_bps[2]).c_str());
}

namespace {

// A sweep column's cell for transport t at K: "-" where the point did not run or failed.
struct SweepRow {
  const Result* tp = nullptr;  // unpaced
  const Result* lat = nullptr;  // paced
};
SweepRow sweep_row(const Run& run, Transport t, int k) {
  SweepRow row{find(run, t, Workload::throughput, k, 64, true), find(run, t, Workload::latency, k, 64, true)};
  if (row.tp && !row.tp->error.empty()) row.tp = nullptr;
  if (row.lat && !row.lat->error.empty()) row.lat = nullptr;
  return row;
}

std::vector<int> sweep_ks(const Run& run) {
  std::vector<int> ks;
  for (const Result& r : run.results)
    if (r.spec.sweep && std::find(ks.begin(), ks.end(), r.spec.readers) == ks.end()) ks.push_back(r.spec.readers);
  std::sort(ks.begin(), ks.end());
  return ks;
}

// A transport's name as a gnuplot identifier ("spsc-fanout" has a '-', which gnuplot reads
// as a minus).
std::string gnuplot_id(Transport t) {
  return t == Transport::spsc ? "spsc" : t == Transport::ring_inplace ? "ring_inplace" : name_of(t);
}

// Runs gnuplot on `gp`, which writes `png`; says which on `log`.
void run_gnuplot(const std::string& gp, const std::string& png, std::FILE* log) {
  const std::string cmd = "gnuplot '" + gp + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  if (rc != 0) std::fprintf(log, "warning: gnuplot failed (%d); the script is %s\n", rc, gp.c_str());
  else std::fprintf(log, "plot: %s\n", png.c_str());
}

std::string cpus_str(const Result* r) {
  if (r == nullptr || r->producer_cpu_seen < 0) return "-";
  std::string s = std::to_string(r->producer_cpu_seen);
  char sep = '/';
  for (int cpu : r->reader_cpus_seen) {
    s += sep;
    s += std::to_string(cpu);
    sep = ',';
  }
  return s;
}

void write_sweep_plot(const std::string& dir, const Run& run, std::FILE* log) {
  const std::string gp = dir + "/sweep.gp";
  std::ofstream f(gp);
  const std::vector<int> ks = sweep_ks(run);
  std::vector<Transport> shown;
  for (Transport t : kAllTransports) {
    std::string rows;
    for (int k : ks) {
      const SweepRow row = sweep_row(run, t, k);
      if (row.tp == nullptr) continue;
      rows += std::to_string(k) + " " + std::to_string(row.tp->producer_cpu_ns) + " " + std::to_string(row.tp->msgs_per_s) + "\n";
    }
    if (rows.empty()) continue;
    shown.push_back(t);
    f << "$sw_" << gnuplot_id(t) << " << EOD\n" << rows << "EOD\n";
  }
  f << "set terminal pngcairo size 1400,560 font 'sans,10'\nset output '" << dir << "/sweep.png'\n"
    << "set multiplot layout 1,2 title 'shmcast-bench fan-out sweep: 64 B, readers blocking, " << run.cpus_online << " CPUs online'\n"
    << "set grid\nset key top left\nset logscale x 2\nset xrange [0.9:600]\nset xtics (1,2,8,32,128,256,512)\n"
    << "set xlabel 'readers K (log scale)'\nset logscale y 10\n";
  auto plot = [&](const char* title, const char* ylabel, const char* cols) {
    f << "set title '" << title << "'\nset ylabel '" << ylabel << "'\nplot ";
    bool first = true;
    for (Transport t : shown) {
      f << (first ? "" : ", ") << "$sw_" << gnuplot_id(t) << " using " << cols
        << " with linespoints lc " << 1 + static_cast<int>(t) << " lw 2 pt 7 title '" << name_of(t) << "'";
      first = false;
    }
    if (first) f << "[1:2][1:10] NaN notitle";
    f << "\n";
  };
  plot("producer CPU per message (unpaced)", "producer CPU ns per message", "1:2");
  plot("delivered rate per reader (unpaced; readers time-share the cores)", "messages/s per reader", "1:3");
  f << "unset multiplot\n";
  f.close();
  run_gnuplot(gp, dir + "/sweep.png", log);
}

}  // namespace

void print_sweep_table(std::FILE* out, const Run& run) {
  const std::vector<int> ks = sweep_ks(run);
  if (ks.empty()) return;
  std::fprintf(out, "\nfan-out sweep, 64 B, readers blocking (prod ns, msg/s/rdr and loss unpaced; p50/p99 paced):\n");
  std::fprintf(out, "%-12s %4s %9s %6s %10s %10s %7s %9s %9s %8s %-12s\n", "transport", "K", "prod ns", "/K=1", "msg/s/rdr", "min rdr",
               "loss%", "p50", "p99", "pacedloss", "cpus p/rdrs");
  for (Transport t : kAllTransports) {
    for (int k : ks) {
      const Result* tp = find(run, t, Workload::throughput, k, 64, true);
      const Result* lat = find(run, t, Workload::latency, k, 64, true);
      if (tp == nullptr && lat == nullptr) continue;
      const bool tp_ok = tp && tp->error.empty(), lat_ok = lat && lat->error.empty();
      auto loss = [](const Result* r) {
        const double total = static_cast<double>(r->delivered + r->missed);
        return total == 0 ? std::string("-") : fmt("%.2f", 100.0 * static_cast<double>(r->missed) / total);
      };
      const bool paired = tp_ok && !std::isnan(tp->producer_cpu_ns) && tp->k1_producer_cpu_ns() > 0;
      std::fprintf(out, "%-12s %4d %9s %6s %10s %10s %7s %9s %9s %8s %-12s%s\n", name_of(t), k,
                   tp_ok && !std::isnan(tp->producer_cpu_ns) ? fmt("%.1f", tp->producer_cpu_ns).c_str() : "-",
                   paired ? fmt("%.2f", tp->producer_cpu_ns / tp->k1_producer_cpu_ns()).c_str() : "-",
                   tp_ok ? human(tp->msgs_per_s).c_str() : "-", tp_ok ? human(tp->min_msgs_per_s).c_str() : "-",
                   tp_ok ? loss(tp).c_str() : "-", lat_ok ? std::to_string(lat->p50).c_str() : "-",
                   lat_ok ? std::to_string(lat->p99).c_str() : "-", lat_ok ? loss(lat).c_str() : "-", cpus_str(tp_ok ? tp : lat).c_str(),
                   (tp && !tp_ok) || (lat && !lat_ok) ? "  FAILED" : "");
    }
  }
  for (const Result& r : run.results)
    if (!r.error.empty() && r.spec.sweep)
      std::fprintf(out, "FAILED sweep %s %s K=%d: %s\n", name_of(r.spec.transport), name_of(r.spec.workload), r.spec.readers, r.error.c_str());
  std::fprintf(out, "prod ns = producer CPU ns per message; /K=1 = its ratio to the mean of K=1 runs of the same transport right\n"
                    "before and after (run again if those two differ by over 30 %%: the host moved); min rdr = the slowest reader's\n"
                    "rate; latencies in ns, over all readers; cpus p/rdrs = the CPU the producer ended on / the CPUs its readers\n"
                    "ended on (sched_getcpu).\n");
  for (Transport t : {Transport::ring, Transport::ring_inplace}) {
    const Result* ringk = find(run, t, Workload::throughput, ks.back(), 64, true);
    if (ringk && ringk->error.empty() && ringk->k1_producer_cpu_ns() > 0)
      std::fprintf(out, "%s producer CPU/msg at K=%d over K=1 around it: %.2fx (target <= 1.5x)\n", name_of(t), ks.back(),
                   ringk->producer_cpu_ns / ringk->k1_producer_cpu_ns());
  }
  for (const std::string& n : run.sweep_notes) std::fprintf(out, "note: %s\n", n.c_str());
}

void write_plot(const std::string& dir, const Run& run, std::FILE* log) {
  const std::string gp = dir + "/bench.gp";
  std::ofstream f(gp);
  const auto& ts = kAllTransports;
  auto block = [&](const std::string& nm, auto&& rows) {
    f << "$" << nm << " << EOD\n" << rows() << "EOD\n";
  };
  std::map<std::string, bool> nonempty;
  for (Transport t : ts) {
    const std::string tn = gnuplot_id(t);
    // Rows keyed by their x value, so that lines join points in order.
    std::map<std::size_t, std::string> rows[4];
    for (const Result& r : run.results) {
      if (r.spec.transport != t || !r.error.empty() || r.spec.sweep) continue;
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
    << "set multiplot layout 2,2 title 'shmcast-bench: ring (copy, in place) vs mutex ring, spsc fan-out, iceoryx, zmq'\n"
    << "set grid\nset key top right\nset logscale y 10\n"
    << "set logscale x 2\nset xlabel 'message size (bytes)'\n"
    << "set ylabel 'messages/s per reader'\nset title 'throughput vs size (K=1)'\n";
  auto plot = [&](const std::string& prefix, const std::string& cols, bool with_p99) {
    f << "plot ";
    bool first = true;
    for (Transport t : ts) {
      const std::string tn = gnuplot_id(t);
      if (!nonempty[prefix + tn]) continue;
      if (!first) f << ", ";
      first = false;
      const int color = 1 + static_cast<int>(t);  // ring 1, ring-inplace 2, mutex 3, spsc 4, iceoryx 5, zmq 6
      f << "$" << prefix << tn << " using " << cols << " with linespoints lc " << color << " lw 2 title '" << name_of(t)
        << (with_p99 ? " p50'" : "'");
      if (with_p99)
        f << ", $" << prefix << tn << " using 1:3 with linespoints lc " << color << " dashtype 2 title '" << name_of(t) << " p99'";
    }
    // A workload the run did not measure: an empty panel (without ranges, gnuplot stops
    // at "all points y value undefined" and draws nothing at all).
    if (first) f << "[1:2][1:10] NaN notitle";
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
  run_gnuplot(gp, dir + "/bench.png", log);
  if (std::any_of(run.results.begin(), run.results.end(), [](const Result& r) { return r.spec.sweep; })) write_sweep_plot(dir, run, log);
}

}  // namespace shmcast::bench
