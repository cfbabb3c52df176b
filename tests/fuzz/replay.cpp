// shmcast-fuzz-replay FILE|DIR...: runs every file through the fuzzing harness with the
// ordinary compiler, so plain, ASan and TSan builds exercise the seed corpus.
#include "fuzz_ring.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
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
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    shmcast::fuzz::run_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("shmcast-fuzz-replay: %zu inputs ran clean\n", files.size());
  return 0;
}
