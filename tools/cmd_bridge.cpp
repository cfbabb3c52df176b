// shmcast bridge out|in RING: the CLI's entry into the NATS JetStream bridge library
// (tools/bridge/). Compiled into `shmcast` only where that library is built. The options
// become OutOptions/InOptions; the CLI's stop flag (SIGINT/SIGTERM) is the bridge's
// stop predicate.
#include "commands.hpp"
#include "common/stop.hpp"

#include "bridge/bridge.hpp"

#include <shmcast/error.hpp>
#include <shmcast/types.hpp>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

namespace shmcast::cli {

namespace {

void check_stream(const std::string& stream) {
  if (stream.empty()) return;
  try {
    bridge::validate_stream_name(stream);
  } catch (const Error& e) {
    throw CLI::ValidationError("--stream", e.what());
  }
}

void check_urls(const std::string& urls) {
  try {
    bridge::validate_nats_urls(urls);
  } catch (const Error& e) {
    throw CLI::ValidationError("--nats", e.what());
  }
}

}  // namespace

void add_bridge_commands(CLI::App& app) {
  CLI::App* bridge = app.add_subcommand("bridge", "Relay a ring to other hosts over NATS JetStream");
  bridge->require_subcommand(1);

  auto out_opts = std::make_shared<bridge::OutOptions>();
  CLI::App* out = bridge->add_subcommand(
      "out", "Publish every message of RING (and every gap) to a JetStream stream, subject shmcast.RING");
  out->add_option("ring", out_opts->ring, "Ring to relay")->required();
  out->add_option("--nats", out_opts->url, "NATS server URL(s), comma-separated, e.g. nats://127.0.0.1:4222")->required();
  out->add_option("--stream", out_opts->stream, "JetStream stream (default shmcast_RING, '.' turned into '_')");
  out->add_option("--label", out_opts->label, "Reader label shown by `shmcast stat`")->capture_default_str();
  // Numbers are taken as text and parsed by the CLI's one set of parsers (commands.hpp):
  // decimal only, never wrapped, each with its range in the error.
  struct OutNumbers {
    std::string max_msgs = "-1", max_bytes = "-1", max_age = "0", replicas = "1", max_pending = "4096", ack_wait = "5000";
  };
  auto numbers = std::make_shared<OutNumbers>();
  out->add_option("--max-msgs", numbers->max_msgs, "Stream limit when creating it: messages kept (-1: no limit)")
      ->capture_default_str();
  out->add_option("--max-bytes", numbers->max_bytes, "Stream limit when creating it: bytes kept (-1: no limit)")
      ->capture_default_str();
  out->add_option("--max-age", numbers->max_age, "Stream limit when creating it: seconds kept (0: no limit)")
      ->capture_default_str();
  out->add_option("--replicas", numbers->replicas, "Stream replicas when creating it (JetStream cluster, 1 to 5)")
      ->capture_default_str();
  out->add_option("--max-pending", numbers->max_pending, "Most unacknowledged publishes in flight (1 to 1048576)")
      ->capture_default_str();
  out->add_option("--ack-wait", numbers->ack_wait, "Milliseconds to wait for an ack before resending (100 to 600000)")
      ->capture_default_str();
  out->add_flag("-v,--verbose", out_opts->verbose, "Log resynchronisations and a summary at exit");
  out->callback([out_opts, numbers] {
    const auto limit = [](std::string_view option, const std::string& text) -> std::int64_t {
      if (text == "-1") return -1;
      if (!text.empty() && text[0] == '-')
        throw CLI::ValidationError(std::string(option) + " '" + text + "' is negative: it must be -1 (no limit) or from 1 to " +
                                   std::to_string(std::numeric_limits<std::int64_t>::max()));
      return static_cast<std::int64_t>(parse_uint(option, text, 1, std::numeric_limits<std::int64_t>::max()));
    };
    out_opts->max_msgs = limit("--max-msgs", numbers->max_msgs);
    out_opts->max_bytes = limit("--max-bytes", numbers->max_bytes);
    // JetStream takes the age in nanoseconds (64 bits): at most about 292 years.
    out_opts->max_age = std::chrono::seconds(parse_uint("--max-age", numbers->max_age, 0, 9'000'000'000));
    out_opts->replicas = static_cast<int>(parse_uint("--replicas", numbers->replicas, 1, 5));
    out_opts->max_pending = static_cast<int>(parse_uint("--max-pending", numbers->max_pending, 1, 1 << 20));
    out_opts->ack_wait = std::chrono::milliseconds(parse_uint("--ack-wait", numbers->ack_wait, 100, 600000));
    check_stream(out_opts->stream);
    check_urls(out_opts->url);
    install_stop_handlers();
    out_opts->should_stop = stop_requested;
    bridge::run_out(*out_opts);
  });

  auto in_opts = std::make_shared<bridge::InOptions>();
  CLI::App* in = bridge->add_subcommand(
      "in", "Write a JetStream stream made by `bridge out` into local RING under the same sequence numbers");
  in->add_option("ring", in_opts->ring, "Local ring to write (created if missing)")->required();
  in->add_option("--nats", in_opts->url, "NATS server URL(s), comma-separated")->required();
  in->add_option("--stream", in_opts->stream, "JetStream stream (default shmcast_RING, '.' turned into '_')");
  auto size = std::make_shared<std::string>(), max_message = std::make_shared<std::string>();
  in->add_option("--size", *size,
                 "Bytes of a ring created here, a power of two from 4K to 64G (K, M, G suffixes; default: the "
                 "source's)")
      ->type_name("BYTES");
  in->add_option("--max-message", *max_message,
                 "Largest message of a ring created here, in bytes (default: the source's). With --size too, the "
                 "ring is made (or checked, if it exists) at start")
      ->type_name("BYTES");
  const auto refuse_slot_options = add_retired_slot_options(in);
  auto mode = std::make_shared<std::string>("600");
  in->add_option("--mode", *mode, "Permission bits (octal) of a ring created here")->capture_default_str();
  in->add_flag("-v,--verbose", in_opts->verbose, "Log gap records and a summary at exit");
  in->callback([in, in_opts, mode, size, max_message, refuse_slot_options] {
    refuse_slot_options();
    check_stream(in_opts->stream);
    check_urls(in_opts->url);
    // Either may be left to the source; what is given must pass the library's geometry
    // rules now, not when the first record arrives: a --max-message alone is checked
    // against the largest ring.
    if (in->count("--size") != 0) in_opts->ring_bytes = parse_ring_size(*size);
    if (in->count("--max-message") != 0) in_opts->max_message = parse_max_message(*max_message);
    const std::uint64_t ring_bytes = in_opts->ring_bytes != 0 ? in_opts->ring_bytes : std::uint64_t{64} << 30;
    check_geometry(in_opts->ring, Geometry{ring_bytes, in_opts->max_message, 0}, *size, *max_message);
    in_opts->mode = parse_mode(*mode);
    install_stop_handlers();
    in_opts->should_stop = stop_requested;
    bridge::run_in(*in_opts);
  });
}

}  // namespace shmcast::cli
