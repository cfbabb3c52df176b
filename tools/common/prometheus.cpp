#include "common/prometheus.hpp"
#include "common/status_render.hpp"
#include "common/utf8.hpp"

#include <shmcast/clock.hpp>

#include <cmath>
#include <cstdio>

namespace shmcast::cli {

namespace {

constexpr const char* kUpHelp = "1 if the ring could be read, 0 if not.";

double seconds(std::uint64_t ns) { return static_cast<double>(ns) / 1e9; }

std::string ring_label(std::string_view name) { return "ring=\"" + escape_label(name) + "\""; }

}  // namespace

std::string escape_label(std::string_view v) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size();) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x80) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else if (c < 0x20 || c == 0x7F) out += kReplacement;  // would reach a terminal that prints the metrics
      else out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(v, i);
    if (n == 0 || utf8_control_or_format_at(v, i, n)) {
      out += kReplacement;  // not valid UTF-8 (Prometheus rejects it), a C1 control or an invisible format character
      i += n == 0 ? 1 : n;
    } else {
      out.append(v.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void Exposition::add(const char* name, const char* type, const char* help, const std::string& labels, double value) {
  sample(name, type, help, labels, format_value(value));
}

void Exposition::add(const char* name, const char* type, const char* help, const std::string& labels,
                     std::uint64_t value) {
  sample(name, type, help, labels, std::to_string(value));
}

std::string Exposition::str() const {
  std::string out;
  for (const Family& f : families_)
    out += "# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n" + f.samples;
  return out;
}

void Exposition::sample(const char* name, const char* type, const char* help, const std::string& labels,
                        const std::string& value) {
  Family* f = nullptr;
  for (Family& x : families_)
    if (x.name == name) f = &x;
  if (f == nullptr) {
    families_.push_back(Family{name, type, help, {}});
    f = &families_.back();
  }
  f->samples += std::string(name) + "{" + labels + "} " + value + "\n";
}

void add_ring(Exposition& m, const RingStatus& st) {
  const std::string ring = ring_label(st.name);
  const Geometry& g = st.geometry;
  m.add("shmcast_up", "gauge", kUpHelp, ring, std::uint64_t{1});
  m.add("shmcast_ring_bytes", "gauge", "Bytes of the ring that holds the messages.", ring, g.ring_bytes);
  m.add("shmcast_max_message_bytes", "gauge", "Largest message payload the ring accepts, in bytes.", ring,
        std::uint64_t{g.message_limit()});
  m.add("shmcast_head", "gauge", "Sequence number the next message will get.", ring, st.head);
  m.add("shmcast_oldest_sequence", "gauge", "Oldest sequence the ring still holds (the head if none).", ring, st.oldest);
  m.add("shmcast_held_sequences", "gauge", "Sequences the ring holds: head - oldest.", ring, st.held);
  m.add("shmcast_held_bytes", "gauge", "Bytes of the ring the held records take, padding included.", ring, st.held_bytes);
  m.add("shmcast_published_messages_total", "counter", "Messages published into the ring.", ring, st.published);
  m.add("shmcast_published_bytes_total", "counter", "Payload bytes published into the ring.", ring, st.published_bytes);
  m.add("shmcast_skipped_sequences_total", "counter", "Sequences skipped by a relay publishing at explicit sequences.", ring, st.skipped);
  m.add("shmcast_last_publish_timestamp_seconds", "gauge", "Unix time of the last publish (0: never).", ring, seconds(st.last_publish_ns));
  m.add("shmcast_producer_alive", "gauge", "1 if a producer holds the ring's producer lock.", ring, std::uint64_t{st.producer_alive ? 1u : 0u});
  m.add("shmcast_producer_pid", "gauge", "Process id of the current or last producer (0: none yet).", ring,
        std::uint64_t{no_producer_yet(st) ? 0u : st.producer_pid});
  m.add("shmcast_producer_takeovers_total", "counter", "Producers that took the ring over from a predecessor.", ring, std::uint64_t{st.takeovers});
  m.add("shmcast_readers", "gauge", "Live registered readers.", ring, std::uint64_t{st.live_readers});
  m.add("shmcast_blocked_readers", "gauge", "Registered readers blocked waiting for a message.", ring, std::uint64_t{st.waiters});
  if (st.max_readers != 0)
    m.add("shmcast_reader_capacity", "gauge", "Registered readers the ring's registry holds at once (create --max-readers).", ring,
          std::uint64_t{st.max_readers});
  if (g.snapshot_capacity != 0) {
    const std::uint64_t now = now_ns();
    m.add("shmcast_snapshot_capacity_bytes", "gauge", "Bytes per snapshot buffer.", ring, g.snapshot_capacity);
    m.add("shmcast_snapshots_published_total", "counter", "Snapshots published.", ring, st.snapshots_published);
    m.add("shmcast_snapshot_as_of", "gauge", "Sequence the newest snapshot is as of.", ring, st.snapshot_as_of);
    m.add("shmcast_snapshot_bytes", "gauge", "Size of the newest snapshot.", ring, st.snapshot_length);
    m.add("shmcast_snapshot_age_seconds", "gauge", "Age of the newest snapshot (0: none yet).", ring,
          st.snapshot_published_ns != 0 && now > st.snapshot_published_ns ? seconds(now - st.snapshot_published_ns) : 0.0);
  }
  if (st.relay) {
    m.add("shmcast_relay_source_position", "gauge", "A relaying producer's last applied source sequence.", ring, st.source_position);
    m.add("shmcast_relay_source_head", "gauge", "The relay source's newest known sequence.", ring, st.source_head);
    m.add("shmcast_relay_source_gaps_total", "counter", "Gaps the relay met in its source.", ring, st.source_gaps);
    m.add("shmcast_relay_source_missed_total", "counter", "Source sequences those gaps covered.", ring, st.source_missed);
  }
  for (const ReaderStatus& r : st.readers) {
    const std::string l = ring + ",reader=\"" + std::to_string(r.id) + "\",label=\"" + escape_label(r.label) +
                          "\",pid=\"" + std::to_string(r.pid) + "\"";
    m.add("shmcast_reader_alive", "gauge", "1 if the reader's process is alive.", l, std::uint64_t{r.alive ? 1u : 0u});
    m.add("shmcast_reader_start", "gauge", "Where the reader's span began: delivered + missed = position - start.", l, r.start);
    m.add("shmcast_reader_position", "gauge", "Next sequence the reader will read.", l, r.position);
    m.add("shmcast_reader_lag", "gauge", "Messages published that the reader has not reached (head - position).", l, r.lag);
    m.add("shmcast_reader_delivered_total", "counter", "Messages delivered to the reader.", l, r.delivered);
    m.add("shmcast_reader_gaps_total", "counter", "Gaps the reader met (times it was lapped or skipped).", l, r.gaps);
    m.add("shmcast_reader_missed_total", "counter", "Messages the reader missed in those gaps.", l, r.missed);
    m.add("shmcast_reader_snapshots_total", "counter", "Snapshots delivered to the reader.", l, r.snapshots);
    m.add("shmcast_reader_far_position", "gauge",
          "A relay reader's position on its far side (bridge out: last stream sequence acknowledged); 0 if none.", l,
          r.external_position);
    m.add("shmcast_reader_last_active_timestamp_seconds", "gauge", "Unix time the reader last updated its entry.", l,
          seconds(r.last_active_ns));
  }
}

void add_unreadable(Exposition& m, std::string_view name) {
  m.add("shmcast_up", "gauge", kUpHelp, ring_label(name), std::uint64_t{0});
}

std::string render(const std::vector<std::string>& names, const std::function<RingStatus(const std::string&)>& status_of,
                   std::vector<Error>* errors) {
  Exposition m;
  for (const std::string& name : names) {
    try {
      add_ring(m, status_of(name));
    } catch (const Error& e) {
      if (e.code() == Errc::invalid_argument) throw;
      add_unreadable(m, name);
      if (errors != nullptr) errors->push_back(e);
    }
  }
  return m.str();
}

}  // namespace shmcast::cli
