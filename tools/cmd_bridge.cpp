// shmcast bridge out|in RING: the CLI's entry into the NATS JetStream bridge library
// (tools/bridge/). Compiled into `shmcast` only where that library is built. The options
// become OutOptions/InOptions; the CLI's stop flag (SIGINT/SIGTERM) is the bridge's
// stop predicate.
#include "commands.hpp"
#include "common/stop.hpp"

#include "bridge/bridge.hpp"

#include <shmcast/error.hpp>
#include <shmcast/types.hpp>

#include <memory>
#include <string>

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
  out->add_option("--max-msgs", out_opts->max_msgs, "Stream limit when creating it: messages kept (-1: no limit)")
      ->capture_default_str();
  out->add_option("--max-bytes", out_opts->max_bytes, "Stream limit when creating it: bytes kept (-1: no limit)")
      ->capture_default_str();
  auto max_age_s = std::make_shared<long long>(0);
  out->add_option("--max-age", *max_age_s, "Stream limit when creating it: seconds kept (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  out->add_option("--replicas", out_opts->replicas, "Stream replicas when creating it (JetStream cluster)")
      ->check(CLI::Range(1, 5))->capture_default_str();
  out->add_option("--max-pending", out_opts->max_pending, "Most unacknowledged publishes in flight")
      ->check(CLI::Range(1, 1 << 20))->capture_default_str();
  auto ack_wait_ms = std::make_shared<long long>(5000);
  out->add_option("--ack-wait", *ack_wait_ms, "Milliseconds to wait for an ack before resending")
      ->check(CLI::Range(100LL, 600000LL))->capture_default_str();
  out->add_flag("-v,--verbose", out_opts->verbose, "Log resynchronisations and a summary at exit");
  out->callback([out_opts, max_age_s, ack_wait_ms] {
    check_stream(out_opts->stream);
    check_urls(out_opts->url);
    out_opts->max_age = std::chrono::seconds(*max_age_s);
    out_opts->ack_wait = std::chrono::milliseconds(*ack_wait_ms);
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
  auto slots = std::make_shared<std::string>(), slot_size = std::make_shared<std::string>();
  in->add_option("--slots", *slots, "Slot count of a ring created here, a power of two (default: the source's)");
  in->add_option("--slot-size", *slot_size, "Slot size of a ring created here, a multiple of 64 (default: the source's)");
  auto mode = std::make_shared<std::string>("600");
  in->add_option("--mode", *mode, "Permission bits (octal) of a ring created here")->capture_default_str();
  in->add_flag("-v,--verbose", in_opts->verbose, "Log gap records and a summary at exit");
  in->callback([in_opts, mode, slots, slot_size] {
    check_stream(in_opts->stream);
    check_urls(in_opts->url);
    // Either may be left to the source; what is given must pass the library's geometry
    // rules now, not when the first record arrives.
    const auto check = [](const char* option, const Geometry& g) {
      if (std::string why = geometry_problem(g); !why.empty()) throw CLI::ValidationError(option, why);
    };
    const Geometry defaults;
    if (!slots->empty()) {
      in_opts->slot_count = parse_uint("--slots", *slots, 1, UINT64_MAX);
      check("--slots", {in_opts->slot_count, defaults.slot_size, 0});
    }
    if (!slot_size->empty()) {
      in_opts->slot_size = static_cast<std::uint32_t>(parse_uint("--slot-size", *slot_size, 1, UINT32_MAX));
      check("--slot-size", {defaults.slot_count, in_opts->slot_size, 0});
    }
    in_opts->mode = parse_mode(*mode);
    install_stop_handlers();
    in_opts->should_stop = stop_requested;
    bridge::run_in(*in_opts);
  });
}

}  // namespace shmcast::cli
