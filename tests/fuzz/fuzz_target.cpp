// libFuzzer entry point: every input is a ring object (see fuzz_ring.hpp).
#include "fuzz_ring.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return shmcast::fuzz::run_one(data, size);
}
