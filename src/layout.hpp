// The shared-memory layout of a ring object (layout version 3): a wire format between
// processes that may have been built separately. Every offset is pinned by a
// static_assert; change nothing here without bumping kLayoutVersion. docs/DESIGN.md
// describes the layout ("Shared-memory layout"), the protocols ("The record protocol")
// and the memory orders ("Memory ordering"); the reader registry (a second object) is in
// registry_layout.hpp.
//
//   offset 0    RingHeader        immutable after creation; `magic` is stored last
//   offset 128  ProducerLine      written by the producer on every publish
//   offset 192  ReserveLine       the overwrite horizon (written once per reservation) and the producer's identity
//   offset 256  SequenceLine      written by the producer only on a sequence jump
//   offset 320  SnapshotControl   seqlock over the two snapshot buffers
//   offset 384  RelayLine         a relaying producer's view of its source (the bridge)
//   offset 512  data              ring_bytes: the records, back to back
//   then        index             ring_bytes / kRecordAlign words: record r starts at index[r mod entries]
//   then        snapshot buffers  2 x snapshot_stride (only if snapshot_capacity > 0)
//
// A record, at a kRecordAlign (32) byte boundary of the data, never across its end:
//   0        8        12       16               24
//   +--------+--------+--------+----------------+----------------------+-- pad to 32
//   | stamp  | length | type   | timestamp_ns   | payload ...          |
//   +--------+--------+--------+----------------+----------------------+
//   stamp 0: nothing here yet (the producer stores it where the next record will go
//   before it commits the current one); seq + 1: message seq, committed;
//   kPaddingStamp: padding to the end of the data (the next record is at its start).
//   length == kSkipRecordLength marks a skip record: sequences [seq, timestamp_ns) were
//   skipped by a producer that jumped ahead; the next record follows 32 bytes on.
//   Positions are absolute byte counts that never wrap: position p lies at p mod ring_bytes.
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
// 3: variable-length records in one byte ring. Builds of one version refuse rings of
// another with an error naming both versions.
inline constexpr u32 kLayoutVersion = 3;

inline constexpr u32 kRecordHeaderSize = kRecordHeaderBytes;
inline constexpr u32 kSkipRecordLength = 0xFFFF'FFFFu;
inline constexpr u64 kPaddingStamp = ~u64{0};

// ---- the stamp values of the record protocol ----
inline constexpr u64 kNothingYet = 0;
inline constexpr u64 record_stamp(u64 seq) noexcept { return seq + 1; }

// ---- RingHeader: immutable after creation ----
// Trivially copyable so that readers take one copy and validate it (geometry.cpp) before
// trusting any field. Only `magic` is shared mutable state: it is the "ready" flag.
struct RingHeader {
  u64 magic;                // kRingMagic, stored last with release
  u32 version;              // kLayoutVersion
  u32 header_size;          // bytes before the data (== data_offset)
  u64 ring_bytes;           // power of two
  u32 max_message;          // the largest payload accepted
  u32 record_align;         // kRecordAlign
  u64 snapshot_capacity;    // bytes per snapshot buffer; 0 = no snapshot area
  u64 total_size;           // size of the whole object
  u64 creation_time_ns;     // CLOCK_REALTIME at creation
  u64 ring_id;              // random; changes when the ring is recreated
  u64 data_offset;
  u64 index_offset;
  u64 index_entries;        // ring_bytes / record_align
  u64 snapshot_offset;      // first snapshot buffer; 0 if none
  u64 snapshot_stride;      // distance between the two snapshot buffers
  unsigned char pad[128 - 104];

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
  au64 records_;           // records written (messages and skip records): the next record's index entry
  au64 tail_;              // the position where the next record goes (for a successor: takeover.cpp)
  au64 published_;         // messages published (differs from head when sequences were skipped)
  au64 published_bytes_;   // payload bytes published
  au64 last_publish_ns_;   // timestamp of the last message
  au32 wake_word_;         // futex word: bumped before every FUTEX_WAKE
  unsigned char pad[kCacheLine - 52];

  // head and records: release after the record's commit (and its index entry), so that a
  // process that reads either (acquire) finds every record below committed or later
  // overwritten, and the index entries of records below written.
  void publish_position(u64 head, u64 records, u64 tail) noexcept {
    records_.store(records, std::memory_order_release);
    head_.store(head, std::memory_order_release);
    tail_.store(tail, std::memory_order_relaxed);
  }
  [[nodiscard]] u64 head() const noexcept { return head_.load(std::memory_order_acquire); }
  [[nodiscard]] u64 records() const noexcept { return records_.load(std::memory_order_acquire); }
  // Read by a successor, which holds the producer lock, and as a hint of where the
  // producer is by a reader standing back (stand_back.hpp), which trusts no record for
  // it: relaxed.
  [[nodiscard]] u64 tail() const noexcept { return tail_.load(std::memory_order_relaxed); }

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
};

// ---- ReserveLine: the overwrite horizon, and who the producer is ----
// Written once per reservation (every ring_bytes / 16 bytes or so) and when a producer
// takes the ring: readers load `reserved` after every read, and it stays in their caches.
struct ReserveLine {
  au64 reserved_;          // the producer may be writing any position below this
  au32 pid_;               // producer pid (liveness is the OFD lock, never this pid)
  au32 flags_;             // kFullFence, kClosed
  au64 start_time_;        // producer's process start time (clock ticks since boot)
  au32 takeovers_;         // producers that continued this ring after a predecessor died
  unsigned char pad[kCacheLine - 28];

  // The horizon that makes every record checkable against bytes no payload can forge.
  // Writer: the new horizon, then a release fence, before it stores anything below it
  // that lies past the old one, so that no such store becomes visible before it.
  // Reader: its loads of a record, an acquire fence (reserved_after_read), then this: a
  // reader that saw any store made past the old horizon sees the new one. A record at
  // position p stayed whole while it was read iff reserved <= p + ring_bytes then.
  void reserve(u64 horizon) noexcept {
    reserved_.store(horizon, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
  [[nodiscard]] u64 reserved_after_read() const noexcept {
    std::atomic_thread_fence(std::memory_order_acquire);
    return reserved_.load(std::memory_order_relaxed);
  }
  // The writer's own view, or an observer's: relaxed.
  [[nodiscard]] u64 reserved() const noexcept { return reserved_.load(std::memory_order_relaxed); }

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

  static constexpr u32 kFullFence = 1;
  static constexpr u32 kClosed = 2;
};

// ---- SequenceLine: written only when the producer jumps ahead, and at a takeover ----
struct SequenceLine {
  au64 first_seq_;         // the first sequence ever published in this ring
  au64 skipped_;           // sequences skipped by jumps, in total
  unsigned char pad[kCacheLine - 16];

  // Relaxed: set by a jump (the first one sets it before its skip record's commit, which
  // publishes it) or at a takeover (before the new producer's first commit).
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

  // How many snapshots are complete when the stamp reads `stamp` (0: none; stamp 1, the
  // first being written, is none too): the one rule for reading the stamp.
  [[nodiscard]] static constexpr u64 completed_in(u64 stamp) noexcept { return stamp / 2; }
  // Writer: the next snapshot's number. The stamp is the writer's own: relaxed.
  [[nodiscard]] u64 completed() const noexcept { return completed_in(stamp_.load(std::memory_order_relaxed)); }
  // Writer: the odd stamp, then a release fence, so no store of the snapshot may become
  // visible before it (Boehm's writer fence). The odd stamp is a release store too: a
  // reader that loads it (acquire) and copies snapshot `completed` must see that snapshot's
  // stores, which only the even stamp's release published; C++20 does not carry that
  // release on through a later relaxed store of the same thread.
  void begin_write(u64 completed) noexcept {
    stamp_.store(2 * completed + 1, std::memory_order_release);
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
// Zero for plain producers. Statistics for operators: relaxed, but for the position.
struct RelayLine {
  au64 source_head_;       // the source's newest known sequence
  au64 source_gaps_;       // gaps the relay met in its source
  au64 source_missed_;     // sequences those gaps covered
  au64 source_position_;   // the relay's last applied source sequence
  au64 source_ring_id_;    // the source ring's id; 0: not known (a ring made before it was kept)
  au64 source_epoch_;      // the incarnation of the source the position counts in; 0: not known
  au64 skipped_mark_;      // 1 + the ring's skipped count less source_missed at the last set(); 0: never
  unsigned char pad[kCacheLine - 56];

  // `ring_skipped`: the ring's own count of skipped sequences now (SequenceLine). The mark
  // is what the ring skipped that the relay did not count as missed (another producer's
  // skips, before the relay took the ring): it changes only when such skips happen, so a
  // set() torn between its stores leaves it right.
  void set(const SourceStatus& s, u64 ring_skipped) noexcept {
    source_head_.store(s.head, std::memory_order_relaxed);
    source_gaps_.store(s.gaps, std::memory_order_relaxed);
    source_missed_.store(s.missed, std::memory_order_relaxed);
    source_ring_id_.store(s.ring_id, std::memory_order_relaxed);
    source_epoch_.store(s.epoch, std::memory_order_relaxed);
    skipped_mark_.store(1 + (ring_skipped > s.missed ? ring_skipped - s.missed : 0), std::memory_order_relaxed);
  }
  // Sequences the ring skipped that neither the stored missed count nor the mark accounts
  // for: the relay's jumps since it last stored its status; 0 if it never did.
  [[nodiscard]] u64 uncounted_skips(u64 ring_skipped) const noexcept {
    const u64 mark = skipped_mark_.load(std::memory_order_relaxed);
    const u64 accounted = source_missed_.load(std::memory_order_relaxed) + (mark - 1);
    return mark == 0 || ring_skipped <= accounted ? 0 : ring_skipped - accounted;
  }
  // A relay's own position in its source, kept here so it survives the relay's restarts.
  // Release/acquire: a reader that sees position p sees the messages applied up to p.
  void set_source_position(u64 position) noexcept { source_position_.store(position, std::memory_order_release); }
  [[nodiscard]] u64 source_position() const noexcept { return source_position_.load(std::memory_order_acquire); }
  [[nodiscard]] SourceStatus get() const noexcept {
    return {source_head_.load(std::memory_order_relaxed), source_gaps_.load(std::memory_order_relaxed),
            source_missed_.load(std::memory_order_relaxed), source_ring_id_.load(std::memory_order_relaxed),
            source_epoch_.load(std::memory_order_relaxed)};
  }
};

// ---- RecordHeader: the first 24 bytes of every record ----
// The write side: header words, payload and index entry (relaxed atomic words, or on
// x86-64 the wider plain stores of payload_io.hpp), "nothing yet" where the next record
// goes, then the stamp seq + 1 with release. The read side: stamp (acquire), header words
// and payload, then ReserveLine::reserved_after_read(): the record was whole iff the
// horizon had not passed its position + ring_bytes. The stamp alone proves nothing: a
// later lap's payload may hold any bytes, including a stamp.
struct RecordMeta {
  u32 length;
  u32 type;
  u64 timestamp_ns;
  [[nodiscard]] bool is_skip() const noexcept { return length == kSkipRecordLength; }
  // Whether this is a sound skip record for record `seq`: it skips forward (its target,
  // timestamp_ns, is past seq), and not past the last sequence (kMaxSequence).
  [[nodiscard]] bool skips_forward_from(u64 seq) const noexcept {
    return is_skip() && timestamp_ns > seq && timestamp_ns <= kMaxSequence;
  }
};

struct RecordHeader {
  au64 stamp_;
  au64 length_type_;       // low 32 bits: length; high 32 bits: user type
  au64 timestamp_ns_;

  // Writer: the header words of the record about to be committed.
  void set_meta(u64 length, u32 type, u64 timestamp_ns) noexcept {
    length_type_.store(length | (static_cast<u64>(type) << 32), std::memory_order_relaxed);
    timestamp_ns_.store(timestamp_ns, std::memory_order_relaxed);
  }
  // Writer, between set_meta and commit: a shorter length (a claim committed short).
  void set_length(u64 length) noexcept {
    const u64 type_bits = length_type_.load(std::memory_order_relaxed) & ~u64{0xFFFF'FFFF};
    length_type_.store(type_bits | (length & 0xFFFF'FFFF), std::memory_order_relaxed);
  }
  // Writer: where the next record goes, before the current one's commit publishes it.
  void mark_nothing_yet() noexcept { stamp_.store(kNothingYet, std::memory_order_relaxed); }
  // Writer: release keeps every store of the record (and the next one's "nothing yet")
  // before the stamp.
  void commit(u64 seq) noexcept { stamp_.store(record_stamp(seq), std::memory_order_release); }
  void commit_padding() noexcept { stamp_.store(kPaddingStamp, std::memory_order_release); }

  // Reader: acquire, so the header words and payload read after it are the record's.
  [[nodiscard]] u64 stamp() const noexcept { return stamp_.load(std::memory_order_acquire); }
  // Reader: the header words, read after stamp() and checked against the horizon.
  [[nodiscard]] RecordMeta meta() const noexcept {
    const u64 lt = length_type_.load(std::memory_order_relaxed);
    return {static_cast<u32>(lt), static_cast<u32>(lt >> 32), timestamp_ns_.load(std::memory_order_relaxed)};
  }
};

// ---- the record index: one word per record, the position it starts at ----
// Written by the producer before the record's commit; read to find a record by number.
// Release and acquire (plain moves on x86-64): a reader that loads an entry the producer
// has reused for a newer record also sees what the producer stored before it, the
// published record count among it (first_point_from relies on that to notice the reuse)
// and the newer record's "nothing yet" mark over the old lap's stamp.
struct IndexEntry {
  au64 position_;
  void set(u64 position) noexcept { position_.store(position, std::memory_order_release); }
  [[nodiscard]] u64 position() const noexcept { return position_.load(std::memory_order_acquire); }
};

inline constexpr u64 kProducerLineOffset = 128;
inline constexpr u64 kReserveLineOffset = 192;
inline constexpr u64 kSequenceLineOffset = 256;
inline constexpr u64 kSnapshotControlOffset = 320;
inline constexpr u64 kRelayLineOffset = 384;
inline constexpr u64 kRingHeaderSize = 512;

struct RingPrefix {
  RingHeader header;
  alignas(kCacheLine) ProducerLine producer;
  alignas(kCacheLine) ReserveLine reserve;
  alignas(kCacheLine) SequenceLine sequence;
  alignas(kCacheLine) SnapshotControl snapshot;
  alignas(kCacheLine) RelayLine relay;
  unsigned char pad[kCacheLine];
};

static_assert(sizeof(RingHeader) == 128, "the immutable header is two cache lines");
static_assert(offsetof(RingHeader, magic) == 0 && offsetof(RingHeader, version) == 8 &&
                  offsetof(RingHeader, ring_bytes) == 16 && offsetof(RingHeader, max_message) == 24 &&
                  offsetof(RingHeader, ring_id) == 56 && offsetof(RingHeader, snapshot_stride) == 96,
              "the header is a wire format: its offsets may not move");
static_assert(sizeof(ProducerLine) == kCacheLine && sizeof(ReserveLine) == kCacheLine,
              "the producer and reserve lines are exactly one cache line each");
static_assert(offsetof(ProducerLine, wake_word_) == 48 && offsetof(ReserveLine, flags_) == 12,
              "the producer lines are a wire format: their offsets may not move");
static_assert(offsetof(RingPrefix, producer) == kProducerLineOffset);
static_assert(offsetof(RingPrefix, reserve) == kReserveLineOffset,
              "the horizon readers load after every read must not share the per-publish line");
static_assert(offsetof(RingPrefix, sequence) == kSequenceLineOffset);
static_assert(offsetof(RingPrefix, snapshot) == kSnapshotControlOffset);
static_assert(offsetof(RingPrefix, relay) == kRelayLineOffset);
static_assert(sizeof(RingPrefix) == kRingHeaderSize);
static_assert(sizeof(RecordHeader) == kRecordHeaderSize && sizeof(IndexEntry) == 8);
static_assert(kRecordHeaderSize % 8 == 0 && kRecordHeaderSize + 8 <= kRecordAlign,
              "the payload starts on an 8-byte word, and an 8-byte message fits one 32-byte record");
static_assert(std::is_standard_layout_v<RingPrefix> && std::is_standard_layout_v<RecordHeader>,
              "offsetof and the views of a mapping need standard layout");
static_assert(std::is_trivially_copyable_v<RingHeader>, "readers copy the header before trusting it");

}  // namespace shmcast::detail
