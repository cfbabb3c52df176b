// libFuzzer entry point for the archive: every input is a segment and its index (fuzz_archive.hpp).
#include "fuzz_archive.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return shmcast::fuzz::run_archive(data, size);
}
