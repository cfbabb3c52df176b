#include "fuzz_archive.hpp"

#include <shmcast/archive.hpp>
#include <shmcast/error.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace shmcast::fuzz {

namespace fs = std::filesystem;

namespace {

std::string fresh_dir() {
  char tmpl[] = "/tmp/shmcast-fuzz-archive-XXXXXX";
  const char* made = ::mkdtemp(tmpl);
  if (made == nullptr) std::abort();
  return made;
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Reads everything an Archive gives, touching every payload byte.
void read_all(Archive& a) {
  volatile std::uint8_t sink = 0;
  for (int i = 0; i < 100'000; ++i) {
    const ReadResult r = a.next();
    if (!r) return;
    if (r.status == ReadStatus::message)
      for (std::byte b : r.message.payload) sink = sink + static_cast<std::uint8_t>(b);
  }
}

}  // namespace

int run_archive(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  std::uint32_t seg_len = 0;
  std::memcpy(&seg_len, data, 4);
  seg_len = static_cast<std::uint32_t>(std::min<std::size_t>(seg_len, size - 4));
  const std::string dir = fresh_dir();
  write_file(dir + "/00000000000000000000.seg", data + 4, seg_len);
  write_file(dir + "/00000000000000000000.idx", data + 4 + seg_len, size - 4 - seg_len);
  std::uint64_t ring_id = 0;
  try {
    Archive a(dir);
    ring_id = a.ring_id();
    read_all(a);
    const ArchiveInfo info = a.info();
    for (std::uint64_t seq : {std::uint64_t{0}, info.first_seq, info.first_seq + 1, (info.first_seq + info.next_seq) / 2,
                              info.next_seq, info.next_seq - 1, ~std::uint64_t{0}}) {
      a.seek(seq);
      read_all(a);
    }
  } catch (const Error&) {
  }
  try {
    // The writer's reopening: cuts what does not read clean, then appends after it.
    ArchiveWriter w(dir, ring_id, ArchiveOptions{.fsync = Fsync::never});
    const std::uint64_t next = w.next_seq().value_or(0);
    const char payload[] = "appended after the repair";
    if (next < (std::uint64_t{1} << 62)) {
      w.append(Message{next, 1, 2, std::as_bytes(std::span(payload))});
      w.sync();
      Archive again(dir);
      read_all(again);
    }
  } catch (const Error&) {
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}

std::vector<std::vector<std::uint8_t>> archive_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  for (int variant = 0; variant < 4; ++variant) {
    const std::string dir = fresh_dir();
    {
      ArchiveWriter w(dir, 0x1234 + variant, ArchiveOptions{.fsync = Fsync::never});
      std::vector<std::byte> buf(5000);
      std::uint64_t seq = 100 * variant;
      for (int i = 0; i < 200; ++i) {
        if (i % 37 == 5) {
          w.append_gap(Gap{seq, static_cast<std::uint64_t>(3 + variant), static_cast<GapCause>(i % 4)});
          seq += 3 + variant;
          continue;
        }
        const std::size_t n = static_cast<std::size_t>((i * 97 + variant * 13) % (variant == 3 ? 4000 : 120));
        for (std::size_t k = 0; k < n; ++k) buf[k] = static_cast<std::byte>(seq + k);
        w.append(Message{seq, static_cast<std::uint32_t>(i), seq * 3, {buf.data(), n}});
        ++seq;
      }
    }
    std::vector<std::uint8_t> seg = read_file(dir + "/00000000000000000000.seg");
    if (seg.empty()) {  // the first segment is named by the first sequence
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".seg") seg = read_file(e.path());
    }
    std::vector<std::uint8_t> idx;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".idx") idx = read_file(e.path());
    if (variant == 2 && seg.size() > 100) seg.resize(seg.size() - 13);  // a torn tail
    std::vector<std::uint8_t> input(4);
    const auto len = static_cast<std::uint32_t>(seg.size());
    std::memcpy(input.data(), &len, 4);
    input.insert(input.end(), seg.begin(), seg.end());
    input.insert(input.end(), idx.begin(), idx.end());
    seeds.push_back(std::move(input));
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return seeds;
}

}  // namespace shmcast::fuzz
