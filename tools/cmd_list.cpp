// shmcast list: every ring on this machine with its geometry, head and producer state.
// One RingObserver per ring: sampled, and sampled again 0.2 s later for the rate of the
// rings that have a live producer.
#include "commands.hpp"
#include "common/advice.hpp"
#include "common/format.hpp"
#include "common/status_render.hpp"

#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

namespace shmcast::cli {

namespace {

struct ListArgs {
  bool json = false;
};

struct Entry {
  std::string name;
  std::optional<RingObserver> observer;
  std::optional<RingStatus> status;  // absent: `error` says why
  std::string error;
};

// Samples the entry's ring; on failure the entry keeps the error line instead.
void sample(Entry& e) {
  try {
    if (!e.observer) e.observer.emplace(e.name);
    e.status = e.observer->sample();
  } catch (const Error& err) {
    e.status.reset();
    e.error = error_line(err, "list");
  }
}

std::vector<Entry> sample_all() {
  std::vector<Entry> entries;
  bool any_alive = false;
  for (const std::string& name : list_rings()) {
    Entry& e = entries.emplace_back(Entry{name, std::nullopt, std::nullopt, {}});
    sample(e);
    any_alive = any_alive || (e.status && e.status->producer_alive);
  }
  if (any_alive) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // to measure rates
  for (Entry& e : entries) {
    if (!e.status) continue;
    if (e.status->producer_alive) sample(e);
    else e.status->rate_known = true;  // nobody can publish: the rate is 0
  }
  return entries;
}

std::string render_json(const std::vector<Entry>& entries) {
  Json list = Json::array();
  for (const Entry& e : entries)
    list.push_back(e.status ? ring_json(*e.status) : Json{{"name", e.name}, {"error", e.error}});
  return dump(list) + "\n";
}

std::string render_text(const std::vector<Entry>& entries) {
  if (entries.empty()) return "no shmcast rings in /dev/shm; create one with `shmcast create NAME`\n";
  Table t({"NAME", "RING", "MAX_MESSAGE", "SNAPSHOT", "HEAD", "OLDEST", "HELD", "HELD_BYTES", "PUBLISHED", "RATE",
           "PRODUCER", "READERS"});
  std::vector<std::string> errors;
  for (const Entry& e : entries) {
    if (!e.status) {
      errors.push_back("  " + printable(e.name) + ": " + printable(e.error));
      continue;
    }
    const RingStatus& st = *e.status;
    const std::string producer = no_producer_yet(st) ? "none yet"
                                 : st.producer_alive  ? "live (pid " + std::to_string(st.producer_pid) + ")"
                                                      : "gone (was pid " + std::to_string(st.producer_pid) + ")";
    t.add({printable(st.name), human_bytes(st.geometry.ring_bytes), std::to_string(st.geometry.message_limit()),
           st.geometry.snapshot_capacity != 0 ? human_bytes(st.geometry.snapshot_capacity) : "-",
           std::to_string(st.head), std::to_string(st.oldest), std::to_string(st.held), human_bytes(st.held_bytes),
           std::to_string(st.published), human_rate(st.rate, "msg"), producer, std::to_string(st.live_readers)});
  }
  std::string out = t.render();
  if (!errors.empty()) {
    out += "unreadable:\n";
    for (const std::string& line : errors) out += line + "\n";
  }
  return out;
}

void run_list(const ListArgs& a) {
  const std::vector<Entry> entries = sample_all();
  const std::string out = a.json ? render_json(entries) : render_text(entries);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto args = std::make_shared<ListArgs>();
  CLI::App* sub = app.add_subcommand("list", "List every ring on this machine (/dev/shm/shmcast.*) with its geometry, "
                                             "head, publish rate and producer state");
  sub->footer(
      "RING is the ring's size, MAX_MESSAGE the largest message it takes (bytes), OLDEST the oldest sequence it "
      "still holds, HELD how many sequences it holds (HEAD - OLDEST) and HELD_BYTES the room their records take. "
      "PRODUCER is `live (pid N)` while the ring's producer runs, `gone (was pid N)` after it ended, `none yet` "
      "before the first one.");
  sub->add_flag("--json", args->json,
                "A JSON list of objects with the top-level fields of `stat --json` (no readers; ring_id a string); a "
                "ring that cannot be read is {\"name\":...,\"error\":...}");
  sub->callback([args] { run_list(*args); });
}

}  // namespace shmcast::cli
