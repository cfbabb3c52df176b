// shmcast: the command-line tool for shmcast rings. Creates, feeds, tails, inspects,
// removes rings and exports their metrics; one file per subcommand.
//
// Exit codes: 0 success, 1 runtime error, 2 usage error. Every error is one line on
// standard error: the subcommand, the ring when the error concerns one, what went wrong
// and what to do (common/advice.hpp).
#include "commands.hpp"
#include "common/advice.hpp"
#include "common/format.hpp"
#include "common/output.hpp"

#include <shmcast/error.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "unknown"
#endif

namespace {

// The selected subcommands below `shmcast`, deepest last: "tail", "bridge out"; empty if none.
std::string subcommand_path(const CLI::App& app) {
  std::string path;
  const CLI::App* at = &app;
  for (;;) {
    const auto subs = at->get_subcommands();
    if (subs.empty()) break;
    at = subs.front();
    path += (path.empty() ? "" : " ") + at->get_name();
  }
  return path;
}

// One line on stderr: "shmcast tail: ring 'x': what went wrong; what to do". Control
// characters (from names or labels) are escaped: the line cannot drive the terminal.
int report(const CLI::App& app, const std::string& line, int code) {
  const std::string path = subcommand_path(app);
  std::fprintf(stderr, "shmcast%s%s: %s\n", path.empty() ? "" : " ", path.c_str(),
               shmcast::cli::printable(shmcast::cli::one_line(line)).c_str());
  return code;
}

// Levenshtein distance, for suggesting the subcommand meant.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The first argument names the subcommand; an unknown one is a usage error of its own
// (CLI11 would say "A subcommand is required"), with the closest name when one is close.
// Empty when argv[1] is an option or a known subcommand.
std::string unknown_subcommand(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return {};
  const std::string given = argv[1];
  std::string best;
  std::size_t best_distance = SIZE_MAX;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->check_name(given)) return {};
    const std::size_t d = edit_distance(given, sub->get_name());
    const bool prefix = sub->get_name().rfind(given, 0) == 0 || given.rfind(sub->get_name(), 0) == 0;
    const std::size_t score = prefix ? std::min<std::size_t>(d, 1) : d;
    if (score < best_distance) {
      best_distance = score;
      best = sub->get_name();
    }
  }
  std::string line = "unknown subcommand '" + given + "'";
  if (!best.empty() && best_distance <= std::max<std::size_t>(2, best.size() / 3)) line += "; did you mean '" + best + "'?";
  return line + " (see `shmcast --help`)";
}

}  // namespace

int main(int argc, char** argv) {
  shmcast::cli::guard_standard_descriptors();  // before anything is opened
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
  shmcast::cli::add_record_command(app);
  shmcast::cli::add_dump_command(app);
  shmcast::cli::add_archive_info_command(app);
  shmcast::cli::add_replay_command(app);
#ifdef SHMCAST_HAVE_BRIDGE
  shmcast::cli::add_bridge_commands(app);
#endif

  if (const std::string unknown = unknown_subcommand(app, argc, argv); !unknown.empty()) return report(app, unknown, 2);
  std::signal(SIGPIPE, SIG_IGN);  // a closed output is handled where it is written (common/output.hpp)
  try {
    app.parse(argc, argv);
    shmcast::cli::finish_stdout();
  } catch (const shmcast::cli::OutputClosed&) {
    return 0;  // the reader of the output went away (`| head`): a normal end
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
    const std::string path = subcommand_path(app);
    return report(app, std::string(e.what()) + " (see `shmcast" + (path.empty() ? "" : " ") + path + " --help`)", 2);
  } catch (const shmcast::Error& e) {
    return report(app, shmcast::cli::error_line(e, subcommand_path(app)),
                  e.code() == shmcast::Errc::invalid_argument ? 2 : 1);
  } catch (const std::exception& e) {
    return report(app, e.what(), 1);
  }
  return 0;
}
