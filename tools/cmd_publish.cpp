// shmcast publish NAME: publishes --message TEXT --count times, or one message per line
// of standard input; --snapshot-file publishes a snapshot. Opens the ring as its one
// producer (creating it with the default geometry if it does not exist).
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

namespace shmcast::cli {

namespace {

struct PublishArgs {
  std::string name;
  std::uint32_t type = 0;
  double rate = 0;
  std::optional<std::uint64_t> count;
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
  explicit Pacer(double rate) : rate_(rate), start_(std::chrono::steady_clock::now()) {}
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

void run_publish(const PublishArgs& a) {
  if (a.rate < 0) throw CLI::ValidationError("--rate must be positive (messages per second)");
  install_stop_handlers();
  std::optional<std::string> snapshot;
  if (a.snapshot_file) snapshot = read_file(*a.snapshot_file);

  // An existing ring is used whatever its geometry; a missing one is created.
  Producer p = Producer::open_or_create(a.name, geometry_for(snapshot), {}, ExistingRing::use_as_is);
  if (snapshot && p.geometry().snapshot_capacity == 0) throw Error(Errc::no_snapshot_area, a.name, "has no snapshot area");

  Pacer pacer(a.rate);
  if (a.message) {
    const std::uint64_t count = a.count.value_or(1);
    for (std::uint64_t i = 0; i < count; ++i) {
      if (!pacer.wait(i)) break;
      p.publish(bytes_of(*a.message), a.type);
    }
  } else if (!snapshot) {
    // One message per line of standard input, without its newline.
    std::string line;
    const std::uint64_t limit = a.count.value_or(UINT64_MAX);
    for (std::uint64_t i = 0; i < limit; ++i) {
      line.clear();
      int c = 0;
      bool got = false;
      while ((c = std::getchar()) != EOF) {
        got = true;
        if (c == '\n') break;
        line.push_back(static_cast<char>(c));
      }
      if (!got) break;  // end of input (or interrupted by a signal)
      if (!pacer.wait(i)) break;
      p.publish(bytes_of(line), a.type);
      if (c == EOF) break;
    }
  }
  if (snapshot) p.publish_snapshot(std::as_bytes(std::span(snapshot->data(), snapshot->size())));
}

}  // namespace

void add_publish_command(CLI::App& app) {
  auto args = std::make_shared<PublishArgs>();
  CLI::App* sub = app.add_subcommand(
      "publish", "Publish --message TEXT (--count times), or else one message per line of standard input");
  sub->footer(
      "Creates the ring with the default geometry if it does not exist. A ring has one producer: this fails "
      "while another one is running.");
  sub->add_option("name", args->name, "Ring name")->required();
  sub->add_option("--type", args->type, "Type tag (an unsigned 32-bit number) for every message")->capture_default_str();
  sub->add_option("--rate", args->rate, "Pace to this many messages per second (default: as fast as possible)");
  sub->add_option("--count", args->count, "With --message: how many times to publish it (default 1); "
                                          "with standard input: at most this many lines");
  sub->add_option("--message,-m", args->message, "The text to publish");
  sub->add_option("--snapshot-file", args->snapshot_file,
                  "Publish the contents of FILE as the ring's snapshot (after any messages); a ring created here "
                  "gets a snapshot area large enough for it")
      ->check(CLI::ExistingFile);
  sub->callback([args] { run_publish(*args); });
}

}  // namespace shmcast::cli
