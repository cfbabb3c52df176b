// The `shmcast` subcommands. Each add_*_command() registers one subcommand on the app
// with a callback that does the work. Callbacks report failures by throwing:
// shmcast::Error for runtime failures (exit code 1; Errc::invalid_argument is a bad
// value given by the user, exit code 2) and CLI::ValidationError for usage errors
// (exit code 2). main() turns either into one line on standard error; an Error about a
// ring is thrown as Error(code, ring, reason), and main() adds the advice for its code.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace shmcast::cli {

void add_create_command(CLI::App& app);
void add_publish_command(CLI::App& app);
void add_tail_command(CLI::App& app);
void add_stat_command(CLI::App& app);
void add_list_command(CLI::App& app);
void add_rm_command(CLI::App& app);
void add_metrics_command(CLI::App& app);
// `bridge out|in` (cmd_bridge.cpp): compiled in only where the bridge library is built.
void add_bridge_commands(CLI::App& app);

// "4096", "64K", "64KiB", "1M", "2MiB", "1G" (binary multiples). Throws CLI::ValidationError.
inline std::uint64_t parse_size(std::string_view option, std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || p == text.data())
    throw CLI::ValidationError(std::string(option) + " '" + std::string(text) + "' is not a size (bytes, or with K, M or G)");
  std::string_view suffix(p, static_cast<std::size_t>(end - p));
  std::uint64_t unit = 1;
  if (suffix.empty() || suffix == "B") unit = 1;
  else if (suffix == "K" || suffix == "k" || suffix == "KiB") unit = 1ull << 10;
  else if (suffix == "M" || suffix == "MiB") unit = 1ull << 20;
  else if (suffix == "G" || suffix == "GiB") unit = 1ull << 30;
  else throw CLI::ValidationError(std::string(option) + " '" + std::string(text) + "': unknown unit (use K, M or G)");
  if (value > UINT64_MAX / unit) throw CLI::ValidationError(std::string(option) + " '" + std::string(text) + "' is too large");
  return value * unit;
}

// Permission bits in octal, "600" or "0644". Throws CLI::ValidationError.
inline unsigned parse_mode(std::string_view text) {
  unsigned mode = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty() || mode > 0777)
    throw CLI::ValidationError("--mode '" + std::string(text) + "' must be octal permission bits from 0 to 0777, e.g. 0644");
  return mode;
}

}  // namespace shmcast::cli
