// shmcast replay DIR --to RING: publishes an archive's messages into a ring under their
// original sequence numbers (Producer::publish_at), its recorded gaps as skips, at the
// original pacing scaled by --speed, or as fast as possible (--max).
#include "commands.hpp"
#include "common/format.hpp"
#include "common/stop.hpp"

#include <shmcast/archive.hpp>
#include <shmcast/producer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

namespace shmcast::cli {

namespace {

using namespace std::chrono_literals;

struct ReplayArgs {
  std::string dir;
  std::string ring;
  std::optional<std::string> from;
  std::optional<std::string> to_seq;
  std::optional<std::string> speed;
  bool max = false;
  bool quiet = false;
};

void run(const ReplayArgs& a) {
  if (a.max && a.speed) throw CLI::ValidationError("--speed and --max exclude each other");
  // The least speed keeps a recorded pause, scaled, inside what the pacing clock can count.
  const double speed = a.speed ? parse_positive("--speed", *a.speed, 1e6, "times the original pace", 1e-6) : 1.0;
  const std::uint64_t last = a.to_seq ? parse_uint("--to-seq", *a.to_seq, 0, UINT64_MAX - 2) : UINT64_MAX - 2;
  // Every option is checked before the ring is taken over: a usage error changes nothing.
  const std::optional<std::uint64_t> from_given =
      a.from ? std::optional(parse_uint("--from", *a.from, 0, UINT64_MAX - 2)) : std::nullopt;
  if (from_given && a.to_seq && last < *from_given)
    throw CLI::ValidationError("--to-seq " + *a.to_seq + " is before --from " + *a.from);
  install_stop_handlers();
  Archive archive(a.dir, EmptyArchive::empty);
  Producer producer = Producer::open(a.ring);
  const std::uint64_t head = producer.head();
  std::uint64_t from = 0;
  if (from_given) {
    from = *from_given;
    if (from < head)
      throw Error(Errc::invalid_argument, a.ring,
                  "is at sequence " + std::to_string(head) + ": --from " + std::to_string(from) +
                      " would go back; replay from " + std::to_string(head) + " or later, or into a fresh ring");
  } else {
    from = std::max(head, archive.position());  // the first segment's first sequence: no scan of the rest
  }
  if (a.to_seq && last < from) throw CLI::ValidationError("--to-seq " + *a.to_seq + " is before the first sequence replayed, " + std::to_string(from));
  archive.seek(from);
  std::uint64_t messages = 0, skipped = 0;
  std::optional<std::uint64_t> first_ns;
  const auto started = std::chrono::steady_clock::now();
  // A failure part-way (a message the ring cannot hold, a damaged record) leaves what was
  // written before it: the error says how far the replay got and where to go on from.
  std::optional<std::uint64_t> last_message;
  try {
    while (!stop_requested() && archive.position() <= last) {  // nothing past --to-seq is read
      const ReadResult r = archive.next();
      if (!r) break;
      if (r.status == ReadStatus::gap) {
        if (r.gap.first > last) break;
        const std::uint64_t end = std::min(r.gap.first + r.gap.missed, last + 1);
        if (end > producer.head()) {
          skipped += end - std::max(r.gap.first, producer.head());
          producer.skip_to(end);
        }
        continue;
      }
      const Message& m = r.message;
      if (m.seq > last) break;
      if (m.seq < producer.head()) continue;
      if (!a.max) {
        if (!first_ns) first_ns = m.timestamp_ns;
        // Saturated at about a century: `started` plus it stays inside the clock's range.
        constexpr double kLongestWaitNs = 3.2e18;
        const double offset_ns = m.timestamp_ns >= *first_ns ? static_cast<double>(m.timestamp_ns - *first_ns) / speed : 0.0;
        const auto wait = std::chrono::nanoseconds(static_cast<std::int64_t>(std::min(offset_ns, kLongestWaitNs)));
        if (!sleep_until_unless_stopped(started + wait)) break;
      }
      if (m.payload.size() > producer.max_message())
        throw Error(Errc::message_too_large, a.ring,
                    "sequence " + std::to_string(m.seq) + ": " + too_large(m.payload.size(), producer.max_message()));
      producer.publish_at(m.seq, m.payload, m.type, m.timestamp_ns);
      ++messages;
      last_message = m.seq;
    }
  } catch (const Error& e) {
    const std::string replayed =
        messages == 0 ? std::string("no message was replayed before it")
                      : count_of(messages, "message") + " " + (messages == 1 ? "was" : "were") +
                            " replayed before it, the last at sequence " + std::to_string(*last_message);
    // Never a usage error: the command line was good, and part of it was carried out.
    throw Error(e.code() == Errc::invalid_argument ? Errc::system : e.code(), e.ring(),
                e.reason() + "; " + replayed + " (the ring's head is now " + std::to_string(producer.head()) +
                    "): once that is fixed, run replay again with --from " + std::to_string(producer.head()) +
                    " to go on from there");
  }
  if (!a.quiet)
    std::fprintf(stderr, "shmcast replay: %s into ring '%s' (%llu sequences skipped as recorded gaps), head now %llu\n",
                 count_of(messages, "message").c_str(), printable(a.ring).c_str(), static_cast<unsigned long long>(skipped),
                 static_cast<unsigned long long>(producer.head()));
}

}  // namespace

void add_replay_command(CLI::App& app) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* sub = app.add_subcommand("replay", "Publish an archive's messages into a ring under their original sequences");
  sub->footer(
      "Takes the ring RING as its producer (it must exist: `shmcast create RING --size BYTES` first, with a "
      "--max-message that holds the archive's largest message) and publishes the archive's messages from --from "
      "(default: the ring's head, or the archive's first sequence if later) to --to-seq, each under its original "
      "sequence and timestamp; the archive's gaps reach the ring's readers as gaps. Paced as recorded, scaled by "
      "--speed (2 = twice as fast), or as fast as possible with --max. A replay that stops part-way (a message "
      "larger than the ring's maximum, a damaged record) keeps what it wrote: its error says how many messages that "
      "was, the last sequence written, and the --from to go on with. The largest message is not checked up front: "
      "that would read the whole archive.");
  sub->add_option("dir", args->dir, "Archive directory")->required();
  sub->add_option("--to", args->ring, "Ring to publish into")->required();
  sub->add_option("--from", args->from, "First sequence to replay");
  sub->add_option("--to-seq", args->to_seq, "Last sequence to replay");
  sub->add_option("--speed", args->speed, "Pace: this many times the original (default 1)");
  sub->add_flag("--max", args->max, "As fast as possible");
  sub->add_flag("-q,--quiet", args->quiet, "No summary line on standard error");
  sub->callback([args] { run(*args); });
}

}  // namespace shmcast::cli
