// `shmcast bridge out|in`: the CLI's entry into the NATS JetStream bridge.
#pragma once

#include <CLI/CLI.hpp>

namespace shmcast::cli {

// Adds the `bridge` subcommand (with `out` and `in`) to the shmcast CLI. Callbacks throw
// shmcast::Error for runtime failures and CLI::ValidationError for usage errors.
void add_bridge_commands(CLI::App& app);

}  // namespace shmcast::cli
