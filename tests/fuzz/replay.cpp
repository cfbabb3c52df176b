// shmcast-fuzz-replay [--mutations N] FILE|DIR...: runs every file through the fuzzing
// harness with the ordinary compiler, so plain, ASan and TSan builds exercise the seed
// corpus. With --mutations N, each file also runs N times more with a few of its 8-byte
// words overwritten (seeded, so every run is the same): random values and the ones a ring
// holds (0, ~0, stamps and positions near its head), wherever they fall - header,
// producer and reserve lines, records, index, snapshot area - as a fuzzer would, without
// one.
#include "fuzz_ring.hpp"
#include "splitmix.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

std::uint64_t next(std::uint64_t& s) { return shmcast::fuzz::splitmix_next(s); }

void mutate(std::vector<char>& bytes, std::uint64_t& seed) {
  if (bytes.size() < 32) return;
  const int words = 1 + static_cast<int>(next(seed) % 4);
  for (int i = 0; i < words; ++i) {
    // After the flags and start sequence; 8-byte aligned from there, as the ring's fields are.
    const std::size_t at = 9 + (next(seed) % ((bytes.size() - 17) / 8)) * 8;
    std::uint64_t old = 0;
    std::memcpy(&old, bytes.data() + at, 8);
    std::uint64_t value = 0;
    switch (next(seed) % 8) {
      case 0: value = 0; break;
      case 1: value = ~std::uint64_t{0}; break;
      case 2: value = old + 1; break;
      case 3: value = old - 1; break;
      case 4: value = old + 32 * (next(seed) % 256); break;
      case 5: value = old ^ (std::uint64_t{1} << (next(seed) % 64)); break;
      case 6: value = next(seed) % 4096; break;
      default: value = next(seed); break;
    }
    std::memcpy(bytes.data() + at, &value, 8);
  }
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  long mutations = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--mutations" && i + 1 < argc) {
      mutations = std::strtol(argv[++i], nullptr, 10);
      continue;
    }
    const fs::path arg(argv[i]);
    if (fs::is_directory(arg)) {
      for (const auto& entry : fs::directory_iterator(arg))
        if (entry.is_regular_file()) files.push_back(entry.path());
    } else {
      files.push_back(arg);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "shmcast-fuzz-replay: no input files\n");
    return 2;
  }
  std::size_t runs = 0;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (std::getenv("SHMCAST_FUZZ_VERBOSE") != nullptr) std::fprintf(stderr, "%s\n", file.filename().c_str());
    shmcast::fuzz::run_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++runs;
    std::uint64_t seed = std::hash<std::string>{}(file.filename().string());
    for (long m = 0; m < mutations; ++m) {
      std::vector<char> changed = bytes;
      mutate(changed, seed);
      shmcast::fuzz::run_one(reinterpret_cast<const std::uint8_t*>(changed.data()), changed.size());
      ++runs;
    }
  }
  std::printf("shmcast-fuzz-replay: %zu inputs (%zu files, %ld mutations each) ran clean\n", runs, files.size(), mutations);
  return 0;
}
