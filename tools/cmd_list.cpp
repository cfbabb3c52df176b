// shmcast list: every ring on this machine with its geometry, head and producer state.
#include "commands.hpp"
#include "common/format.hpp"
#include "common/status.hpp"

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
  std::optional<RingSample> sample;
  std::string error;
};

void run_list(const ListArgs& a) {
  std::vector<Entry> entries;
  bool any_alive = false;
  for (const std::string& name : list_rings()) {
    Entry e{name, std::nullopt, {}};
    try {
      e.sample = sample(name);
      any_alive = any_alive || e.sample->status.producer_alive;
    } catch (const Error& err) {
      e.error = err.what();
    }
    entries.push_back(std::move(e));
  }
  if (any_alive) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // to measure rates
  for (Entry& e : entries) {
    if (!e.sample) continue;
    if (!e.sample->status.producer_alive) {
      e.sample->rate_known = true;
      continue;
    }
    try {
      RingSample now = sample(e.name);
      rate_since(now, *e.sample);
      e.sample = now;
    } catch (const Error& err) {
      e.sample.reset();
      e.error = err.what();
    }
  }

  std::string out;
  if (a.json) {
    out = "[";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i != 0) out += ',';
      JsonObject o;
      if (entries[i].sample) ring_json_fields(o, *entries[i].sample);
      else o.field("name", entries[i].name).field("error", one_line(entries[i].error));
      out += o.str();
    }
    out += "]\n";
  } else {
    Table t({"NAME", "SLOTS", "SLOT_SIZE", "PAYLOAD", "SNAPSHOT", "HEAD", "PUBLISHED", "RATE", "PRODUCER", "READERS"});
    std::vector<std::string> errors;
    for (const Entry& e : entries) {
      if (!e.sample) {
        errors.push_back("  " + e.name + ": " + one_line(e.error));
        continue;
      }
      const RingStatus& st = e.sample->status;
      const std::string producer = st.producer_pid == 0 ? "none"
                                   : st.producer_alive  ? std::to_string(st.producer_pid)
                                                        : "gone (" + std::to_string(st.producer_pid) + ")";
      t.add({st.name, std::to_string(st.geometry.slot_count), std::to_string(st.geometry.slot_size),
             std::to_string(st.geometry.payload_capacity()),
             st.geometry.snapshot_capacity != 0 ? human_bytes(st.geometry.snapshot_capacity) : "-",
             std::to_string(st.head), std::to_string(st.published), human_rate(e.sample->rate, "msg"), producer,
             std::to_string(live_readers(st))});
    }
    out = entries.empty() ? std::string("no shmcast rings in /dev/shm; create one with `shmcast create NAME`\n") : t.render();
    if (!errors.empty()) {
      out += "unreadable:\n";
      for (const std::string& line : errors) out += line + "\n";
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto args = std::make_shared<ListArgs>();
  CLI::App* sub = app.add_subcommand("list", "List every ring on this machine (/dev/shm/shmcast.*) with its geometry, "
                                             "head, publish rate and producer state");
  sub->add_flag("--json", args->json,
                "A JSON list of objects with the top-level fields of `stat --json` (no readers); a ring that cannot "
                "be read is {\"name\":...,\"error\":...}");
  sub->callback([args] { run_list(*args); });
}

}  // namespace shmcast::cli
