// The shared-memory layout of a ring (version 2): a wire format between processes that
// may have been built separately. Every offset is pinned by a static_assert; change
// nothing here without bumping kLayoutVersion.
//
//   offset 0    RingHeader        immutable after creation; `magic` is stored last
//   offset 128  ProducerLine      written by the producer on every publish
//   offset 192  SequenceLine      written by the producer only on a sequence jump
//   offset 256  SnapshotControl   seqlock over the two snapshot buffers
//   offset 320  RelayLine         a relaying producer's view of its source (the bridge)
//   offset 384  slots             slot_count x slot_size
//   then        snapshot buffers  2 x snapshot_stride (only if snapshot_capacity > 0)
//
// A slot:
//   0        8        12       16               24                    slot_size
//   +--------+--------+--------+----------------+---------------------+
//   | stamp  | length | type   | timestamp_ns   | payload ...         |
//   +--------+--------+--------+----------------+---------------------+
//   Message n lives in slot SlotOrder::index(n) (below): n mod slot_count, except that
//   rings with slots of three lines or more spread consecutive messages over 8 lanes.
//   stamp 2n+1: message n being written; 2n+2: message n committed.
//   length == kSkipRecordLength marks a skip record: message n was skipped by a
//   producer that jumped ahead, and timestamp_ns holds the sequence it jumped to.
//
// The reader registry is a second object (`/shmcast.NAME.readers`) so that readers can
// map the ring itself read-only.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace shmcast::detail {

// Our own constant, not std::hardware_destructive_interference_size: this is an ABI.
inline constexpr std::size_t kCacheLine = 64;

inline constexpr std::uint64_t kRingMagic = 0x315453414D43'4853ull;      // "SHMCAST1" LE
inline constexpr std::uint64_t kRegistryMagic = 0x31474552'4D434853ull;  // "SHMCREG1" LE
// 2: interleaved slot order (SlotOrder). A version-1 build refuses a version-2 ring, and
// the other way round, with an error naming both versions.
inline constexpr std::uint32_t kLayoutVersion = 2;

inline constexpr std::uint32_t kSlotHeaderSize = 24;

// Which slot holds message n. Every slot holds exactly the messages n with one value of
// n mod slot_count, as in the plain order, so the stamp protocol is unchanged; only where
// in memory a residue's slot sits differs. Rings whose slots span three lines or more
// (slot_size_for gives them to payloads of 105 bytes and up) interleave: residue i goes to
// lane i mod 8, position i / 8 within it, so consecutive messages are slot_count / 8 slots
// apart and the slot next to a message in memory holds the message 8 later.
//
// Why, as far as we can tell without hardware counters: a reader's hardware prefetchers
// fetch the lines that follow the ones it reads. In plain order those are the next
// message's, which the producer is about to write: the reader took them in shared state,
// and the producer, which had already prefetched them, had to take them back a second time.
// Same-run A/B on the 2-vCPU EPYC, slower placement, K=1, three rounds: 168 B 6.6-8.7 ->
// 22-23 M msg/s, 256 B 13.2-14.4 -> 17.8-19.3 M, 1 KiB 4.2-4.4 -> 5.8-5.9 M, 4 KiB 2.2 ->
// 2.6-2.7 M, 8 KiB 1.9 -> 2.1 M, 16 KiB 1.41-1.49 -> 1.35-1.40 M; K=2 and 4 at 1 KiB
// 15-30 % faster in two full runs; latencies unchanged. One- and two-line slots stay in
// plain order: there a slot is its own aligned pair of lines, and interleaving them made
// 8 B messages about 5 % slower and 64 B ones 3-7 % at K = 1, 2, 4 (three rounds). 4 lanes
// did as well as 8 up to 1 KiB, 16 better at 4 KiB and worse at 16 KiB; 2 lanes were worse
// than plain order at 256 B.
inline constexpr std::uint32_t kSlotLaneBits = 3;  // 8 lanes
inline constexpr std::uint64_t kSlotLaneMask = (std::uint64_t{1} << kSlotLaneBits) - 1;
inline constexpr std::uint32_t kMinInterleavedSlotSize = static_cast<std::uint32_t>(3 * kCacheLine);

struct SlotOrder {
  std::uint64_t mask = 0;        // slot_count - 1
  std::uint32_t lane_shift = 0;  // log2 of the slots in a lane (at least 1); 0 = plain order

  [[nodiscard]] static constexpr SlotOrder of(std::uint64_t slot_count, std::uint32_t slot_size) noexcept {
    SlotOrder o;
    o.mask = slot_count - 1;
    if (slot_size >= kMinInterleavedSlotSize && slot_count >= (std::uint64_t{2} << kSlotLaneBits))
      o.lane_shift = static_cast<std::uint32_t>(std::countr_zero(slot_count)) - kSlotLaneBits;
    return o;
  }
  // A branch rather than one formula for both: the plain order keeps its two-instruction
  // index, and a given ring always takes the same side.
  [[nodiscard]] constexpr std::uint64_t index(std::uint64_t seq) const noexcept {
    const std::uint64_t i = seq & mask;
    if (lane_shift == 0) return i;
    return ((i & kSlotLaneMask) << lane_shift) | (i >> kSlotLaneBits);
  }
};

inline constexpr std::uint32_t kSkipRecordLength = 0xFFFF'FFFFu;
inline constexpr std::uint64_t kMaxSlotCount = std::uint64_t{1} << 30;
inline constexpr std::uint32_t kMaxSlotSize = 1u << 24;  // 16 MiB
inline constexpr std::uint64_t kMaxSnapshotCapacity = std::uint64_t{1} << 32;

using u64 = std::uint64_t;
using u32 = std::uint32_t;
using au64 = std::atomic<std::uint64_t>;
using au32 = std::atomic<std::uint32_t>;

static_assert(au64::is_always_lock_free && au32::is_always_lock_free,
              "only lock-free atomics are address-free, so usable between processes");

// Immutable after creation. Readers copy it once and validate every field.
// Trivially copyable so that readers can take one copy and validate it; `magic` is
// accessed only through std::atomic_ref.
struct RingHeader {
  u64 magic;                // kRingMagic, stored last with release: the "ready" flag
  u32 version;              // kLayoutVersion
  u32 header_size;          // bytes before slot 0 (== slots_offset)
  u64 slot_count;           // power of two
  u32 slot_size;            // multiple of 64
  u32 payload_capacity;     // slot_size - kSlotHeaderSize
  u64 snapshot_capacity;    // bytes per snapshot buffer; 0 = no snapshot area
  u64 total_size;           // size of the whole object
  u64 creation_time_ns;     // CLOCK_REALTIME at creation
  u64 ring_id;              // random; changes when the ring is recreated
  u64 slots_offset;
  u64 snapshot_offset;      // first snapshot buffer; 0 if none
  u64 snapshot_stride;      // distance between the two snapshot buffers
  unsigned char pad[128 - 88];
};

// Owned by the producer; written on every publish. Observers read it relaxed.
struct ProducerLine {
  au64 head;              // the sequence the next message will get
  au64 published;         // messages published (differs from head when sequences were skipped)
  au64 published_bytes;   // payload bytes published
  au64 last_publish_ns;   // timestamp of the last message
  au32 wake_word;         // futex word: bumped before every FUTEX_WAKE
  au32 pid;               // producer pid (liveness is the OFD lock, never this pid)
  au64 start_time;        // producer's process start time (clock ticks since boot)
  au64 source_position;   // free for a relaying producer (the bridge): last source sequence applied
  au32 flags;             // kProducerFullFence when the producer could not register for membarrier
  au32 takeovers;         // producers that opened this ring after the one that created it
};
inline constexpr u32 kProducerFullFence = 1;

// Written only when the producer jumps its sequence ahead (publish_at) or publishes its
// first message, so readers can poll it for free on their idle path.
struct SequenceLine {
  au64 jump_seq;          // the latest sequence jumped to; every sequence below it is decided
  au64 first_seq;         // the first sequence ever published in this ring
  au64 skipped;           // sequences skipped by jumps, in total
  unsigned char pad[kCacheLine - 24];
};

// Seqlock over the two snapshot buffers. stamp 2k: k snapshots complete; 2k+1: the
// (k+1)th is being written. Snapshot j (1-based) goes to buffer (j-1) & 1 together with
// its fields at index (j-1) & 1, so the newest complete one (k) is in buffer (k-1) & 1
// and is overwritten only by snapshot k+2: a reader's copy of it is valid while the
// stamp stays below 2k+3, and a reader never waits for the writer.
struct SnapshotControl {
  au64 stamp;
  au64 as_of[2];          // ring sequence the snapshot reflects: every message < as_of applied
  au64 length[2];
  au64 published_ns[2];   // when the snapshot was stored
  unsigned char pad[kCacheLine - 56];
};

// Written by a relaying producer (`shmcast bridge in`) about its source stream, so that
// operators see the relay's lag and losses from shared memory. Zero for plain producers.
struct RelayLine {
  au64 source_head;       // the source's newest known sequence
  au64 source_gaps;       // gaps the relay met in its source
  au64 source_missed;     // sequences those gaps covered
  unsigned char pad[kCacheLine - 24];
};

struct SlotHeader {
  au64 stamp;
  au64 length_type;       // low 32 bits: length; high 32 bits: user type
  au64 timestamp_ns;
};

inline constexpr u64 kProducerLineOffset = 128;
inline constexpr u64 kSequenceLineOffset = 192;
inline constexpr u64 kSnapshotControlOffset = 256;
inline constexpr u64 kRelayLineOffset = 320;
inline constexpr u64 kRingHeaderSize = 384;

// Where message seq's slot starts, in bytes from the start of the ring object. For the
// paths that hold only the geometry; Producer and Reader keep the SlotOrder and the slot
// base in members for publish and read.
[[nodiscard]] constexpr u64 slot_offset(u64 slot_count, u32 slot_size, u64 seq) noexcept {
  return kRingHeaderSize + SlotOrder::of(slot_count, slot_size).index(seq) * slot_size;
}

struct RingPrefix {
  RingHeader header;
  alignas(kCacheLine) ProducerLine producer;
  alignas(kCacheLine) SequenceLine sequence;
  alignas(kCacheLine) SnapshotControl snapshot;
  alignas(kCacheLine) RelayLine relay;
};

static_assert(sizeof(RingHeader) == 128, "the immutable header is two cache lines");
static_assert(offsetof(RingHeader, magic) == 0 && offsetof(RingHeader, version) == 8 &&
                  offsetof(RingHeader, slot_count) == 16 && offsetof(RingHeader, slot_size) == 24 &&
                  offsetof(RingHeader, ring_id) == 56 && offsetof(RingHeader, snapshot_stride) == 80,
              "the header is a wire format: its offsets may not move");
static_assert(sizeof(ProducerLine) == kCacheLine, "the producer line is exactly one cache line");
static_assert(offsetof(RingPrefix, producer) == kProducerLineOffset);
static_assert(offsetof(RingPrefix, sequence) == kSequenceLineOffset,
              "the jump line must not share a cache line with the per-publish producer line");
static_assert(offsetof(RingPrefix, snapshot) == kSnapshotControlOffset);
static_assert(offsetof(RingPrefix, relay) == kRelayLineOffset);
static_assert(sizeof(RingPrefix) == kRingHeaderSize);
static_assert(sizeof(SlotHeader) == kSlotHeaderSize);
static_assert(kSlotHeaderSize % 8 == 0, "the payload must start on an 8-byte word");
static_assert(std::is_standard_layout_v<RingPrefix>, "offsetof needs standard layout");
static_assert(std::is_trivially_copyable_v<RingHeader>, "readers copy the header before trusting it");

// ---- reader registry: /shmcast.NAME.readers ----

inline constexpr u32 kRegistryEntries = 128;
inline constexpr u64 kRegistryEntrySize = 128;
inline constexpr u64 kRegistryLabelSize = 48;

struct RegistryHeader {
  u64 magic;              // kRegistryMagic, stored last with release (through std::atomic_ref)
  u32 version;
  u32 entry_count;
  u64 entry_size;
  u64 ring_id;            // the ring this registry belongs to
  unsigned char pad[kCacheLine - 32];
};

// Written by blocking readers, read by the producer on every publish (relaxed): it lives
// on its own line so that it stays shared in the producer's cache while nobody sleeps.
struct WaitLine {
  au32 waiters;           // registered readers inside a futex wait (or about to enter one)
  au32 armed;             // set by a reader about to sleep; the producer clears it and wakes:
                          // one FUTEX_WAKE per sleep, not one per publish while someone sleeps
  unsigned char pad[kCacheLine - 8];
};

// One per registered reader: two cache lines, both written only by their owner.
struct ReaderEntry {
  au32 pid;               // 0: free. Claimed by CAS 0 -> pid, or dead pid -> pid.
  au32 flags;             // kReaderWaiting while blocked in a futex wait
  au64 start_time;        // owner's process start time; 0 while being claimed
  au64 position;          // next sequence the reader will read
  au64 delivered;
  au64 gaps;
  au64 missed;
  au64 snapshots;         // snapshots delivered
  au64 last_active_ns;
  // second line
  au64 attached_ns;
  au64 label_words[kRegistryLabelSize / 8];  // NUL-padded label, stored as relaxed words
  au64 external_position; // a relay's position on its far side (bridge out: last stream sequence acknowledged)
};
inline constexpr u32 kReaderWaiting = 1;

inline constexpr u64 kWaitLineOffset = 64;
inline constexpr u64 kRegistryEntriesOffset = 128;
inline constexpr u64 kRegistrySize = kRegistryEntriesOffset + kRegistryEntries * kRegistryEntrySize;

static_assert(sizeof(RegistryHeader) == kCacheLine);
static_assert(sizeof(WaitLine) == kCacheLine);
static_assert(sizeof(ReaderEntry) == kRegistryEntrySize, "a registry entry is two cache lines");
static_assert(offsetof(ReaderEntry, attached_ns) == kCacheLine);

// Slot addressing, shared by producer and reader.
inline constexpr u64 stamp_writing(u64 seq) noexcept { return 2 * seq + 1; }
inline constexpr u64 stamp_committed(u64 seq) noexcept { return 2 * seq + 2; }
// The stamp a repaired or abandoned slot gets: below "writing" for seq, above
// "committed" for every older lap, so it reads as "not yet" to a reader expecting seq
// and as "overwritten" to one expecting seq - slot_count.
inline constexpr u64 stamp_vacant(u64 seq) noexcept { return 2 * seq; }

}  // namespace shmcast::detail
