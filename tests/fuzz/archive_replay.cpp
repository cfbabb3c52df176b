// shmcast-fuzz-archive-replay: the archive harness (fuzz_archive.hpp) without libFuzzer.
//   --mutations N      each seed made from a real archive, then N seeded mutations of each:
//                      bytes overwritten anywhere (headers, frames, CRCs, index), cut short,
//                      or grown with garbage; every build (plain, ASan, TSan) runs this
//   --write-seeds DIR  writes the seeds as files, the libFuzzer target's starting corpus
//   FILE...            runs these inputs (a libFuzzer reproducer)
#include "fuzz_archive.hpp"
#include "splitmix.hpp"

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

void mutate(std::vector<std::uint8_t>& bytes, std::uint64_t& seed) {
  const int edits = 1 + static_cast<int>(next(seed) % 6);
  for (int e = 0; e < edits && bytes.size() > 8; ++e) {
    const std::uint64_t r = next(seed);
    const std::size_t at = 4 + static_cast<std::size_t>(next(seed) % (bytes.size() - 4));
    switch (r % 5) {
      case 0: bytes[at] ^= static_cast<std::uint8_t>(1u << (r >> 8) % 8); break;             // a bit
      case 1: bytes[at] = static_cast<std::uint8_t>(r >> 16); break;                            // a byte
      case 2: {                                                                                 // a word
        const std::uint64_t w = (r >> 3) % 3 == 0 ? ~std::uint64_t{0} : (r >> 3) % 3 == 1 ? 0 : next(seed);
        std::memcpy(bytes.data() + at, &w, std::min<std::size_t>(8, bytes.size() - at));
        break;
      }
      case 3: bytes.resize(at); break;                                                          // cut short
      case 4: for (int k = 0; k < 40; ++k) bytes.push_back(static_cast<std::uint8_t>(next(seed))); break;  // garbage after
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-seeds") == 0) {
    std::filesystem::create_directories(argv[2]);
    int i = 0;
    for (const auto& seed : shmcast::fuzz::archive_seeds()) {
      std::ofstream out(std::string(argv[2]) + "/archive-seed-" + std::to_string(i++), std::ios::binary);
      out.write(reinterpret_cast<const char*>(seed.data()), static_cast<std::streamsize>(seed.size()));
    }
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "--mutations") == 0) {
    const long n = std::atol(argv[2]);
    std::uint64_t seed = 0x5EED;
    std::size_t runs = 0;
    for (const auto& s : shmcast::fuzz::archive_seeds()) {
      shmcast::fuzz::run_archive(s.data(), s.size());
      ++runs;
      for (long m = 0; m < n; ++m) {
        std::vector<std::uint8_t> bytes = s;
        mutate(bytes, seed);
        shmcast::fuzz::run_archive(bytes.data(), bytes.size());
        ++runs;
      }
    }
    std::printf("shmcast-fuzz-archive-replay: %zu archive inputs ran clean\n", runs);
    return 0;
  }
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    shmcast::fuzz::run_archive(bytes.data(), bytes.size());
  }
  std::printf("shmcast-fuzz-archive-replay: %d inputs ran clean\n", argc - 1);
  return 0;
}
