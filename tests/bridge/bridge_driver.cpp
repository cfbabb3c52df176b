// The bridge library driven directly, as a separate process the tests (and the bridge
// benchmark) can start and SIGKILL: `shmcast_bridge_driver bridge out|in RING --nats URL
// [--stream NAME] [--max-msgs N] [--max-age S] [--size BYTES] [--max-message BYTES] [-v]`,
// the flags meaning what they mean to `shmcast bridge`. SIGINT/SIGTERM stop it cleanly
// (exit 0), as they stop `shmcast bridge`; a shmcast::Error exits as it does from
// `shmcast` (2 for invalid_argument, a usage error; 1 otherwise), bad arguments 2.
#include "bridge/bridge.hpp"
#include "common/stop.hpp"

#include <shmcast/error.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

int usage(const char* why) {
  std::fprintf(stderr,
               "shmcast_bridge_driver: %s\nusage: shmcast_bridge_driver bridge out|in RING --nats URL [--stream NAME] "
               "[--max-msgs N] [--max-age S] [--size BYTES] [--max-message BYTES] [-v]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || std::string_view(argv[1]) != "bridge") return usage("expects `bridge out|in RING`");
  const std::string_view direction = argv[2];
  if (direction != "out" && direction != "in") return usage("the direction is `out` or `in`");
  shmcast::bridge::OutOptions out;
  shmcast::bridge::InOptions in;
  out.ring = in.ring = argv[3];
  try {
    for (int i = 4; i < argc; ++i) {
      const std::string_view flag = argv[i];
      if (flag == "-v") {
        out.verbose = in.verbose = true;
        continue;
      }
      if (i + 1 == argc) return usage("a flag without its value");
      const std::string value = argv[++i];
      if (flag == "--nats") out.url = in.url = value;
      else if (flag == "--stream") out.stream = in.stream = value;
      else if (flag == "--max-msgs") out.max_msgs = std::stoll(value);
      else if (flag == "--max-age") out.max_age = std::chrono::seconds(std::stoll(value));
      else if (flag == "--size") in.ring_bytes = std::stoull(value);
      else if (flag == "--max-message") in.max_message = static_cast<std::uint32_t>(std::stoul(value));
      else return usage("unknown flag");
    }
  } catch (const std::logic_error&) {  // std::stoll and friends
    return usage("a number is expected");
  }
  shmcast::cli::install_stop_handlers();
  out.should_stop = in.should_stop = shmcast::cli::stop_requested;
  try {
    if (direction == "out") shmcast::bridge::run_out(out);
    else shmcast::bridge::run_in(in);
  } catch (const shmcast::Error& e) {
    std::fprintf(stderr, "shmcast_bridge_driver: %s\n", e.what());
    return e.code() == shmcast::Errc::invalid_argument ? 2 : 1;
  }
  return 0;
}
