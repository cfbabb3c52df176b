// The bridge subcommands alone, exactly as `shmcast` wires them (for the bridge tests and
// the benchmark): shmcast_bridge_driver bridge out|in ...
#include "bridge/bridge_commands.hpp"

#include <shmcast/error.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  CLI::App app{"shmcast bridge test driver"};
  app.require_subcommand(1);
  shmcast::cli::add_bridge_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const shmcast::Error& e) {
    std::fprintf(stderr, "shmcast: %s\n", e.what());
    return 1;
  }
  return 0;
}
