// Shared by `stat`, `list` and `metrics`: a ring's inspected status with its publish
// rate, rendered as JSON (the machine contract) or as text for people.
#pragma once

#include <algorithm>

#include "format.hpp"
#include "json.hpp"

#include <shmcast/clock.hpp>
#include <shmcast/inspect.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace shmcast::cli {

struct RingSample {
  RingStatus status;
  double rate = 0;       // messages/s between two samples
  double byte_rate = 0;  // bytes/s
  bool rate_known = false;
  std::chrono::steady_clock::time_point taken;
};

inline RingSample sample(std::string_view name) {
  RingSample s;
  s.taken = std::chrono::steady_clock::now();
  s.status = inspect(name);
  return s;
}

// Sets `now`'s rate from an earlier sample of the same ring (not across a recreation).
inline void rate_since(RingSample& now, const RingSample& before) {
  const double seconds = std::chrono::duration<double>(now.taken - before.taken).count();
  if (seconds <= 0 || now.status.ring_id != before.status.ring_id) return;
  now.rate = static_cast<double>(now.status.published - before.status.published) / seconds;
  now.byte_rate = static_cast<double>(now.status.published_bytes - before.status.published_bytes) / seconds;
  now.rate_known = true;
}

inline std::size_t live_readers(const RingStatus& st) {
  std::size_t n = 0;
  for (const ReaderStatus& r : st.readers) n += r.alive ? 1 : 0;
  return n;
}

// The top-level fields of `stat --json` (also each element of `list --json`).
inline void ring_json_fields(JsonObject& o, const RingSample& s) {
  const RingStatus& st = s.status;
  const std::uint64_t now = now_ns();
  o.field("name", st.name)
      .field("ring_id", st.ring_id)
      .field("slots", st.geometry.slot_count)
      .field("slot_size", st.geometry.slot_size)
      .field("payload_capacity", st.geometry.payload_capacity())
      .field("snapshot_capacity", st.geometry.snapshot_capacity)
      .field("object_size", st.object_size);
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", st.mode);
  o.field("mode", mode)
      .field("created_ns", st.creation_time_ns)
      .field("head", st.head)
      .field("first_seq", st.first_seq)
      .field("published", st.published)
      .field("published_bytes", st.published_bytes)
      .field("skipped", st.skipped)
      .field("last_publish_ns", st.last_publish_ns)
      .field("rate", s.rate)
      .field("byte_rate", s.byte_rate);
  JsonObject producer;
  producer.field("pid", st.producer_pid).field("alive", st.producer_alive).field("takeovers", st.takeovers);
  o.raw("producer", producer.str());
  if (st.geometry.snapshot_capacity != 0) {
    JsonObject snap;
    snap.field("published", st.snapshots_published)
        .field("as_of", st.snapshot_as_of)
        .field("len", st.snapshot_length)
        .field("published_ns", st.snapshot_published_ns)
        .field("age_ns", st.snapshot_published_ns != 0 && now > st.snapshot_published_ns ? now - st.snapshot_published_ns : 0);
    o.raw("snapshot", snap.str());
  }
  if (st.source_position != 0 || st.source_head != 0 || st.source_gaps != 0 || st.source_missed != 0) {
    JsonObject relay;
    relay.field("source_position", st.source_position)
        .field("source_head", st.source_head)
        .field("source_gaps", st.source_gaps)
        .field("source_missed", st.source_missed);
    o.raw("relay", relay.str());
  }
  o.field("waiters", st.waiters).field("live_readers", static_cast<std::uint64_t>(live_readers(st)));
  if (!st.registry_error.empty()) o.field("registry_error", st.registry_error);
}

inline std::string reader_json(const ReaderStatus& r) {
  JsonObject o;
  o.field("id", r.id)
      .field("pid", r.pid)
      .field("alive", r.alive)
      .field("waiting", r.waiting)
      .field("label", r.label)
      .field("position", r.position)
      .field("lag", r.lag)
      .field("delivered", r.delivered)
      .field("gaps", r.gaps)
      .field("missed", r.missed)
      .field("snapshots", r.snapshots)
      .field("attached_ns", r.attached_ns)
      .field("last_active_ns", r.last_active_ns);
  if (r.external_position != 0) o.field("external_position", r.external_position);
  return o.str();
}

inline std::string stat_json(const RingSample& s) {
  JsonObject o;
  ring_json_fields(o, s);
  std::string readers = "[";
  for (std::size_t i = 0; i < s.status.readers.size(); ++i) {
    if (i != 0) readers += ',';
    readers += reader_json(s.status.readers[i]);
  }
  readers += ']';
  o.raw("readers", readers);
  return o.str();
}

inline std::string stat_text(const RingSample& s) {
  const RingStatus& st = s.status;
  const Geometry& g = st.geometry;
  const std::uint64_t now = now_ns();
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "ring %s  (id %016llx, mode %04o, created %s)\n", st.name.c_str(),
                static_cast<unsigned long long>(st.ring_id), st.mode, human_age(st.creation_time_ns, now).c_str());
  out += line;
  std::snprintf(line, sizeof line, "  geometry   %llu slots x %u B (payload %u B), %s in /dev/shm\n",
                static_cast<unsigned long long>(g.slot_count), g.slot_size, g.payload_capacity(),
                human_bytes(st.object_size).c_str());
  out += line;
  std::snprintf(line, sizeof line, "  head       %llu   published %llu messages, %s", static_cast<unsigned long long>(st.head),
                static_cast<unsigned long long>(st.published), human_bytes(st.published_bytes).c_str());
  out += line;
  if (st.skipped != 0) out += ", " + std::to_string(st.skipped) + " sequences skipped";
  out += '\n';
  out += "  rate       " + (s.rate_known ? human_rate(s.rate, "msg") + ", " + human_rate(s.byte_rate, "B") : std::string("-")) +
         "   last publish " + human_age(st.last_publish_ns, now) + "\n";
  if (st.producer_pid == 0) out += "  producer   none yet\n";
  else if (st.producer_alive) out += "  producer   pid " + std::to_string(st.producer_pid) + ", alive";
  else out += "  producer   gone (last pid " + std::to_string(st.producer_pid) + ")";
  if (st.producer_pid != 0) out += st.takeovers != 0 ? ", " + std::to_string(st.takeovers) + " takeovers\n" : "\n";
  if (g.snapshot_capacity != 0) {
    if (st.snapshots_published == 0)
      out += "  snapshot   none yet (area " + human_bytes(g.snapshot_capacity) + ")\n";
    else
      out += "  snapshot   as of " + std::to_string(st.snapshot_as_of) + ", " + human_bytes(st.snapshot_length) +
             " of " + human_bytes(g.snapshot_capacity) + ", " + human_age(st.snapshot_published_ns, now) + " (" +
             std::to_string(st.snapshots_published) + " published)\n";
  }
  if (st.source_position != 0 || st.source_head != 0 || st.source_gaps != 0 || st.source_missed != 0)
    out += "  relay      source position " + std::to_string(st.source_position) + ", source head " +
           std::to_string(st.source_head) + ", " + std::to_string(st.source_gaps) + " gaps (" +
           std::to_string(st.source_missed) + " missed) in the source\n";
  if (!st.registry_error.empty()) {
    out += "  readers    unknown: " + one_line(st.registry_error) + "\n";
    return out;
  }
  out += "  readers    " + std::to_string(live_readers(st)) + " live";
  if (st.waiters != 0) out += ", " + std::to_string(st.waiters) + " blocked waiting";
  out += '\n';
  if (st.readers.empty()) return out;
  // A relay reader (bridge out) also shows its far-side position: the last stream sequence acknowledged.
  const bool relays = std::any_of(st.readers.begin(), st.readers.end(),
                                  [](const ReaderStatus& r) { return r.external_position != 0; });
  std::vector<std::string> columns{"ID", "PID", "ALIVE", "LABEL", "POSITION", "LAG", "DELIVERED", "GAPS", "MISSED", "ACTIVE"};
  if (relays) columns.push_back("FAR POSITION");
  Table t(columns);
  for (const ReaderStatus& r : st.readers) {
    std::vector<std::string> row{std::to_string(r.id), std::to_string(r.pid), r.alive ? (r.waiting ? "waiting" : "yes") : "DEAD",
                                 r.label.empty() ? "-" : r.label, std::to_string(r.position), std::to_string(r.lag),
                                 std::to_string(r.delivered), std::to_string(r.gaps), std::to_string(r.missed),
                                 human_age(r.last_active_ns, now)};
    if (relays) row.push_back(r.external_position != 0 ? std::to_string(r.external_position) : "-");
    t.add(row);
  }
  out += t.render("  ");
  return out;
}

}  // namespace shmcast::cli
