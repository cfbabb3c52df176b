// The shared-memory layout of a ring object (layout version 2): a wire format between
// processes that may have been built separately. Every offset is pinned by a
// static_assert; change nothing here without bumping kLayoutVersion. docs/DESIGN.md
// describes the layout ("Shared-memory layout"), the protocols ("The stamp protocol") and
// the memory orders ("Memory ordering"); the reader registry (a second object) is in
// registry_layout.hpp.
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
//   Message n lives in slot SlotOrder::index(n): n mod slot_count, except that rings
//   with slots of three lines or more spread consecutive messages over 8 lanes.
//   stamp 2n+1: message n being written; 2n+2: message n committed.
//   length == kSkipRecordLength marks a skip record: message n was skipped by a
//   producer that jumped ahead, and timestamp_ns holds the sequence it jumped to.
//
// Each region's struct carries the accessors through which every process reads and
// writes it; each accessor chooses its memory order once, and says why. No other file
// loads or stores a shared field directly. The structs are plain data (standard layout,
// trivially destructible): a mapping is viewed through them, never constructed.
#pragma once

#include <shmcast/types.hpp>

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace shmcast::detail {

using u64 = std::uint64_t;
using u32 = std::uint32_t;
using au64 = std::atomic<std::uint64_t>;
using au32 = std::atomic<std::uint32_t>;

static_assert(au64::is_always_lock_free && au32::is_always_lock_free,
              "only lock-free atomics are address-free, so usable between processes");

// Our own constant, not std::hardware_destructive_interference_size: this is an ABI.
inline constexpr std::size_t kCacheLine = 64;

inline constexpr u64 kRingMagic = 0x315453414D43'4853ull;  // "SHMCAST1" LE
// 2: interleaved slot order (SlotOrder). A version-1 build refuses a version-2 ring, and
// the other way round, with an error naming both versions.
inline constexpr u32 kLayoutVersion = 2;

inline constexpr u32 kSlotHeaderSize = kSlotHeaderBytes;
inline constexpr u32 kSkipRecordLength = 0xFFFF'FFFFu;

// Which slot holds message n. Every slot holds exactly the messages n with one value of
// n mod slot_count, as in the plain order, so the stamp protocol is unchanged; only where
// in memory a residue's slot sits differs. Rings whose slots span three lines or more
// interleave: residue i goes to lane i mod 8, position i / 8 within it, so consecutive
// messages are slot_count / 8 slots apart and the slot next to a message in memory holds
// the message 8 later. This keeps a reader's hardware prefetcher off the lines the
// producer is about to write (measurements: bench/README.md, "Slot order").
inline constexpr u32 kSlotLaneBits = 3;  // 8 lanes
inline constexpr u64 kSlotLaneMask = (u64{1} << kSlotLaneBits) - 1;
inline constexpr u32 kMinInterleavedSlotSize = static_cast<u32>(3 * kCacheLine);

struct SlotOrder {
  u64 mask = 0;        // slot_count - 1
  u32 lane_shift = 0;  // log2 of the slots in a lane (at least 1); 0 = plain order

  [[nodiscard]] static constexpr SlotOrder of(u64 slot_count, u32 slot_size) noexcept {
    SlotOrder o;
    o.mask = slot_count - 1;
    if (slot_size >= kMinInterleavedSlotSize && slot_count >= (u64{2} << kSlotLaneBits))
      o.lane_shift = static_cast<u32>(std::countr_zero(slot_count)) - kSlotLaneBits;
    return o;
  }
  // A branch rather than one formula for both: the plain order keeps its two-instruction
  // index, and a given ring always takes the same side.
  [[nodiscard]] constexpr u64 index(u64 seq) const noexcept {
    const u64 i = seq & mask;
    if (lane_shift == 0) return i;
    return ((i & kSlotLaneMask) << lane_shift) | (i >> kSlotLaneBits);
  }
};

// ---- the stamp values of the slot protocol ----
inline constexpr u64 stamp_writing(u64 seq) noexcept { return 2 * seq + 1; }
inline constexpr u64 stamp_committed(u64 seq) noexcept { return 2 * seq + 2; }
// The stamp a repaired or abandoned slot gets: below "writing" for seq, above
// "committed" for every older lap, so it reads as "not yet" to a reader expecting seq
// and as "overwritten" to one expecting seq - slot_count.
inline constexpr u64 stamp_vacant(u64 seq) noexcept { return 2 * seq; }

// ---- RingHeader: immutable after creation ----
// Trivially copyable so that readers take one copy and validate it (geometry.cpp) before
// trusting any field. Only `magic` is shared mutable state: it is the "ready" flag.
struct RingHeader {
  u64 magic;                // kRingMagic, stored last with release
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

  // Release: a process that sees the magic (acquire) sees every field written before it.
  void publish_magic() noexcept { std::atomic_ref<u64>(magic).store(kRingMagic, std::memory_order_release); }
  // 0 while the creator is still writing the header.
  [[nodiscard]] u64 load_magic() const noexcept {
    return std::atomic_ref<u64>(const_cast<u64&>(magic)).load(std::memory_order_acquire);
  }
};

// ---- ProducerLine: owned by the producer; written on every publish ----
struct ProducerLine {
  au64 head_;              // the sequence the next message will get
  au64 published_;         // messages published (differs from head when sequences were skipped)
  au64 published_bytes_;   // payload bytes published
  au64 last_publish_ns_;   // timestamp of the last message
  au32 wake_word_;         // futex word: bumped before every FUTEX_WAKE
  au32 pid_;               // producer pid (liveness is the OFD lock, never this pid)
  au64 start_time_;        // producer's process start time (clock ticks since boot)
  au64 source_position_;   // a relaying producer's last applied source sequence (RelayLine's sibling)
  au32 flags_;             // kProducerFullFence when the producer could not register for membarrier
  au32 takeovers_;         // producers that continued this ring after a predecessor died

  // head: release after the slot's commit, so that a process that reads head n (acquire)
  // finds every message below n committed or later overwritten, never half-written.
  void publish_head(u64 next) noexcept { head_.store(next, std::memory_order_release); }
  [[nodiscard]] u64 head() const noexcept { return head_.load(std::memory_order_acquire); }

  // Statistics for observers: relaxed, each exact, together a moment's approximation.
  void publish_totals(u64 published, u64 bytes, u64 last_ns) noexcept {
    published_.store(published, std::memory_order_relaxed);
    published_bytes_.store(bytes, std::memory_order_relaxed);
    last_publish_ns_.store(last_ns, std::memory_order_relaxed);
  }
  [[nodiscard]] u64 published() const noexcept { return published_.load(std::memory_order_relaxed); }
  [[nodiscard]] u64 published_bytes() const noexcept { return published_bytes_.load(std::memory_order_relaxed); }
  [[nodiscard]] u64 last_publish_ns() const noexcept { return last_publish_ns_.load(std::memory_order_relaxed); }

  // The futex word of the sleep/wake handshake (futex.hpp). The bump is a release after
  // the commit it announces; a reader loads the word (acquire) before its last re-check.
  void bump_wake_word() noexcept { wake_word_.fetch_add(1, std::memory_order_release); }
  [[nodiscard]] u32 wake_word() const noexcept { return wake_word_.load(std::memory_order_acquire); }
  [[nodiscard]] au32* wake_word_address() noexcept { return &wake_word_; }
  [[nodiscard]] const au32* wake_word_address() const noexcept { return &wake_word_; }

  // Who the producer is. The flags are stored last with release, so that a process that
  // reads them (acquire) reads this producer's pid and start time. They start without
  // kClosed: until the producer closes the ring, its death leaves them so.
  void claim_identity(u32 pid, u64 start_time, bool full_fence) noexcept {
    pid_.store(pid, std::memory_order_relaxed);
    start_time_.store(start_time, std::memory_order_relaxed);
    flags_.store(full_fence ? kFullFence : 0, std::memory_order_release);
  }
  [[nodiscard]] u32 pid() const noexcept { return pid_.load(std::memory_order_relaxed); }
  // Whether the producer pays a full fence per publish (no membarrier): a reader about to
  // sleep then needs only its own full fence. Acquire pairs with claim_identity.
  [[nodiscard]] bool full_fence() const noexcept {
    return (flags_.load(std::memory_order_acquire) & kFullFence) != 0;
  }

  // A producer that lets the ring go (its Producer destroyed) says so; a successor that
  // does not find this mark took over from a predecessor that died. Release/acquire: the
  // successor sees everything the closing producer published.
  void mark_closed() noexcept { flags_.fetch_or(kClosed, std::memory_order_release); }
  [[nodiscard]] bool closed() const noexcept { return (flags_.load(std::memory_order_acquire) & kClosed) != 0; }

  void count_takeover() noexcept { takeovers_.fetch_add(1, std::memory_order_relaxed); }
  [[nodiscard]] u32 takeovers() const noexcept { return takeovers_.load(std::memory_order_relaxed); }

  // A relay's own position in its source, kept here so it survives the relay's restarts.
  // Release/acquire: a reader that sees position p sees the messages applied up to p.
  void set_source_position(u64 position) noexcept { source_position_.store(position, std::memory_order_release); }
  [[nodiscard]] u64 source_position() const noexcept { return source_position_.load(std::memory_order_acquire); }

  static constexpr u32 kFullFence = 1;
  static constexpr u32 kClosed = 2;
};

// ---- SequenceLine: written only when the producer jumps ahead or publishes its first message ----
// Apart from the producer line so that readers can poll it for free on their idle path.
struct SequenceLine {
  au64 jump_seq_;          // the latest sequence jumped to; every sequence below it is decided
  au64 first_seq_;         // the first sequence ever published in this ring
  au64 skipped_;           // sequences skipped by jumps, in total
  unsigned char pad[kCacheLine - 24];

  // Release after the jump's skip record: a reader that sees jump_seq > n (acquire) and
  // then a vacant slot n knows n was skipped, not still coming.
  void publish_jump(u64 seq) noexcept { jump_seq_.store(seq, std::memory_order_release); }
  [[nodiscard]] u64 jump_seq() const noexcept { return jump_seq_.load(std::memory_order_acquire); }
  // Relaxed: set before the first message's commit, which publishes it.
  void set_first_seq(u64 seq) noexcept { first_seq_.store(seq, std::memory_order_relaxed); }
  [[nodiscard]] u64 first_seq() const noexcept { return first_seq_.load(std::memory_order_relaxed); }
  void add_skipped(u64 n) noexcept { skipped_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] u64 skipped() const noexcept { return skipped_.load(std::memory_order_relaxed); }
};

// ---- SnapshotControl: the seqlock over the two snapshot buffers ----
// stamp 2k: k snapshots complete; 2k+1: the (k+1)th is being written. Snapshot j (1-based)
// goes to buffer (j-1) & 1 together with its fields at that index, so the newest complete
// one (k) is in buffer (k-1) & 1 and is overwritten only by snapshot k+2: a reader's copy
// of it is valid while the stamp stays below 2k+3, and a reader never waits for the
// writer. The protocol's steps are in snapshot_area.hpp.
struct SnapshotControl {
  au64 stamp_;
  au64 as_of_[2];          // ring sequence the snapshot reflects: every message < as_of applied
  au64 length_[2];
  au64 published_ns_[2];   // when the snapshot was stored
  unsigned char pad[kCacheLine - 56];

  // The buffer that holds snapshot `number` (1-based): the one rule for the index.
  [[nodiscard]] static constexpr u64 buffer_of(u64 number) noexcept { return (number - 1) & 1; }

  // Writer: the next snapshot's number. The stamp is the writer's own: relaxed.
  [[nodiscard]] u64 completed() const noexcept { return stamp_.load(std::memory_order_relaxed) / 2; }
  // Writer: the odd stamp, then a release fence, so no store of the snapshot may become
  // visible before it (Boehm's writer fence, as for slots).
  void begin_write(u64 completed) noexcept {
    stamp_.store(2 * completed + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
  // Writer: the fields, then the even stamp with release, which publishes everything.
  void commit(u64 completed, u64 as_of, u64 length, u64 published_ns) noexcept {
    const u64 b = buffer_of(completed + 1);
    as_of_[b].store(as_of, std::memory_order_relaxed);
    length_[b].store(length, std::memory_order_relaxed);
    published_ns_[b].store(published_ns, std::memory_order_relaxed);
    stamp_.store(2 * completed + 2, std::memory_order_release);
  }
  // Reader: the stamp before copying (acquire: the copy sees at least that snapshot).
  [[nodiscard]] u64 stamp() const noexcept { return stamp_.load(std::memory_order_acquire); }
  // Reader: the stamp after copying. The acquire fence keeps every load of the copy
  // before this re-check, so an unchanged-enough stamp proves the copy was not overwritten.
  [[nodiscard]] u64 stamp_after_copy() const noexcept {
    std::atomic_thread_fence(std::memory_order_acquire);
    return stamp_.load(std::memory_order_relaxed);
  }
  // A snapshot's fields, read between stamp() and stamp_after_copy().
  [[nodiscard]] u64 as_of(u64 buffer) const noexcept { return as_of_[buffer].load(std::memory_order_relaxed); }
  [[nodiscard]] u64 length(u64 buffer) const noexcept { return length_[buffer].load(std::memory_order_relaxed); }
  [[nodiscard]] u64 published_ns(u64 buffer) const noexcept {
    return published_ns_[buffer].load(std::memory_order_relaxed);
  }
};

// ---- RelayLine: a relaying producer's view of its source (`shmcast bridge in`) ----
// Zero for plain producers. Statistics for operators: relaxed.
struct RelayLine {
  au64 source_head_;       // the source's newest known sequence
  au64 source_gaps_;       // gaps the relay met in its source
  au64 source_missed_;     // sequences those gaps covered
  unsigned char pad[kCacheLine - 24];

  void set(const SourceStatus& s) noexcept {
    source_head_.store(s.head, std::memory_order_relaxed);
    source_gaps_.store(s.gaps, std::memory_order_relaxed);
    source_missed_.store(s.missed, std::memory_order_relaxed);
  }
  [[nodiscard]] SourceStatus get() const noexcept {
    return {source_head_.load(std::memory_order_relaxed), source_gaps_.load(std::memory_order_relaxed),
            source_missed_.load(std::memory_order_relaxed)};
  }
};

// ---- SlotHeader: the first 24 bytes of every slot ----
// The write side (Boehm 2012): stamp 2n+1 (relaxed); release fence; header words and
// payload (relaxed atomic words, or on x86-64 the wider plain stores of slot_io.hpp:
// docs/DESIGN.md, "Copy paths shipped per build"); stamp 2n+2 (release). The read side:
// stamp (acquire); copy; acquire fence; stamp again (relaxed); equal: the copy is message
// n whole.
struct SlotMeta {
  u32 length;
  u32 type;
  u64 timestamp_ns;
  [[nodiscard]] bool is_skip() const noexcept { return length == kSkipRecordLength; }
};

struct SlotHeader {
  au64 stamp_;
  au64 length_type_;       // low 32 bits: length; high 32 bits: user type
  au64 timestamp_ns_;

  // Writer: marks message seq "being written" and stores its header words. The release
  // fence keeps every later store of the slot after the odd stamp.
  void begin(u64 seq, u64 length, u32 type, u64 timestamp_ns) noexcept {
    stamp_.store(stamp_writing(seq), std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    length_type_.store(length | (static_cast<u64>(type) << 32), std::memory_order_relaxed);
    timestamp_ns_.store(timestamp_ns, std::memory_order_relaxed);
  }
  // Writer, between begin and commit: a shorter length than begin's (a claim committed short).
  void set_length(u64 length) noexcept {
    const u64 type_bits = length_type_.load(std::memory_order_relaxed) & ~u64{0xFFFF'FFFF};
    length_type_.store(type_bits | (length & 0xFFFF'FFFF), std::memory_order_relaxed);
  }
  // Writer, between begin and commit: this slot is a skip record up to `target` (begin
  // stored `target` as the timestamp).
  void mark_skip() noexcept { length_type_.store(kSkipRecordLength, std::memory_order_relaxed); }
  // Writer: release keeps every store of the message before the committed stamp.
  void commit(u64 seq) noexcept { stamp_.store(stamp_committed(seq), std::memory_order_release); }
  // Writer or takeover: the slot holds no message of this lap (an abandoned claim, or a
  // dead predecessor's half-written slot).
  void vacate(u64 seq) noexcept { stamp_.store(stamp_vacant(seq), std::memory_order_release); }

  // Reader: the stamp before copying; acquire, so the copy sees the message it names.
  [[nodiscard]] u64 stamp() const noexcept { return stamp_.load(std::memory_order_acquire); }
  // Reader: the header words, read between stamp() and stamp_after_copy().
  [[nodiscard]] SlotMeta meta() const noexcept {
    const u64 lt = length_type_.load(std::memory_order_relaxed);
    return {static_cast<u32>(lt), static_cast<u32>(lt >> 32), timestamp_ns_.load(std::memory_order_relaxed)};
  }
  // Writer: the timestamp begin() stored, for the producer line's statistics.
  [[nodiscard]] u64 timestamp_ns() const noexcept { return timestamp_ns_.load(std::memory_order_relaxed); }
  // Reader: the stamp after copying. The acquire fence keeps every load of the copy
  // before this re-check, so an unchanged stamp proves no store of a later lap reached
  // the words copied.
  [[nodiscard]] u64 stamp_after_copy() const noexcept {
    std::atomic_thread_fence(std::memory_order_acquire);
    return stamp_.load(std::memory_order_relaxed);
  }
};

inline constexpr u64 kProducerLineOffset = 128;
inline constexpr u64 kSequenceLineOffset = 192;
inline constexpr u64 kSnapshotControlOffset = 256;
inline constexpr u64 kRelayLineOffset = 320;
inline constexpr u64 kRingHeaderSize = 384;

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
static_assert(offsetof(ProducerLine, wake_word_) == 32 && offsetof(ProducerLine, source_position_) == 48,
              "the producer line is a wire format: its offsets may not move");
static_assert(offsetof(RingPrefix, producer) == kProducerLineOffset);
static_assert(offsetof(RingPrefix, sequence) == kSequenceLineOffset,
              "the jump line must not share a cache line with the per-publish producer line");
static_assert(offsetof(RingPrefix, snapshot) == kSnapshotControlOffset);
static_assert(offsetof(RingPrefix, relay) == kRelayLineOffset);
static_assert(sizeof(RingPrefix) == kRingHeaderSize);
static_assert(sizeof(SlotHeader) == kSlotHeaderSize);
static_assert(kSlotHeaderSize % 8 == 0, "the payload must start on an 8-byte word");
static_assert(std::is_standard_layout_v<RingPrefix> && std::is_standard_layout_v<SlotHeader>,
              "offsetof and the views of a mapping need standard layout");
static_assert(std::is_trivially_copyable_v<RingHeader>, "readers copy the header before trusting it");

}  // namespace shmcast::detail
