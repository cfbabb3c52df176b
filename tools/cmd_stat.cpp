// shmcast stat NAME: a ring's geometry, head, publish rate, producer, snapshot, relay
// status and registered readers (lag, delivered, gaps, missed), read from shared memory.
//
// One RingObserver maps the ring once per run: it reclaims dead readers' entries,
// samples, and (for the rate) samples again 0.2 s later. --watch keeps the observer from
// tick to tick and maps the ring afresh only when the name holds another ring.
#include "commands.hpp"
#include "common/advice.hpp"
#include "common/format.hpp"
#include "common/output.hpp"
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
  std::optional<std::string> watch_text;
  std::optional<double> watch;  // seconds, from watch_text
  bool no_reap = false;
};

// Reclaims dead readers' entries (unless --no-reap), then samples.
RingStatus sample(const StatArgs& a, RingObserver& observer) {
  if (!a.no_reap) observer.reap_dead();
  return observer.sample();
}

void print(const StatArgs& a, const RingStatus& st) {
  write_stdout(a.json ? stat_json(st) + "\n" : stat_text(st));
}

// Sleeps up to `d`; false if a stop was requested meanwhile.
bool pause_for(std::chrono::duration<double> d) {
  return sleep_until_unless_stopped(std::chrono::steady_clock::now() +
                                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(d));
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

// What --watch shows while the name holds no readable ring: the ring is gone (removed,
// or being replaced) and the watch goes on until it is back, as `tail` reattaches.
void print_gone(const StatArgs& a, const Error& e) {
  std::string text;
  if (a.json) {
    text = dump(Json{{"name", a.name}, {"gone", true}, {"error", error_line(e, "stat")}}) + "\n";
  } else {
    text = "ring " + printable(a.name) + "  (gone: " + printable(error_line(e, "stat")) +
           ")\n  waiting for a ring of that name; still watching\n";
  }
  write_stdout(text);
}

void run_watch(const StatArgs& a) {
  install_stop_handlers();
  const bool clear = !a.json && ::isatty(STDOUT_FILENO) != 0;
  std::optional<RingObserver> observer(std::in_place, a.name);  // the first one must open: else exit 1
  for (bool first = true; !stop_requested(); first = false) {
    if (!first) {
      if (!pause_for(std::chrono::duration<double>(*a.watch))) break;
      if (observer && observer->replaced()) observer.reset();  // removed or recreated: map the new one
    }
    std::optional<RingStatus> st;
    try {
      if (!observer) observer.emplace(a.name);
      st = sample(a, *observer);
    } catch (const Error& e) {
      observer.reset();
      if (clear) std::fputs("\033[H\033[2J", stdout);
      print_gone(a, e);
      continue;
    }
    if (clear) std::fputs("\033[H\033[2J", stdout);
    print(a, *st);
  }
}

void run_stat(StatArgs a) {
  if (a.watch_text) a.watch = parse_positive("--watch", *a.watch_text, 86400, "seconds");
  if (a.watch) run_watch(a);
  else run_once(a);
}

}  // namespace

void add_stat_command(CLI::App& app) {
  auto args = std::make_shared<StatArgs>();
  CLI::App* sub = app.add_subcommand("stat", "Show a ring's state and its readers' lag and losses");
  sub->footer(
      "Shows geometry (ring size, largest message), head, what the ring holds (the oldest sequence, how many "
      "sequences and their bytes), publish rate (measured over 0.2 s), producer pid and liveness, snapshot age and "
      "size, relay state, and its registered readers with position, lag, delivered, gaps and missed. Entries of "
      "dead readers are reclaimed first (unless --no-reap).");
  sub->add_option("name", args->name, "Ring name")->required();
  sub->add_flag("--json", args->json,
                "One JSON object: name, ring_bytes, max_message, head, oldest, held, held_bytes, published, rate, producer "
                "{pid, alive}, snapshot, relay, readers [{id, pid, alive, label, position, lag, delivered, gaps, "
                "missed, ...}]. ring_id is a string (16 hex digits, as `stat` prints it); other numbers are "
                "integers, exact in 64 bits: the *_ns times (nanoseconds since the epoch) exceed 2^53, so parsers "
                "that read numbers as doubles (jq before 1.7, JavaScript) round them to about 256 ns");
  sub->add_option("--watch", args->watch_text,
                  "Refresh every SECONDS (greater than 0, at most 86400) until interrupted (with --json: one object "
                  "per line). While the name holds no ring (removed, being replaced) it says so and goes on "
                  "watching: with --json {\"name\":...,\"gone\":true,\"error\":...}")
      ->type_name("SECONDS");
  sub->add_flag("--no-reap", args->no_reap, "Show dead readers' entries instead of reclaiming them");
  sub->callback([args] { run_stat(*args); });
}

}  // namespace shmcast::cli
