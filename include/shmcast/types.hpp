// Plain value types shared by the producer, the reader and the inspection API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace shmcast {

// A record in the ring is this header (sequence stamp, length, type, timestamp) and the
// payload, rounded up to kRecordAlign bytes: an 8-byte message takes 32. Part of the layout.
inline constexpr std::uint32_t kRecordHeaderBytes = 24;
inline constexpr std::uint32_t kRecordAlign = 32;
// The longest reader label kept in the registry (ReaderOptions::label), in bytes.
inline constexpr std::size_t kMaxLabelBytes = 47;
// How many readers a ring's registry holds unless created with another capacity
// (CreateOptions::max_readers), and the largest capacity it may be given. Readers that do
// not register (ReaderOptions::register_reader = false) are not limited.
inline constexpr std::uint32_t kDefaultMaxReaders = 128;
inline constexpr std::uint32_t kMaxReadersLimit = 16384;

// The limits of a ring's shape (Geometry): its bytes, a power of two from kMinRingBytes
// to kMaxRingBytes, and its largest message, at most kMaxMessageLimit.
inline constexpr std::uint64_t kMinRingBytes = std::uint64_t{1} << 12;  // 4 KiB
inline constexpr std::uint64_t kMaxRingBytes = std::uint64_t{1} << 36;  // 64 GiB
inline constexpr std::uint32_t kMaxMessageLimit = std::uint32_t{1} << 30;  // 1 GiB

// Sequences stay below 2^63: Producer::publish_at and skip_to refuse a larger one, and a
// reader takes a skip record past it for corruption. (A ring publishing a billion
// messages a second reaches it in 292 years.)
inline constexpr std::uint64_t kMaxSequence = (std::uint64_t{1} << 63) - 1;

// The bytes a message of `payload_bytes` takes in the ring: header and payload, rounded
// up to kRecordAlign.
[[nodiscard]] constexpr std::uint64_t record_bytes(std::uint64_t payload_bytes) noexcept {
  return (payload_bytes + kRecordHeaderBytes + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
}

// The shape of a ring, fixed at creation (layout version 3: messages of any size up to
// max_message, packed in one byte ring). The rules it must follow (checked by
// Producer::create) are in the library's one geometry file: ring_bytes a power of two from
// 4 KiB to 64 GiB; max_message from 1 byte to half the ring less 56 bytes (a record header and
// one alignment unit), and at most 1 GiB; a snapshot capacity up to 4 GiB.
struct Geometry {
  std::uint64_t ring_bytes = std::uint64_t{1} << 20;  // the byte ring that holds the records
  std::uint32_t max_message = 0;        // largest payload accepted; 0 = a quarter of ring_bytes (at most kMaxMessageLimit)
  std::uint64_t snapshot_capacity = 0;  // bytes per snapshot buffer; 0 = no snapshots

  // The largest payload accepted, with 0 taken as the default.
  [[nodiscard]] constexpr std::uint32_t message_limit() const noexcept {
    if (max_message != 0) return max_message;
    const std::uint64_t quarter = ring_bytes / 4;
    return quarter > kMaxMessageLimit ? kMaxMessageLimit : static_cast<std::uint32_t>(quarter);
  }
  // The same geometry with max_message spelled out: what a ring records and reports.
  [[nodiscard]] constexpr Geometry resolved() const noexcept { return {ring_bytes, message_limit(), snapshot_capacity}; }
  // Equal once resolved: a default max_message equals the quarter it stands for.
  friend constexpr bool operator==(const Geometry& a, const Geometry& b) noexcept {
    return a.ring_bytes == b.ring_bytes && a.message_limit() == b.message_limit() &&
           a.snapshot_capacity == b.snapshot_capacity;
  }
};

// What is wrong with `geometry` by the rules above, or an empty string if nothing is: the
// one check Producer::create and attaching readers apply, for callers that want to
// validate a geometry before they have a ring to create.
[[nodiscard]] std::string geometry_problem(const Geometry& geometry);

// A relaying producer's view of its source stream (the bridge): shown by `shmcast stat`.
struct SourceStatus {
  std::uint64_t head = 0;    // the source's newest known sequence
  std::uint64_t gaps = 0;    // gaps the relay met in its source
  std::uint64_t missed = 0;  // sequences those gaps covered
  std::uint64_t ring_id = 0; // the source ring's id (0: not known); a relay refuses records of another
  // Which incarnation of the source its position counts in (the bridge: the stream's
  // creation time), so that a relay can tell a source made again, whose positions restart,
  // from the one it read; 0: not known.
  std::uint64_t epoch = 0;
};

// The bytes of a string, for publishing text: p.publish(shmcast::bytes_of("hello")).
[[nodiscard]] inline std::span<const std::byte> bytes_of(std::string_view text) noexcept {
  return std::as_bytes(std::span(text.data(), text.size()));
}
// A payload viewed as text.
[[nodiscard]] inline std::string_view text_of(std::span<const std::byte> bytes) noexcept {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// A message. From Reader::try_read, `payload` points into the reader's own buffer and
// stays valid until the reader's next call. From Reader::peek it points into the ring
// itself: it may be overwritten while the application looks at it, and only
// Reader::confirm() says whether it was not.
struct Message {
  std::uint64_t seq = 0;
  std::uint32_t type = 0;
  std::uint64_t timestamp_ns = 0;
  std::span<const std::byte> payload;
};

// Why a gap's messages will never come, as known when the reader met it: the fate of its
// first message (a run that also holds sequences lost another way takes the first one's).
enum class GapCause : std::uint8_t {
  overwritten,   // the ring no longer held it when this reader came to it: the reader was
                 // lapped, or it started or sought older than the oldest message held
  skipped,       // the producer skipped it (skip_to, publish_at): it was never published
  not_archived,  // a reader catching up from an archive, or an ArchiveReader: the archive
                 // does not hold it (its recorder missed it, or retention removed it)
  corrupt,       // a record breaking the layout's rules (damaged or foreign memory): dropped
};
[[nodiscard]] constexpr const char* to_string(GapCause cause) noexcept {
  switch (cause) {
    case GapCause::overwritten: return "overwritten";
    case GapCause::skipped: return "skipped";
    case GapCause::not_archived: return "not_archived";
    case GapCause::corrupt: return "corrupt";
  }
  return "unknown";
}

// Messages [first, first + missed) will never be delivered to this reader.
struct Gap {
  std::uint64_t first = 0;
  std::uint64_t missed = 0;
  GapCause cause = GapCause::overwritten;
};

// A copy of the producer's state: every message with a sequence below `as_of` is
// reflected in it; the reader continues at `as_of`. `data` lives in the reader's buffer.
struct Snapshot {
  std::uint64_t as_of = 0;
  std::span<const std::byte> data;
};

enum class ReadStatus : std::uint8_t {
  empty,     // nothing new yet
  message,   // `message` is valid
  gap,       // `gap` is valid; the reader has already repositioned
  snapshot,  // `snapshot` is valid (gap policy `snapshot`: right after its gap; or start from snapshot)
};

struct ReadResult {
  ReadStatus status = ReadStatus::empty;
  Message message;
  Gap gap;
  Snapshot snapshot;

  explicit operator bool() const noexcept { return status != ReadStatus::empty; }
};

}  // namespace shmcast
