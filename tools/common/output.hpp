// Standard output for every subcommand but `tail` (which writes from a thread of its own):
// one rule for a reader of the output that goes away, as `| head` does. The command ends
// normally, with status 0; any other failure to write (a full disk, /dev/full) is a
// runtime error, status 1, never a silent 0. SIGPIPE is ignored from the start (main.cpp),
// so a closed pipe is an error to look at, not a signal that kills with status 141.
#pragma once

#include <string_view>

namespace shmcast::cli {

// Thrown when the reader of standard output has gone; main() then ends with status 0.
struct OutputClosed {};

// Writes `text` and flushes it. Throws OutputClosed when the reader has gone, and
// shmcast::Error (Errc::system) when the write failed otherwise.
void write_stdout(std::string_view text);

// What a subcommand printed with printf and friends, flushed and checked by the same rule:
// called once after it returned.
void finish_stdout();

// Called first in main(): a standard descriptor (0, 1, 2) the process was started without
// would be the number the next open() returns, and a ring opened read-write there would be
// written by every message to stderr (or read as stdin). Each closed one gets /dev/null,
// opened the other way round (stdin write-only, stdout and stderr read-only), so that any
// use of it still fails with EBADF, as on a closed descriptor, while no file can take it.
void guard_standard_descriptors() noexcept;

// Whether `fd` (0, 1 or 2) was closed when the process started (guard_standard_descriptors).
[[nodiscard]] bool started_closed(int fd) noexcept;

}  // namespace shmcast::cli
