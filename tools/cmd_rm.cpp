// shmcast rm NAME...: removes rings and their reader registries. Processes that have one
// mapped keep their mapping; tails notice and wait for the name to hold a ring again.
//
// Every name is processed; an error about one name is reported on its own line and the
// others are still removed; the exit code is 1 if any failed. -f ignores missing names.
// A ring whose producer is alive is refused (it would go on writing into the removed
// object, unseen) unless --even-if-live.
#include "commands.hpp"
#include "common/advice.hpp"
#include "common/format.hpp"

#include <shmcast/error.hpp>
#include <shmcast/producer.hpp>

#include <cstdio>
#include <memory>

namespace shmcast::cli {

namespace {

struct RmArgs {
  std::vector<std::string> names;
  bool force = false;
  bool even_if_live = false;
};

void remove_one(const RmArgs& a, const std::string& name) {
  if (!(a.even_if_live ? Producer::remove(name) : Producer::remove_unless_live(name))) {
    if (a.force) return;
    throw Error(Errc::not_found, name, "does not exist, nothing to remove");
  }
  std::printf("removed ring '%s'\n", printable(name).c_str());
}

}  // namespace

void add_rm_command(CLI::App& app) {
  auto args = std::make_shared<RmArgs>();
  CLI::App* sub = app.add_subcommand("rm", "Remove rings and their reader registries (attached processes keep their mappings)");
  sub->footer(
      "Every name is processed: each failure is reported on its own line, the other names are still removed, and "
      "the exit code is 1 if any failed. A ring whose producer is alive is refused (the producer would go on "
      "writing into the removed ring, unseen by readers) unless --even-if-live.");
  sub->add_option("name", args->names, "Ring names")->required();
  sub->add_flag("-f,--force", args->force, "Ignore names that do not exist");
  sub->add_flag("--even-if-live", args->even_if_live,
                "Remove a ring even while its producer is alive (that producer goes on writing into the removed ring, "
                "unseen by readers: stop it first if you can)");
  sub->callback([args] {
    int failures = 0;
    int usage = 0;
    for (const std::string& name : args->names) {
      try {
        remove_one(*args, name);
      } catch (const Error& e) {
        std::fprintf(stderr, "shmcast rm: %s\n", printable(error_line(e, "rm")).c_str());
        ++failures;
        if (e.code() == Errc::invalid_argument) ++usage;
      }
    }
    std::fflush(stdout);
    if (failures != 0) throw CLI::RuntimeError(usage == failures ? 2 : 1);
  });
}

}  // namespace shmcast::cli
