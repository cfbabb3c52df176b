#include "archive_format.hpp"

#include <shmcast/error.hpp>
#include <shmcast/types.hpp>

#include <boost/crc.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace shmcast::detail {

namespace {

using BoostCrc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc, const unsigned char* p,
                                                             std::size_t n) noexcept {
  std::uint64_t c = ~crc;
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- != 0) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}
const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
#if defined(__x86_64__)
  if (kHaveSse42) return crc32c_sse42(crc, p, size);
#endif
  // Boost's register holds the running value before the final xor.
  BoostCrc32c c(crc ^ 0xFFFFFFFFu);
  c.process_bytes(p, size);
  return c.checksum();
}

std::uint32_t frame_crc(const FrameHeader& header, const std::byte* payload) noexcept {
  FrameHeader h = header;
  h.crc = 0;
  return crc32c(crc32c(0, &h, sizeof h), payload, header.length);
}

std::uint32_t segment_crc(const SegmentHeader& header) noexcept {
  return crc32c(0, &header, offsetof(SegmentHeader, crc));
}

// Sequences stay at or below kMaxSequence, as in the ring, so that no frame's end wraps.
bool plausible(const FrameHeader& h) noexcept {
  if (h.seq > kMaxSequence) return false;
  if (h.kind == kFrameMessage) return h.length <= kMaxFramePayload;
  if (h.kind == kFrameGap) return h.length == 0 && h.word != 0 && h.word <= kMaxSequence + 1 - h.seq;
  return false;
}

std::string segment_name(std::uint64_t first_seq, const char* suffix) {
  char name[40];
  std::snprintf(name, sizeof name, "%020llu%s", static_cast<unsigned long long>(first_seq), suffix);
  return name;
}

std::vector<SegmentFile> list_segments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) throw Error(Errc::not_found, "archive " + dir + ": no such directory");
    if (e == EACCES) throw Error(Errc::permission_denied, "archive " + dir + ": permission denied");
    throw Error(Errc::system, "archive " + dir + ": " + std::strerror(e));
  }
  std::vector<SegmentFile> out;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name.size() != 24 || name.compare(20, 4, ".seg") != 0) continue;
    if (!std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) continue;
    errno = 0;
    const unsigned long long v = std::strtoull(name.substr(0, 20).c_str(), nullptr, 10);
    if (errno != 0) continue;
    out.push_back({v, dir + "/" + name, dir + "/" + name.substr(0, 20) + ".idx"});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.first_seq < b.first_seq; });
  return out;
}

HeaderCheck read_segment_header(int fd) {
  SegmentHeader h{};
  const ssize_t n = ::pread(fd, &h, sizeof h, 0);
  if (n != static_cast<ssize_t>(sizeof h))
    return {std::nullopt, n < 0 ? std::string("cannot be read (") + std::strerror(errno) + ")" : "shorter than a segment header",
            Errc::corrupt, n >= 0};
  if (h.magic != kArchiveMagic) return {std::nullopt, "not a shmcast archive segment (bad magic)", Errc::foreign};
  if (h.version != kArchiveVersion)
    return {std::nullopt,
            "archive format version " + std::to_string(h.version) + ", this build reads version " + std::to_string(kArchiveVersion),
            Errc::version_mismatch};
  if (h.header_size != sizeof h || segment_crc(h) != h.crc) return {std::nullopt, "segment header fails its CRC"};
  return {h, {}};
}

std::vector<IndexRecord> read_index(const std::string& path) {
  std::vector<IndexRecord> out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  IndexRecord r;
  std::uint64_t offset = 0;
  while (::pread(fd, &r, sizeof r, static_cast<off_t>(offset)) == static_cast<ssize_t>(sizeof r)) {
    offset += sizeof r;
    if (r.offset < sizeof(SegmentHeader)) break;
    if (!out.empty() && (r.seq <= out.back().seq || r.offset <= out.back().offset)) break;
    out.push_back(r);
  }
  ::close(fd);
  return out;
}

}  // namespace shmcast::detail

namespace shmcast::detail {

std::uint64_t read_at(int fd, std::byte* out, std::uint64_t n, std::uint64_t offset) noexcept {
  std::uint64_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::uint64_t>(r);
  }
  return got;
}

// Offsets come from disk too (an index entry): no sum below may wrap.
bool FrameReader::ensure(std::uint64_t offset, std::uint64_t n, std::uint64_t& available) {
  if (offset >= start_ && n <= length_ && offset - start_ <= length_ - n) {
    available = n;
    return true;
  }
  available = 0;
  if (offset > static_cast<std::uint64_t>(INT64_MAX) - n) return false;  // past any file
  constexpr std::uint64_t kChunk = std::uint64_t{1} << 20;
  if (n > kChunk) {
    // A length read from disk is trusted only as far as the file goes: a corrupt header
    // that claims a gigabyte must not make the reader allocate one.
    struct stat st{};
    if (::fstat(fd_, &st) != 0) return false;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size < offset + n) {
      available = size > offset ? size - offset : 0;
      return false;
    }
  }
  const std::uint64_t want = std::max(n, kChunk);
  if (buffer_.size() < want) buffer_.resize(want);
  const std::uint64_t got = read_at(fd_, buffer_.data(), want, offset);
  start_ = offset;
  length_ = got;
  available = std::min(got, n);
  return got >= n;
}

FrameRead FrameReader::read(std::uint64_t offset, FrameHeader& header) {
  // What failed is read again next time: a writer may be completing it right now.
  const auto failed = [&](FrameRead why) {
    length_ = 0;
    return why;
  };
  std::uint64_t available = 0;
  if (!ensure(offset, sizeof header, available)) return failed(available == 0 ? FrameRead::end : FrameRead::bad);
  std::memcpy(&header, buffer_.data() + (offset - start_), sizeof header);
  if (!plausible(header)) return failed(FrameRead::bad);
  if (!ensure(offset, frame_bytes(header.length), available)) return failed(FrameRead::bad);
  payload_ = {buffer_.data() + (offset - start_) + sizeof header, header.length};
  return frame_crc(header, payload_.data()) == header.crc ? FrameRead::ok : failed(FrameRead::bad);
}

}  // namespace shmcast::detail

namespace shmcast::detail {

std::optional<std::string> damage_after(int fd, std::uint64_t bad, std::uint64_t seq) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  constexpr std::uint64_t kScanChunk = std::uint64_t{1} << 20;
  std::vector<std::byte> chunk(kScanChunk + sizeof(FrameHeader));
  FrameReader check(fd);
  FrameHeader h{};
  // `check` refills from the file for `bad`: its buffer starts at a later offset by then.
  const auto reads_now = [&] { return check.read(bad, h) == FrameRead::ok && h.seq == seq; };
  for (std::uint64_t base = bad; base + sizeof(FrameHeader) <= size; base += kScanChunk) {
    const std::uint64_t want = std::min<std::uint64_t>(chunk.size(), size - base);
    const std::uint64_t got = read_at(fd, chunk.data(), want, base);
    for (std::uint64_t i = 0; i < kScanChunk && i + sizeof(FrameHeader) <= got; i += 8) {
      std::memcpy(&h, chunk.data() + i, sizeof h);
      const std::uint64_t at = base + i;
      if (!plausible(h) || (at != bad && h.seq < seq) || at + frame_bytes(h.length) > size) continue;
      if (check.read(at, h) != FrameRead::ok) continue;
      if (at == bad && h.seq == seq) return std::nullopt;  // written meanwhile
      const std::uint64_t found = h.seq;
      if (reads_now()) return std::nullopt;
      if (at == bad)
        return "record " + std::to_string(found) + " at offset " + std::to_string(bad) + " is out of order (" +
               std::to_string(seq) + " was expected)";
      return "the record at offset " + std::to_string(bad) + " is damaged but record " + std::to_string(found) +
             " at offset " + std::to_string(at) + " after it reads";
    }
  }
  return std::nullopt;
}

}  // namespace shmcast::detail

namespace shmcast::detail {

bool writer_active(const std::string& dir) noexcept {
  const int fd = ::open(lock_path(dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // never written: no writer
  struct flock query {};
  query.l_type = F_WRLCK;
  query.l_whence = SEEK_SET;
  const bool held = ::fcntl(fd, F_OFD_GETLK, &query) == 0 && query.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

std::optional<std::string> newest_tail_damage(const std::string& dir, int fd, std::uint64_t bad, std::uint64_t seq) {
  if (writer_active(dir)) return std::nullopt;
  return damage_after(fd, bad, seq);
}

bool take_writer_lock(int lock_fd) noexcept {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  while (::fcntl(lock_fd, F_OFD_SETLK, &lock) != 0)
    if (errno != EINTR) return false;
  return true;
}

}  // namespace shmcast::detail
