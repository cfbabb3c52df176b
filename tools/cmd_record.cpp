// shmcast record RING --dir DIR: a registered reader (label "record") that appends every
// message of the ring to an archive, and every loss as a gap record with its exact count.
//
// It carries on where the archive ends: a torn last record (a crash) is cut off, and what
// the ring lost while the recorder was down becomes a gap record. A full disk stops it
// with an error and the archive intact. SIGINT/SIGTERM stop it cleanly, everything synced.
#include "commands.hpp"
#include "common/format.hpp"
#include "common/stop.hpp"

#include <shmcast/archive.hpp>
#include <shmcast/reader.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>

namespace shmcast::cli {

namespace {

using namespace std::chrono_literals;

struct RecordArgs {
  std::string ring;
  std::string dir;
  std::string fsync = "interval";
  std::optional<std::string> fsync_interval_ms;
  std::optional<std::string> max_bytes;
  std::optional<std::string> max_age;
  std::optional<std::string> segment_size;
  std::string label = "record";
  bool quiet = false;
};

void run(const RecordArgs& a) {
  ArchiveOptions o;
  o.fsync = a.fsync == "never" ? Fsync::never : a.fsync == "every" ? Fsync::every : Fsync::interval;
  if (a.fsync_interval_ms) o.fsync_interval = std::chrono::milliseconds(parse_uint("--fsync-interval", *a.fsync_interval_ms, 1, 3'600'000));
  if (a.max_bytes) o.max_bytes = parse_size("--max-bytes", *a.max_bytes);
  if (a.max_age) o.max_age = std::chrono::seconds(parse_uint("--max-age", *a.max_age, 1, 100ull * 365 * 86400));
  if (a.segment_size) {
    o.segment_bytes = parse_size("--segment-size", *a.segment_size);
    if (o.segment_bytes < 4096) throw CLI::ValidationError("--segment-size '" + *a.segment_size + "' is too small: at least 4K");
  }
  install_stop_handlers();
  // A file size limit (ulimit -f) would otherwise kill the process mid-write, leaving a
  // torn record and no word: ignored, the write fails with EFBIG and the writer stops as
  // on a full disk, the archive intact up to the last whole record that reached it.
  std::signal(SIGXFSZ, SIG_IGN);

  // The ring first: its id ties the archive to it.
  ReaderOptions probe_options;
  probe_options.register_reader = false;
  const std::uint64_t ring_id = Reader(a.ring, probe_options).ring_id();
  ArchiveWriter writer(a.dir, ring_id, o);
  ReaderOptions ro;
  ro.label = a.label;
  ro.on_gap = GapPolicy::oldest;
  if (const std::optional<std::uint64_t> next = writer.next_seq()) {
    ro.start = StartAt::sequence;  // what the ring lost meanwhile is the first event: a gap record
    ro.start_seq = *next;
  } else {
    ro.start = StartAt::oldest;
  }
  Reader reader(a.ring, ro);
  // The ring may have been recreated between the probe and this attach: its messages must
  // not go into the old ring's archive.
  if (reader.ring_id() != ring_id)
    throw Error(Errc::replaced, a.ring,
                "was recreated while the recorder started; the archive in " + a.dir +
                    " records the old ring: record the new one into another directory");
  if (!a.quiet)
    std::fprintf(stderr, "shmcast record: ring '%s' into %s from sequence %llu%s\n", printable(a.ring).c_str(),
                 printable(a.dir).c_str(), static_cast<unsigned long long>(reader.position()),
                 reader.registered() ? "" : (" (unregistered: " + printable(one_line(reader.registration_error())) + ")").c_str());
  std::uint64_t messages = 0, gaps = 0, missed = 0;
  auto next_check = std::chrono::steady_clock::now();
  while (!stop_requested()) {
    const ReadResult e = reader.read(100ms);
    if (e.status == ReadStatus::message) {
      writer.append(e.message);
      ++messages;
    } else if (e.status == ReadStatus::gap) {
      writer.append_gap(e.gap);
      ++gaps;
      missed += e.gap.missed;
    } else {
      writer.flush();
    }
    if (const auto now = std::chrono::steady_clock::now(); now >= next_check) {
      next_check = now + 500ms;
      if (reader.replaced())
        throw Error(Errc::replaced, a.ring,
                    "was removed or recreated; the archive in " + a.dir +
                        " records the old ring: record the new one into another directory");
    }
  }
  writer.sync();
  if (!a.quiet)
    std::fprintf(stderr, "shmcast record: stopped: %s, %s (%llu missed), the archive goes on at sequence %llu\n",
                 count_of(messages, "message").c_str(), count_of(gaps, "gap").c_str(),
                 static_cast<unsigned long long>(missed), static_cast<unsigned long long>(writer.next_seq().value_or(0)));
}

}  // namespace

void add_record_command(CLI::App& app) {
  auto args = std::make_shared<RecordArgs>();
  CLI::App* sub = app.add_subcommand("record", "Record a ring's messages into an on-disk archive");
  sub->footer(
      "A registered reader (label 'record') that appends every message to the archive in DIR: segment files with a "
      "versioned header, each record framed with sequence, type, timestamp, length and a CRC-32C, and a sparse "
      "index per segment. A loss (the recorder lapped, or the ring moving on while it was stopped) is written as a "
      "gap record with its exact first sequence and count; nothing is renumbered. Restarted on the same DIR it cuts "
      "off a record torn by a crash and carries on after the last sequence recorded. A full disk stops it with an "
      "error (exit 1) and everything recorded before intact. Read the archive with `shmcast dump`, "
      "`shmcast archive-info` and `shmcast replay`, or give it to a reader (`shmcast tail --archive DIR`) to catch "
      "up on what the ring no longer holds.");
  sub->add_option("ring", args->ring, "Ring to record")->required();
  sub->add_option("--dir", args->dir, "Archive directory (created if missing)")->required();
  sub->add_option("--fsync", args->fsync, "Durability: never, interval (default: fdatasync at most every --fsync-interval) or every record")
      ->check(CLI::IsMember({"never", "interval", "every"}));
  sub->add_option("--fsync-interval", args->fsync_interval_ms, "Milliseconds between syncs with --fsync interval (default 1000)");
  sub->add_option("--max-bytes", args->max_bytes, "Retention: remove the oldest segments while the archive holds more (K, M, G)");
  sub->add_option("--max-age", args->max_age, "Retention: remove segments whose newest record is older than this many seconds");
  sub->add_option("--segment-size", args->segment_size, "Start a new segment past this size (default 64M)");
  sub->add_option("--label", args->label, "Label shown by `shmcast stat` (default: record)");
  sub->add_flag("-q,--quiet", args->quiet, "No start and stop lines on standard error");
  sub->callback([args] { run(*args); });
}

}  // namespace shmcast::cli
