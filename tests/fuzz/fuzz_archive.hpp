// The archive's fuzzing harness: an input is one segment file and its index, written into
// a fresh directory, which the archive reader (open, next, seek, info) and the writer's
// reopening (the torn-tail repair, then an append) must take without a crash, a hang, an
// out-of-bounds read or any failure but a shmcast::Error.
//   input = [u32 segment length][segment bytes][index bytes]
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace shmcast::fuzz {

int run_archive(const std::uint8_t* data, std::size_t size);

// Inputs made from real archives (messages of several sizes, gaps, a torn tail), for the
// seed corpus and the mutation runs.
std::vector<std::vector<std::uint8_t>> archive_seeds();

}  // namespace shmcast::fuzz
