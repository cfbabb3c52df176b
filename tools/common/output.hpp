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

}  // namespace shmcast::cli
