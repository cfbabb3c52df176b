// shmcast rm NAME: removes a ring and its reader registry. Processes that have it
// mapped keep their mapping; tails notice and wait for the name to hold a ring again.
#include "commands.hpp"

#include <shmcast/error.hpp>
#include <shmcast/producer.hpp>

#include <cstdio>
#include <memory>

namespace shmcast::cli {

void add_rm_command(CLI::App& app) {
  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* sub = app.add_subcommand("rm", "Remove rings and their reader registries (attached processes keep their mappings)");
  sub->add_option("name", *names, "Ring names")->required();
  sub->callback([names] {
    for (const std::string& name : *names) {
      if (!Producer::remove(name))
        throw Error(Errc::not_found, name, "does not exist, nothing to remove");
      std::printf("removed ring '%s'\n", name.c_str());
    }
  });
}

}  // namespace shmcast::cli
