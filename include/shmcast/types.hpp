// Plain value types shared by the producer, the reader and the inspection API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace shmcast {

// Bytes of every slot taken by the message header (stamp, length, type, timestamp): a
// slot's payload holds this many fewer bytes than the slot. Part of the layout.
inline constexpr std::uint32_t kSlotHeaderBytes = 24;
// Slot sizes are multiples of this (one cache line).
inline constexpr std::uint32_t kSlotSizeUnit = 64;
// The longest reader label kept in the registry (ReaderOptions::label), in bytes.
inline constexpr std::size_t kMaxLabelBytes = 47;
// How many readers a ring's registry holds unless created with another capacity
// (CreateOptions::max_readers), and the largest capacity it may be given. Readers that do
// not register (ReaderOptions::register_reader = false) are not limited.
inline constexpr std::uint32_t kDefaultMaxReaders = 128;
inline constexpr std::uint32_t kMaxReadersLimit = 16384;

// The shape of a ring, fixed at creation. The rules it must follow (checked by
// Producer::create) are in the library's one geometry file: a power-of-two slot count
// from 2 to 2^30, a slot size that is a multiple of 64 from 64 bytes to 16 MiB, and a
// snapshot capacity up to 4 GiB.
struct Geometry {
  std::uint64_t slot_count = 4096;      // a power of two, at least 2
  std::uint32_t slot_size = 256;        // bytes per slot, a multiple of 64; payload = slot_size - kSlotHeaderBytes
  std::uint64_t snapshot_capacity = 0;  // bytes per snapshot buffer; 0 = no snapshots

  [[nodiscard]] constexpr std::uint32_t payload_capacity() const noexcept { return slot_size - kSlotHeaderBytes; }
  friend bool operator==(const Geometry&, const Geometry&) = default;
};

// What is wrong with `geometry` by the rules above, or an empty string if nothing is: the
// one check Producer::create and attaching readers apply, for callers that want to
// validate a geometry before they have a ring to create.
[[nodiscard]] std::string geometry_problem(const Geometry& geometry);

// The smallest slot size (a multiple of 64) whose payload holds `payload_bytes`.
[[nodiscard]] constexpr std::uint32_t slot_size_for(std::uint32_t payload_bytes) noexcept {
  return (payload_bytes + kSlotHeaderBytes + kSlotSizeUnit - 1) / kSlotSizeUnit * kSlotSizeUnit;
}

// A relaying producer's view of its source stream (the bridge): shown by `shmcast stat`.
struct SourceStatus {
  std::uint64_t head = 0;    // the source's newest known sequence
  std::uint64_t gaps = 0;    // gaps the relay met in its source
  std::uint64_t missed = 0;  // sequences those gaps covered
};

// The bytes of a string, for publishing text: p.publish(shmcast::bytes_of("hello")).
[[nodiscard]] inline std::span<const std::byte> bytes_of(std::string_view text) noexcept {
  return std::as_bytes(std::span(text.data(), text.size()));
}
// A payload viewed as text.
[[nodiscard]] inline std::string_view text_of(std::span<const std::byte> bytes) noexcept {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// A delivered message. `payload` points into the reader's own buffer and stays valid
// until the reader's next read, seek or snapshot call.
struct Message {
  std::uint64_t seq = 0;
  std::uint32_t type = 0;
  std::uint64_t timestamp_ns = 0;
  std::span<const std::byte> payload;
};

// Messages [first, first + missed) will never be delivered to this reader.
struct Gap {
  std::uint64_t first = 0;
  std::uint64_t missed = 0;
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
