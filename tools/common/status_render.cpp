#include "common/status_render.hpp"

#include "common/format.hpp"

#include <shmcast/clock.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace shmcast::cli {

namespace {

// Rates to the thousandth, as they always were printed.
double milli_rounded(double v) { return std::round(v * 1000.0) / 1000.0; }

Json reader_json(const ReaderStatus& r) {
  Json o{{"id", r.id},
         {"pid", r.pid},
         {"alive", r.alive},
         {"waiting", r.waiting},
         {"state", to_string(r.state)},
         {"label", r.label},
         {"start", r.start},
         {"position", r.position},
         {"lag", r.lag},
         {"delivered", r.delivered},
         {"gaps", r.gaps},
         {"missed", r.missed},
         {"snapshots", r.snapshots},
         {"attached_ns", r.attached_ns},
         {"last_active_ns", r.last_active_ns}};
  if (r.external_position != 0) o["external_position"] = r.external_position;
  if (!r.counters_settled) o["counters_settled"] = false;  // they may mix two moments
  return o;
}

// "sequences 40-99 (60), 3.8 KiB of the ring (0.4%)": what the ring holds now. `held` is
// head - oldest, a run skipped by a relay counted whole; held_bytes the records' room.
std::string held_text(const RingStatus& st) {
  if (st.held == 0) return "nothing (oldest = head = " + std::to_string(st.head) + ")";
  const std::uint64_t last = st.oldest + st.held - 1;
  const std::string seqs = st.held == 1 ? "sequence " + std::to_string(st.oldest)
                                        : "sequences " + std::to_string(st.oldest) + "-" + std::to_string(last) + " (" +
                                              std::to_string(st.held) + ")";
  char share[32] = "";
  if (st.geometry.ring_bytes != 0)
    std::snprintf(share, sizeof share, " (%.1f%%)",
                  100.0 * static_cast<double>(st.held_bytes) / static_cast<double>(st.geometry.ring_bytes));
  return seqs + ", " + human_bytes(st.held_bytes) + " of the ring" + share;
}

}  // namespace

bool no_producer_yet(const RingStatus& st) noexcept {
  return st.producer_pid == 0 ||
         (!st.producer_alive && st.head == 0 && st.published == 0 && st.snapshots_published == 0);
}

Json ring_json(const RingStatus& st) {
  const Geometry& g = st.geometry;
  const std::uint64_t now = now_ns();
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", st.mode);
  Json o{{"name", st.name},
         {"ring_id", ring_id_text(st.ring_id)},
         {"ring_bytes", g.ring_bytes},
         {"max_message", g.message_limit()},
         {"snapshot_capacity", g.snapshot_capacity},
         {"object_size", st.object_size},
         {"mode", mode},
         {"created_ns", st.creation_time_ns},
         {"head", st.head},
         {"oldest", st.oldest},
         {"held", st.held},
         {"held_bytes", st.held_bytes},
         {"first_seq", st.first_seq},
         {"published", st.published},
         {"published_bytes", st.published_bytes},
         {"skipped", st.skipped},
         {"last_publish_ns", st.last_publish_ns},
         {"rate", milli_rounded(st.rate)},
         {"byte_rate", milli_rounded(st.byte_rate)},
         {"producer", {{"pid", st.producer_pid}, {"alive", st.producer_alive}, {"takeovers", st.takeovers}}}};
  if (g.snapshot_capacity != 0)
    o["snapshot"] = {{"published", st.snapshots_published},
                     {"as_of", st.snapshot_as_of},
                     {"len", st.snapshot_length},
                     {"published_ns", st.snapshot_published_ns},
                     {"age_ns", st.snapshot_published_ns != 0 && now > st.snapshot_published_ns
                                    ? now - st.snapshot_published_ns
                                    : 0}};
  if (st.relay)
    o["relay"] = {{"source_position", st.source_position},
                  {"source_head", st.source_head},
                  {"source_gaps", st.source_gaps},
                  {"source_missed", st.source_missed}};
  o["waiters"] = st.waiters;
  o["live_readers"] = st.live_readers;
  if (st.max_readers != 0) o["max_readers"] = st.max_readers;
  if (!st.registry_error.empty()) o["registry_error"] = st.registry_error;
  return o;
}

std::string stat_json(const RingStatus& st) {
  Json o = ring_json(st);
  Json& readers = o["readers"] = Json::array();
  for (const ReaderStatus& r : st.readers) readers.push_back(reader_json(r));
  return dump(o);
}

std::string stat_text(const RingStatus& st) {
  const Geometry& g = st.geometry;
  const std::uint64_t now = now_ns();
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "ring %s  (id %s, mode %04o, created %s)\n", printable(st.name).c_str(),
                ring_id_text(st.ring_id).c_str(), st.mode, human_age(st.creation_time_ns, now).c_str());
  out += line;
  out += "  geometry   " + human_bytes(g.ring_bytes) + " ring, messages up to " + std::to_string(g.message_limit()) +
         " B, " + human_bytes(st.object_size) + " in /dev/shm\n";
  std::snprintf(line, sizeof line, "  head       %llu   published %s, %s", static_cast<unsigned long long>(st.head),
                count_of(st.published, "message").c_str(), human_bytes(st.published_bytes).c_str());
  out += line;
  if (st.skipped != 0) out += ", " + count_of(st.skipped, "sequence") + " skipped";
  out += '\n';
  out += "  held       " + held_text(st) + "\n";
  out += "  rate       " + (st.rate_known ? human_rate(st.rate, "msg") + ", " + human_rate(st.byte_rate, "B") : std::string("-")) +
         "   last publish " + human_age(st.last_publish_ns, now) + "\n";
  if (no_producer_yet(st)) {
    out += "  producer   none yet\n";
  } else {
    out += st.producer_alive ? "  producer   pid " + std::to_string(st.producer_pid) + ", alive"
                             : "  producer   gone (last pid " + std::to_string(st.producer_pid) + ")";
    out += st.takeovers != 0 ? ", " + count_of(st.takeovers, "takeover") + "\n" : "\n";
  }
  if (g.snapshot_capacity != 0) {
    if (st.snapshots_published == 0)
      out += "  snapshot   none yet (area " + human_bytes(g.snapshot_capacity) + ")\n";
    else
      out += "  snapshot   as of " + std::to_string(st.snapshot_as_of) + ", " + human_bytes(st.snapshot_length) +
             " of " + human_bytes(g.snapshot_capacity) + ", " + human_age(st.snapshot_published_ns, now) + " (" +
             count_of(st.snapshots_published, "snapshot") + " published)\n";
  }
  if (st.relay)
    out += "  relay      source position " + std::to_string(st.source_position) + ", source head " +
           std::to_string(st.source_head) + ", " + count_of(st.source_gaps, "gap") + " (" +
           std::to_string(st.source_missed) + " missed) in the source\n";
  if (!st.registry_error.empty()) {
    out += "  readers    unknown: " + printable(one_line(st.registry_error)) + "\n";
    return out;
  }
  out += "  readers    " + std::to_string(st.live_readers) + " live";
  if (st.max_readers != 0) out += " (room for " + std::to_string(st.max_readers) + ")";
  if (st.waiters != 0) out += ", " + std::to_string(st.waiters) + " blocked waiting";  // "N live, M blocked waiting"
  out += '\n';
  if (st.readers.empty()) return out;
  // A relay reader (bridge out) also shows its far-side position: the last stream sequence acknowledged.
  const bool relays = std::any_of(st.readers.begin(), st.readers.end(),
                                  [](const ReaderStatus& r) { return r.external_position != 0; });
  std::vector<std::string> columns{"ID", "PID", "STATE", "LABEL", "START", "POSITION", "LAG", "DELIVERED", "GAPS", "MISSED", "ACTIVE"};
  if (relays) columns.push_back("FAR POSITION");
  Table t(columns);
  for (const ReaderStatus& r : st.readers) {
    std::vector<std::string> row{std::to_string(r.id), std::to_string(r.pid), to_string(r.state),
                                 r.label.empty() ? "-" : printable(r.label), std::to_string(r.start),
                                 std::to_string(r.position), std::to_string(r.lag),
                                 std::to_string(r.delivered), std::to_string(r.gaps), std::to_string(r.missed),
                                 human_age(r.last_active_ns, now)};
    if (relays) row.push_back(r.external_position != 0 ? std::to_string(r.external_position) : "-");
    t.add(row);
  }
  out += t.render("  ");
  for (const ReaderStatus& r : st.readers)
    if (!r.counters_settled)
      out += "  reader " + std::to_string(r.id) +
             ": its counters were being written all the while they were read (its owner stalled or died "
             "mid-update); they may mix two moments\n";
  return out;
}

}  // namespace shmcast::cli
