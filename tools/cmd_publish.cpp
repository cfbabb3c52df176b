// shmcast publish NAME: publishes --message TEXT --count times, or one message per line
// of standard input; --snapshot-file publishes a snapshot. Opens an existing ring as its
// one producer; only with --create does a missing ring get made (default geometry), so a
// misspelt name is an error rather than a new ring nobody reads.
#include "commands.hpp"
#include "common/stop.hpp"

#include <shmcast/error.hpp>
#include <shmcast/producer.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <thread>
#include <unistd.h>

namespace shmcast::cli {

namespace {

struct PublishArgs {
  std::string name;
  std::string type = "0";
  std::optional<std::string> rate;
  std::optional<std::string> count;
  bool create = false;
  std::optional<std::string> message;
  std::optional<std::string> snapshot_file;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Errc::system, "cannot read snapshot file '" + path + "': " + std::strerror(errno));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The geometry of a ring created here: the default, with a snapshot area large enough
// for `snapshot` (in 4 KiB steps) if one is to be published.
Geometry geometry_for(const std::optional<std::string>& snapshot) {
  Geometry g;
  if (snapshot) g.snapshot_capacity = std::max<std::uint64_t>(4096, (snapshot->size() + 4095) / 4096 * 4096);
  return g;
}

// Paces publishing to `rate` messages per second; returns false if asked to stop.
class Pacer {
 public:
  explicit Pacer(double rate) : rate_(rate), start_(std::chrono::steady_clock::now()) {}  // rate 0: unpaced
  bool wait(std::uint64_t index) {
    if (rate_ <= 0) return !stop_requested();
    const auto due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(static_cast<double>(index) / rate_));
    for (;;) {
      if (stop_requested()) return false;
      const auto now = std::chrono::steady_clock::now();
      if (now >= due) return true;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(due - now, std::chrono::milliseconds(100)));
    }
  }

 private:
  double rate_;
  std::chrono::steady_clock::time_point start_;
};

std::string lines_text(std::uint64_t first, std::uint64_t last) {
  return first == last ? "line " + std::to_string(first) : "lines " + std::to_string(first) + "-" + std::to_string(last);
}

std::string sequences_text(std::uint64_t first, std::uint64_t last) {
  return first == last ? "sequence " + std::to_string(first)
                       : "sequences " + std::to_string(first) + "-" + std::to_string(last);
}

// One message per line of standard input, without its newline, at most `limit` lines.
// A line that does not fit stops publishing: the error says which line, and exactly
// which lines (and sequences) were published before it. A line is kept only up to one
// byte past the ring's max_message (the rest is counted, not stored), so that a huge
// line costs no more memory than the largest message.
void publish_lines(Producer& p, const PublishArgs& a, std::uint32_t type, std::uint64_t limit, Pacer& pacer) {
  const std::uint64_t max = p.max_message();
  std::string line;
  std::uint64_t first_seq = 0, last_seq = 0;
  for (std::uint64_t i = 0; i < limit; ++i) {
    line.clear();
    std::uint64_t length = 0;
    int c = 0;
    bool got = false;
    while ((c = getc_unlocked(stdin)) != EOF) {
      got = true;
      if (c == '\n') break;
      if (length++ <= max) line.push_back(static_cast<char>(c));
    }
    // What went out before line i + 1, for an error that stops there.
    const auto published_before = [&] {
      if (i == 0) return std::string("nothing was published");
      return lines_text(1, i) + " " + (i == 1 ? "was" : "were") + " published (" + sequences_text(first_seq, last_seq) +
             "), line " + std::to_string(i + 1) + " and after were not";
    };
    // A read that failed (not one a stop signal interrupted) is an error, never an end of
    // input, and the part of a line read before it is not published.
    if (const int error = c == EOF && std::ferror(stdin) != 0 ? errno : 0; error != 0 && error != EINTR)
      throw Error(Errc::system, a.name,
                  std::string("reading standard input failed: ") + std::strerror(error) + "; " + published_before());
    if (!got) break;  // end of input (or interrupted by a signal)
    if (!pacer.wait(i)) break;
    if (length > max)
      throw Error(Errc::message_too_large, a.name,
                  "line " + std::to_string(i + 1) + ": " + too_large(length, p.max_message()) + "; " + published_before());
    const std::uint64_t seq = p.publish(bytes_of(line), type);
    if (i == 0) first_seq = seq;
    last_seq = seq;
    if (c == EOF) break;
  }
}

void run_publish(const PublishArgs& a) {
  const auto type = static_cast<std::uint32_t>(parse_uint("--type", a.type, 0, UINT32_MAX));
  const double rate = a.rate ? parse_positive("--rate", *a.rate, 1e9, "messages per second", 1e-3) : 0;
  const std::uint64_t count = a.count ? parse_uint("--count", *a.count, 1, UINT64_MAX) : 0;  // 0: not given
  install_stop_handlers();
  std::optional<std::string> snapshot;
  if (a.snapshot_file) snapshot = read_file(*a.snapshot_file);

  // An existing ring is used whatever its geometry; a missing one is created only with --create.
  Producer p = a.create ? Producer::open_or_create(a.name, geometry_for(snapshot), {}, ExistingRing::use_as_is)
                        : Producer::open(a.name);
  if (snapshot && p.geometry().snapshot_capacity == 0) throw Error(Errc::no_snapshot_area, a.name, "has no snapshot area");

  Pacer pacer(rate);
  if (a.message) {
    if (a.message->size() > p.max_message())
      throw Error(Errc::message_too_large, a.name, too_large(a.message->size(), p.max_message()) + "; nothing was published");
    const std::uint64_t n = count != 0 ? count : 1;
    for (std::uint64_t i = 0; i < n; ++i) {
      if (!pacer.wait(i)) break;
      p.publish(bytes_of(*a.message), type);
    }
  } else if (!snapshot || ::isatty(STDIN_FILENO) == 0) {
    // With --snapshot-file, a terminal's input is not waited for: only lines given to it
    // (a pipe, a file) come before the snapshot.
    publish_lines(p, a, type, count != 0 ? count : UINT64_MAX, pacer);
  }
  if (snapshot) p.publish_snapshot(std::as_bytes(std::span(snapshot->data(), snapshot->size())));
}

}  // namespace

void add_publish_command(CLI::App& app) {
  auto args = std::make_shared<PublishArgs>();
  CLI::App* sub = app.add_subcommand(
      "publish", "Publish --message TEXT (--count times), or else one message per line of standard input");
  sub->footer(
      "The ring must exist (`shmcast create NAME`), unless --create. A ring has one producer: this fails while "
      "another one is running. A message may be of any size up to the ring's maximum message size (`shmcast "
      "stat` shows it; `create --max-message` sets it). A line of standard input longer than that stops "
      "publishing; the error says which lines (and sequences) were published before it. With --snapshot-file, the "
      "messages (--message, or the lines of standard input unless it is a terminal) are published first, then the "
      "snapshot: to publish only the snapshot from a script or a `while read` loop, give it </dev/null.");
  sub->add_option("name", args->name, "Ring name")->required();
  sub->add_option("--type", args->type, "Type tag for every message, 0 to 4294967295")
      ->type_name("N")
      ->capture_default_str();
  sub->add_option("--rate", args->rate,
                  "Pace to this many messages per second, greater than 0, at most 1e9 (default: as fast as possible)")
      ->type_name("PER_SECOND");
  sub->add_option("--count", args->count, "With --message: how many times to publish it (default 1); "
                                          "with standard input: at most this many lines. At least 1")
      ->type_name("N");
  sub->add_flag("--create", args->create,
                "Create the ring with the default geometry if it does not exist (with --snapshot-file: a snapshot "
                "area large enough for it)");
  sub->add_option("--message,-m", args->message, "The text to publish");
  sub->add_option("--snapshot-file", args->snapshot_file,
                  "Publish the contents of FILE as the ring's snapshot (after any messages)")
      ->check(CLI::ExistingFile);
  sub->callback([args] { run_publish(*args); });
}

}  // namespace shmcast::cli
