// The on-disk format of an archive (docs/DESIGN.md, "The archive"): a directory of
// segment files named by their first sequence, each with a sparse index file beside it.
// Independent of the ring's layout. Integers are native little-endian, fixed width.
//
//   NNNNNNNNNNNNNNNNNNNN.seg   SegmentHeader (64 bytes), then frames back to back
//   NNNNNNNNNNNNNNNNNNNN.idx   IndexRecord (16 bytes) per indexed frame: derived data,
//                              checked before use, rebuilt by the writer when cut
//
// A frame: FrameHeader (32 bytes) and the payload, padded to 8 bytes. The CRC-32C covers
// the header (with its crc field 0) and the payload.
#pragma once

#include <shmcast/error.hpp>
#include <shmcast/types.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace shmcast::detail {

inline constexpr std::uint64_t kArchiveMagic = 0x3143524143'4D4853ull;  // "SHMCARC1" LE
inline constexpr std::uint32_t kArchiveVersion = 1;
inline constexpr std::uint32_t kFrameMessage = 0x4753'4D01;  // kinds no zero-filled or text bytes imitate easily
inline constexpr std::uint32_t kFrameGap = 0x5041'4702;
inline constexpr std::uint32_t kMaxFramePayload = std::uint32_t{1} << 30;  // a ring's largest max_message
// An index entry every this many frames of a segment: a seek scans at most that many.
inline constexpr std::uint64_t kFramesPerIndexEntry = 64;
// The file in an archive's directory that its one writer holds an exclusive flock on for
// its lifetime. Not a segment name, so nothing takes it for one.
inline constexpr const char* kLockFile = ".lock";
[[nodiscard]] inline std::string lock_path(const std::string& dir) { return dir + "/" + kLockFile; }

struct SegmentHeader {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t header_size;
  std::uint64_t first_seq;
  std::uint64_t ring_id;
  std::uint64_t created_ns;
  unsigned char pad[64 - 44];
  std::uint32_t crc;  // over the bytes before it
};
static_assert(sizeof(SegmentHeader) == 64);

struct FrameHeader {
  std::uint32_t kind;    // kFrameMessage or kFrameGap
  std::uint32_t length;  // payload bytes (0 for a gap)
  std::uint64_t seq;     // the message's sequence, or the gap's first
  std::uint64_t word;    // a message's timestamp_ns, or the gap's count
  std::uint32_t type;    // a message's type, or a gap's cause word (gap_cause_word)
  std::uint32_t crc;
};
static_assert(sizeof(FrameHeader) == 32);

// A gap frame's `type`: 1 + the GapCause its recorder met, or 0 where that is not known
// (archives written before the cause was kept, which readers of this format then took as
// 0 and ignored, and append_gap without one).
[[nodiscard]] constexpr std::uint32_t gap_cause_word(std::optional<GapCause> cause) noexcept {
  return cause ? 1 + static_cast<std::uint32_t>(*cause) : 0;
}
// What a reader of the archive reports for a gap frame: the messages were never published
// (skipped) or were dropped as corrupt by the recorder's read, or else the archive simply
// does not hold them (the recorder was lapped, or the word is unknown: not_archived).
[[nodiscard]] constexpr GapCause archived_gap_cause(std::uint32_t word) noexcept {
  if (word == gap_cause_word(GapCause::skipped)) return GapCause::skipped;
  if (word == gap_cause_word(GapCause::corrupt)) return GapCause::corrupt;
  return GapCause::not_archived;
}

struct IndexRecord {
  std::uint64_t seq;
  std::uint64_t offset;
};
static_assert(sizeof(IndexRecord) == 16);

[[nodiscard]] constexpr std::uint64_t frame_bytes(std::uint32_t length) noexcept {
  return sizeof(FrameHeader) + (std::uint64_t{length} + 7) / 8 * 8;
}
// The sequence after a frame: a message's next, or past the gap.
[[nodiscard]] constexpr std::uint64_t frame_end(const FrameHeader& f) noexcept {
  return f.kind == kFrameGap ? f.seq + f.word : f.seq + 1;
}

// CRC-32C (Castagnoli), continuing from `crc` (start with 0): SSE4.2 where the CPU has
// it, Boost.CRC's table otherwise; the two agree bit for bit.
[[nodiscard]] std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) noexcept;
[[nodiscard]] std::uint32_t frame_crc(const FrameHeader& header, const std::byte* payload) noexcept;
[[nodiscard]] std::uint32_t segment_crc(const SegmentHeader& header) noexcept;
// Whether a header read from disk is sound by itself (kind, bounds of the length, count).
[[nodiscard]] bool plausible(const FrameHeader& header) noexcept;

struct SegmentFile {
  std::uint64_t first_seq = 0;
  std::string path;        // the .seg file
  std::string index_path;  // the .idx beside it
};
[[nodiscard]] std::string segment_name(std::uint64_t first_seq, const char* suffix);
// The segments of `dir`, by first sequence. Names that are not exactly 20 digits and
// ".seg" are ignored (an operator's notes beside the archive are not segments). Throws
// Error: not_found, permission_denied, system.
[[nodiscard]] std::vector<SegmentFile> list_segments(const std::string& dir);
// Reads a segment's header; nullopt if the file is too short or its header is not one of
// ours (the caller decides whether that is a torn new segment or a foreign file).
struct HeaderCheck {
  std::optional<SegmentHeader> header;
  std::string problem;         // why not, when not
  Errc code = Errc::corrupt;   // ... as an error: foreign (bad magic), version_mismatch, corrupt
  bool being_created = false;  // fewer bytes than a header: only a segment still being created
                               // (or one whose creator died at once) looks so
};
[[nodiscard]] HeaderCheck read_segment_header(int fd);

// Where a segment's frames stop reading at offset `bad` (sequence `seq` expected there):
// a torn tail, as a crash or a write in progress leaves, has nothing sound after it; damage
// in the middle has. Returns what the damage is, or nullopt for a torn tail (including a
// frame at `bad` that reads now: it was being written). Frames start on 8-byte boundaries;
// every one from `bad` to the end is tried, reading the tail in chunks (a torn record may
// be a gigabyte long) and checking a frame's CRC only where its header is plausible, lies
// within the file and does not go back in sequence. A sound frame seen after `bad` is
// damage only if the frame at `bad` still does not read after it: a writer's bytes become
// visible in file order, so one still writing would have finished it.
[[nodiscard]] std::optional<std::string> damage_after(int fd, std::uint64_t bad, std::uint64_t seq);

// Whether a writer is at work in the archive in `dir` now. Besides its exclusive flock,
// the writer holds an open-file-description write lock on the lock file, which a reader
// can ask about without taking any lock (F_OFD_GETLK), so no reader ever stands in a
// writer's way. A writer that opened the archive cut or refused any damage in its newest
// segment and appends only whole frames of its own, so while it writes, a bad frame there
// is its write in progress, even one whose payload holds bytes that read as frames.
[[nodiscard]] bool writer_active(const std::string& dir) noexcept;
// A reader's verdict on a bad frame at `bad` in the newest segment of the archive in `dir`
// (sequence `seq` expected there): nothing wrong while a writer is at work (its write in
// progress), else damage_after's.
[[nodiscard]] std::optional<std::string> newest_tail_damage(const std::string& dir, int fd, std::uint64_t bad,
                                                            std::uint64_t seq);
// The writer's side: takes that lock on `lock_fd` (open for writing); false if another
// process holds it.
[[nodiscard]] bool take_writer_lock(int lock_fd) noexcept;
// The sparse index of a segment, as far as it can be trusted without reading frames:
// entries in increasing order of sequence and offset, each past the header.
[[nodiscard]] std::vector<IndexRecord> read_index(const std::string& path);

}  // namespace shmcast::detail

namespace shmcast::detail {

// One frame read from a segment file.
enum class FrameRead {
  ok,    // the header and payload() hold it, checked against its CRC
  end,   // no byte at that offset: nothing more yet
  bad,   // cut short, implausible, or failing its CRC
};

// Up to `n` bytes of `fd` from `offset` into `out`, through short reads and EINTR; how many
// it got (fewer at the end of the file or on an error).
std::uint64_t read_at(int fd, std::byte* out, std::uint64_t n, std::uint64_t offset) noexcept;

// Reads the frames of one segment file through a buffer of at least 1 MiB, so that
// following a segment costs a system call per megabyte, not two per record.
class FrameReader {
 public:
  explicit FrameReader(int fd = -1) noexcept : fd_(fd) {}
  void reset(int fd) noexcept {
    fd_ = fd;
    start_ = length_ = 0;
  }
  // The frame at `offset`. Its payload stays valid until the next call.
  FrameRead read(std::uint64_t offset, FrameHeader& header);
  [[nodiscard]] std::span<const std::byte> payload() const noexcept { return payload_; }

 private:
  // Whether [offset, offset + n) is in the buffer, refilling it from `offset` if not;
  // `available` gets how many bytes the file has there (up to what was asked).
  bool ensure(std::uint64_t offset, std::uint64_t n, std::uint64_t& available);
  int fd_ = -1;
  std::vector<std::byte> buffer_;
  std::uint64_t start_ = 0;   // file offset of buffer_[0]
  std::uint64_t length_ = 0;  // valid bytes in buffer_
  std::span<const std::byte> payload_;
};

}  // namespace shmcast::detail
