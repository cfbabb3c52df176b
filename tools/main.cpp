// shmcast: the command-line tool for shmcast rings. Creates, feeds, tails, inspects,
// removes rings and exports their metrics; one file per subcommand.
//
// Exit codes: 0 success, 1 runtime error, 2 usage error. Every error is one line on
// standard error naming the ring and saying what to do.
#include "commands.hpp"
#include "common/format.hpp"

#include <shmcast/error.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#ifdef SHMCAST_HAVE_BRIDGE
#include "bridge/bridge_commands.hpp"
#endif

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "unknown"
#endif

namespace {

// "shmcast tail" for the deepest subcommand that was selected, "shmcast" otherwise.
std::string command_path(const CLI::App& app) {
  std::string path = "shmcast";
  const CLI::App* at = &app;
  for (;;) {
    const auto subs = at->get_subcommands();
    if (subs.empty()) break;
    at = subs.front();
    path += " " + at->get_name();
  }
  return path;
}

// The ring named on the command line (the selected subcommand's "name" argument), if any.
std::string ring_of(const CLI::App& app) {
  const CLI::App* at = &app;
  while (!at->get_subcommands().empty()) at = at->get_subcommands().front();
  const CLI::Option* name = at == &app ? nullptr : at->get_option_no_throw("name");
  if (name == nullptr || name->count() == 0) return {};
  return name->results().front();
}

// One line on stderr: "shmcast tail: ring 'x': what went wrong; what to do".
int report(const CLI::App& app, const std::string& what, int code) {
  std::string line = shmcast::cli::one_line(what);
  const std::string ring = ring_of(app);
  if (!ring.empty() && line.find("'" + ring + "'") == std::string::npos) line = "ring '" + ring + "': " + line;
  std::fprintf(stderr, "%s: %s\n", command_path(app).c_str(), line.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shmcast " PROJECT_VERSION
               ": lock-free shared-memory broadcaster. Create, feed, tail, inspect and remove rings "
               "(POSIX shared memory /dev/shm/shmcast.NAME) and export their metrics.\n"
               "Exit codes: 0 success, 1 runtime error, 2 usage error.",
               "shmcast"};
  app.set_version_flag("--version", "shmcast " PROJECT_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  shmcast::cli::add_create_command(app);
  shmcast::cli::add_publish_command(app);
  shmcast::cli::add_tail_command(app);
  shmcast::cli::add_stat_command(app);
  shmcast::cli::add_list_command(app);
  shmcast::cli::add_rm_command(app);
  shmcast::cli::add_metrics_command(app);
#ifdef SHMCAST_HAVE_BRIDGE
  shmcast::cli::add_bridge_commands(app);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::RuntimeError& e) {
    // A command that already reported its errors and only sets the exit code.
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    // Parse errors and CLI::ValidationError thrown by a subcommand's callback.
    const std::string path = command_path(app);
    return report(app, std::string(e.what()) + " (see `" + path + " --help`)", 2);
  } catch (const shmcast::Error& e) {
    return report(app, e.what(), e.code() == shmcast::Errc::invalid_argument ? 2 : 1);
  } catch (const std::exception& e) {
    return report(app, e.what(), 1);
  }
  return 0;
}
