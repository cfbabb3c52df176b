// What the `shmcast` CLI tells the user to do about an error, in one place.
//
// shmcast::Error carries facts only (code, ring, reason); the advice depends on the
// program, so the CLI maps each code to its one-line advice here, and every error line
// the CLI prints (main.cpp, and the per-ring lines of `list` and `metrics`) is made by
// error_line() below.
#pragma once

#include <shmcast/error.hpp>

#include <string>
#include <string_view>

namespace shmcast::cli {

// The advice for an error of `code` about ring `ring` (NAME in the advice when empty),
// met by subcommand `command` ("rm", "tail", "bridge out"; empty: any). Empty when there
// is nothing better to say than the reason.
[[nodiscard]] std::string advice(Errc code, const std::string& ring, std::string_view command = {});

// The advice for an error of the on-disk archive (`record`, `dump`, `archive-info`,
// `replay`, `tail --archive`); empty when the reason says all.
[[nodiscard]] std::string archive_advice(Errc code);

// "ring 'R': reason; advice" on one line, the ring part only when the error concerns one,
// the advice only when the reason does not already name a `shmcast ...` command to run.
[[nodiscard]] std::string error_line(const Error& e, std::string_view command = {});

}  // namespace shmcast::cli
