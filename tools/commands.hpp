// The `shmcast` subcommands. Each add_*_command() registers one subcommand on the app
// with a callback that does the work. Callbacks report failures by throwing:
// shmcast::Error for runtime failures (exit code 1; Errc::invalid_argument is a bad
// value given by the user, exit code 2) and CLI::ValidationError for usage errors
// (exit code 2). main() turns either into one line on standard error; an Error about a
// ring is thrown as Error(code, ring, reason), and main() adds the advice for its code.
#pragma once

#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>
#include <shmcast/types.hpp>

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shmcast::cli {

void add_create_command(CLI::App& app);
void add_publish_command(CLI::App& app);
void add_tail_command(CLI::App& app);
void add_stat_command(CLI::App& app);
void add_list_command(CLI::App& app);
void add_rm_command(CLI::App& app);
void add_metrics_command(CLI::App& app);
// The archive (issue 19): cmd_record.cpp, cmd_dump.cpp, cmd_archive_info.cpp, cmd_replay.cpp.
void add_record_command(CLI::App& app);
void add_dump_command(CLI::App& app);
void add_archive_info_command(CLI::App& app);
void add_replay_command(CLI::App& app);
// `bridge out|in` (cmd_bridge.cpp): compiled in only where the bridge library is built.
void add_bridge_commands(CLI::App& app);

// "message of 70000 bytes exceeds the ring's maximum message size of 65536 bytes": what
// `publish` and `replay` say of a message before they hand it to the ring, then saying
// what was written before it (the library's own refusal can only say "nothing was written").
inline std::string too_large(std::uint64_t bytes, std::uint32_t max_message) {
  return "message of " + std::to_string(bytes) + " bytes exceeds the ring's maximum message size of " +
         std::to_string(max_message) + " bytes";
}

// Numeric options are taken as text and parsed here, never by CLI11 into an unsigned
// type: CLI11 2.1.2 wraps "-3" into 2^64-3. Each parser rejects a sign, spaces, overflow
// and anything outside [min, max] with a CLI::ValidationError naming the option and its
// range (exit code 2).

// A decimal integer from `min` to `max`.
inline std::uint64_t parse_uint(std::string_view option, std::string_view text, std::uint64_t min, std::uint64_t max) {
  const std::string range = std::to_string(min) + " to " + std::to_string(max);
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (!text.empty() && text[0] == '-')
    throw CLI::ValidationError(std::string(option) + " '" + std::string(text) + "' is negative: it must be from " + range);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && p == end && value > max))
    throw CLI::ValidationError(std::string(option) + " '" + std::string(text) + "' is too large: it must be from " + range);
  if (ec != std::errc() || p != end || text.empty())
    throw CLI::ValidationError(std::string(option) + " '" + std::string(text) + "' is not a whole number from " + range);
  if (value < min)
    throw CLI::ValidationError(std::string(option) + " '" + std::string(text) + "' is too small: it must be from " + range);
  return value;
}

// A finite decimal number greater than 0 (at least `min`, when given) and at most `max`
// (no NaN, no infinity). A `min` keeps what the value becomes (a delay of 1 / value)
// inside what a clock can count.
inline double parse_positive(std::string_view option, std::string_view text, double max, std::string_view unit,
                             double min = 0) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, value);
  char limit[32], least[32];
  std::snprintf(limit, sizeof limit, "%.15g", max);
  std::snprintf(least, sizeof least, "%.15g", min);
  const std::string what = std::string(option) + " '" + std::string(text) + "'";
  const std::string must = "must be a number of " + std::string(unit) +
                           (min > 0 ? " from " + std::string(least) + " to " : " greater than 0 and at most ") + limit;
  if (text.empty() || ec == std::errc::invalid_argument || p != end) throw CLI::ValidationError(what + " is not a number: it " + must);
  if (ec == std::errc::result_out_of_range) {  // from_chars leaves `value` alone: strtod tells which way
    const double v = std::strtod(std::string(text).c_str(), nullptr);
    if (v < 0) throw CLI::ValidationError(what + " is negative: it " + must);
    if (v < 1) throw CLI::ValidationError(what + " is too small: it " + must);
    throw CLI::ValidationError(what + " is too large: it " + must);
  }
  if (value != value) throw CLI::ValidationError(what + " is not a number: it " + must);
  if (value > max) throw CLI::ValidationError(what + " is too large: it " + must);
  if (!(value > 0)) throw CLI::ValidationError(what + (value < 0 ? " is negative: it " : " is zero: it ") + must);
  if (value < min) throw CLI::ValidationError(what + " is too small: it " + must);
  return value;
}

// "4096", "64K", "64k", "64KiB", "1M", "1m", "2MiB", "1G", "1g", "1GiB" (binary multiples). Throws
// CLI::ValidationError; `limit` ("at most 64G") is added to the error for a value past 64 bits.
inline std::uint64_t parse_size(std::string_view option, std::string_view text, std::string_view limit = {}) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const std::string what = std::string(option) + " '" + std::string(text) + "'";
  const std::string too_large = what + " is too large" + (limit.empty() ? "" : ": " + std::string(limit));
  if (!text.empty() && text[0] == '-')
    throw CLI::ValidationError(what + " is negative: it must be a size in bytes (K, M or G suffixes allowed)");
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range) throw CLI::ValidationError(too_large);
  if (ec != std::errc() || p == text.data())
    throw CLI::ValidationError(what + " is not a size (bytes, or with K, M or G)");
  std::string_view suffix(p, static_cast<std::size_t>(end - p));
  std::uint64_t unit = 1;
  if (suffix.empty() || suffix == "B") unit = 1;
  else if (suffix == "K" || suffix == "k" || suffix == "KiB") unit = 1ull << 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB") unit = 1ull << 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB") unit = 1ull << 30;
  else throw CLI::ValidationError(what + ": unknown unit (use K, M or G)");
  if (value > UINT64_MAX / unit) throw CLI::ValidationError(too_large);
  return value * unit;
}

// --size BYTES: the ring's bytes, a power of two from 4 KiB to 64 GiB (checked with the
// rest of the geometry by check_geometry).
inline std::uint64_t parse_ring_size(std::string_view text) {
  return parse_size("--size", text, "the ring is at most 64G");
}

// --max-message BYTES: from 1 byte to 1 GiB here; what the ring allows (half the ring less
// a record header) is checked with the ring size by check_geometry. Parsed as 64 bits
// first, so that 4G is refused rather than cut to 32 bits.
inline std::uint32_t parse_max_message(std::string_view text) {
  const std::uint64_t value = parse_size("--max-message", text, "the largest message is at most 1 GiB (1073741824 bytes)");
  const std::string what = "--max-message '" + std::string(text) + "'";
  if (value == 0) throw CLI::ValidationError(what + " is zero: the largest message must be at least 1 byte");
  if (value > kMaxMessageLimit)
    throw CLI::ValidationError(what + " is too large: the largest message is at most 1 GiB (1073741824 bytes)");
  return static_cast<std::uint32_t>(value);
}

// The library's geometry rules (shmcast::geometry_problem), applied before anything is
// made. A value that parses but that ring `ring` cannot have is Errc::invalid_argument
// about that ring (exit code 2), naming the option at fault: --size when the ring itself
// is wrong, else --max-message, else --snapshot-size. `size_text` and `max_text` are the
// values as given (empty: not given, the default was used).
inline void check_geometry(const std::string& ring, const Geometry& g, std::string_view size_text,
                           std::string_view max_text) {
  if (std::string why = geometry_problem(Geometry{g.ring_bytes, 0, 0}); !why.empty())
    throw Error(Errc::invalid_argument, ring,
                "--size '" + std::string(size_text.empty() ? std::to_string(g.ring_bytes) : size_text) + "': " + why);
  if (std::string why = geometry_problem(Geometry{g.ring_bytes, g.max_message, 0}); !why.empty())
    throw Error(Errc::invalid_argument, ring,
                "--max-message '" + std::string(max_text) + "' does not fit a ring of " + std::to_string(g.ring_bytes) +
                    " bytes: " + why);
  if (std::string why = geometry_problem(g); !why.empty()) throw Error(Errc::invalid_argument, ring, "--snapshot-size: " + why);
}

// Layout version 3 has no slots. --slots and --slot-size stay known to the subcommands
// that took them (hidden from --help), so that a script written for an older release gets
// this usage error rather than "not expected" or, worse, a ring of the default size.
inline constexpr const char* kSlotOptionsReplaced =
    "--slots/--slot-size were replaced by --size BYTES and --max-message BYTES in layout version 3 (records of any "
    "size packed in one byte ring)";

// Adds the retired --slots and --slot-size to `sub`, with or without a value. The returned
// check throws the usage error if either was given: call it first in the callback.
inline std::function<void()> add_retired_slot_options(CLI::App* sub) {
  auto values = std::make_shared<std::vector<std::string>>();
  for (const char* name : {"--slots", "--slot-size"}) sub->add_option(name, *values)->expected(0, 1)->group("");
  return [sub, values] {
    if (sub->count("--slots") + sub->count("--slot-size") != 0) throw CLI::ValidationError(kSlotOptionsReplaced);
  };
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
