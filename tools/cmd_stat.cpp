// shmcast stat NAME: a ring's geometry, head, publish rate, producer, snapshot, relay
// status and registered readers (lag, delivered, gaps, missed), read from shared memory.
//
// One RingObserver maps the ring once per run: it reclaims dead readers' entries,
// samples, and (for the rate) samples again 0.2 s later. --watch keeps the observer from
// tick to tick and maps the ring afresh only when the name holds another ring.
#include "commands.hpp"
#include "common/status_render.hpp"
#include "common/stop.hpp"

#include <shmcast/inspect.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <unistd.h>

namespace shmcast::cli {

namespace {

using namespace std::chrono_literals;

constexpr auto kRateInterval = 200ms;  // a one-shot stat measures the rate over this

struct StatArgs {
  std::string name;
  bool json = false;
  std::optional<double> watch;
  bool no_reap = false;
};

// Reclaims dead readers' entries (unless --no-reap), then samples.
RingStatus sample(const StatArgs& a, RingObserver& observer) {
  if (!a.no_reap) observer.reap_dead();
  return observer.sample();
}

void print(const StatArgs& a, const RingStatus& st) {
  const std::string text = a.json ? stat_json(st) + "\n" : stat_text(st);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Sleeps up to `d`; false if a stop was requested meanwhile.
bool pause_for(std::chrono::duration<double> d) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
  while (!stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, 50ms));
  }
  return false;
}

void run_once(const StatArgs& a) {
  RingObserver observer(a.name);
  RingStatus st = sample(a, observer);
  if (st.producer_alive) {
    std::this_thread::sleep_for(kRateInterval);
    st = observer.sample();
  } else {
    st.rate_known = true;  // nobody can publish: the rate is 0
  }
  print(a, st);
}

void run_watch(const StatArgs& a) {
  install_stop_handlers();
  const bool clear = !a.json && ::isatty(STDOUT_FILENO) != 0;
  RingObserver observer(a.name);
  for (bool first = true; !stop_requested(); first = false) {
    if (!first) {
      if (!pause_for(std::chrono::duration<double>(*a.watch))) break;
      if (observer.replaced()) observer = RingObserver(a.name);  // removed or recreated: map the new one
    }
    const RingStatus st = sample(a, observer);
    if (clear) std::fputs("\033[H\033[2J", stdout);
    print(a, st);
  }
}

void run_stat(const StatArgs& a) {
  if (a.watch && !(*a.watch > 0)) throw CLI::ValidationError("--watch must be a positive number of seconds");
  if (a.watch) run_watch(a);
  else run_once(a);
}

}  // namespace

void add_stat_command(CLI::App& app) {
  auto args = std::make_shared<StatArgs>();
  CLI::App* sub = app.add_subcommand("stat", "Show a ring's state and its readers' lag and losses");
  sub->footer(
      "Shows geometry, head, publish rate (measured over 0.2 s), producer pid and liveness, snapshot age and "
      "size, relay state, and its registered readers with position, lag, delivered, gaps and missed. Entries of "
      "dead readers are reclaimed first (unless --no-reap).");
  sub->add_option("name", args->name, "Ring name")->required();
  sub->add_flag("--json", args->json,
                "One JSON object: name, slots, slot_size, payload_capacity, head, published, rate, producer "
                "{pid, alive}, snapshot, relay, readers [{id, pid, alive, label, position, lag, delivered, gaps, "
                "missed, ...}]");
  sub->add_option("--watch", args->watch, "Refresh every SECONDS until interrupted (with --json: one object per line)");
  sub->add_flag("--no-reap", args->no_reap, "Show dead readers' entries instead of reclaiming them");
  sub->callback([args] { run_stat(*args); });
}

}  // namespace shmcast::cli
