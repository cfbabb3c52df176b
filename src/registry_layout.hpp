// The shared-memory layout of a ring's reader registry, `/shmcast.NAME.readers`: a wire
// format like layout.hpp's, in its own object so that readers, which must write their
// entries, can still map the ring itself read-only.
//
//   offset 0    RegistryHeader    immutable after creation; `magic` is stored last
//   offset 64   WaitLine          blocking readers announce themselves here
//   offset 128  ReaderEntry[entry_count], three cache lines each
//
// Each struct carries the accessors through which every process touches it; each
// accessor chooses its memory order once. Operations over the whole table (claim, reap,
// copy for observers) are in registry.cpp. docs/DESIGN.md, "Shared-memory layout" and
// "Memory ordering", describes both objects.
#pragma once

#include "layout.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace shmcast::detail {

inline constexpr u64 kRegistryMagic = 0x31474552'4D434853ull;  // "SHMCREG1" LE
// The registry's own format version: 3 added the counters' seqlock, the span's start and
// a capacity chosen at creation (entry_count, 1 to kMaxReadersLimit).
inline constexpr u32 kRegistryVersion = 3;
inline constexpr u64 kRegistryEntrySize = 3 * kCacheLine;
inline constexpr u64 kRegistryLabelSize = kMaxLabelBytes + 1;  // NUL-padded

struct RegistryHeader {
  u64 magic;              // kRegistryMagic, stored last with release
  u32 version;            // kRegistryVersion
  u32 entry_count;        // the capacity chosen at creation (CreateOptions::max_readers)
  u64 entry_size;
  u64 ring_id;            // the ring this registry belongs to
  unsigned char pad[kCacheLine - 32];

  // Release: a process that sees the magic (acquire) sees the fields written before it.
  void publish_magic() noexcept { std::atomic_ref<u64>(magic).store(kRegistryMagic, std::memory_order_release); }
  [[nodiscard]] u64 load_magic() const noexcept {
    return std::atomic_ref<u64>(const_cast<u64&>(magic)).load(std::memory_order_acquire);
  }
};

// The reader's half of the sleep/wake handshake lives here (futex.hpp has the whole of
// it). It has its own line so that it stays shared in the producer's cache while nobody
// sleeps: the producer loads `armed` on every publish.
struct WaitLine {
  au32 unused_;           // zero (a count of sleeping readers that nothing read; `stat` counts
                          // the entries marked waiting)
  au32 armed_;            // set by a reader about to sleep; the producer clears it and wakes:
                          // one FUTEX_WAKE per sleep, not one per publish while someone sleeps
  unsigned char pad[kCacheLine - 8];

  // Reader about to sleep. seq_cst: this store is the reader's side of a Dekker pattern
  // with the producer's commit (the heavy fence after it completes the pair).
  void arm() noexcept { armed_.store(1, std::memory_order_seq_cst); }
  // Producer, on every publish, after its light fence: relaxed, the fence orders it.
  [[nodiscard]] bool armed() const noexcept { return armed_.load(std::memory_order_relaxed) != 0; }
  // Producer: takes the arming. acq_rel: a reader that arms after this makes the next
  // publish wake it; the wake that follows is ordered after the exchange.
  [[nodiscard]] bool disarm() noexcept { return armed_.exchange(0, std::memory_order_acq_rel) != 0; }
};

// A copy of one entry's fields, for observers.
struct EntryCopy {
  u32 pid = 0;
  u64 start_time = 0;
  bool waiting = false;
  bool catching_up = false;
  // The counters, read together (ReaderEntry::try_copy_counters): delivered + missed == position - start
  // unless the owner seeks, and `consistent` is false only if they never held still.
  u64 start = 0;
  u64 position = 0;
  u64 delivered = 0;
  u64 gaps = 0;
  u64 missed = 0;
  u64 snapshots = 0;
  bool consistent = true;
  u64 last_active_ns = 0;
  u64 attached_ns = 0;
  u64 external_position = 0;
  char label[kRegistryLabelSize] = {};
};

// One per registered reader: three cache lines. `pid` is claimed by compare-and-swap; the
// rest is written only by the owner. Another process writes an entry only to take it from
// a dead owner (claim or reap), which it first wins by compare-and-swap on pid.
struct ReaderEntry {
  au32 pid_;               // 0: free. Claimed by CAS 0 -> pid, or dead pid -> pid.
  au32 flags_;             // kWaiting while blocked in a futex wait; kCatchingUp while reading an archive
  au64 counters_version_;  // seqlock over the counters below but position: odd while the owner writes them
  au64 start_;             // where the owner's span begins (Reader::start())
  au64 position_;          // next sequence the reader will read
  // position - delivered. A delivery moves position alone and leaves this as it is; only
  // a move without delivery (gap, seek, retaken start) changes it. So delivered is never
  // stored: it is position minus this, whatever moment the position is from.
  au64 undelivered_;
  au64 gaps_;
  au64 missed_;
  au64 snapshots_;         // snapshots delivered
  // second line: written rarely
  au64 start_time_;        // owner's process start time; 0 while being claimed
  au64 last_active_ns_;
  au64 attached_ns_;
  au64 external_position_; // a relay's position on its far side (bridge out: last stream sequence acknowledged)
  au64 reserved_[4];
  // third line
  au64 label_words_[kRegistryLabelSize / 8];  // NUL-padded label, stored as relaxed words
  au64 reserved_tail_[(kCacheLine - kRegistryLabelSize) / 8];

  static constexpr u32 kWaiting = 1;
  static constexpr u32 kCatchingUp = 2;

  // Ownership. The pid changes hands only through take() and release(), and the start
  // time is 0 before it does, so an entry never shows a new owner's pid beside an earlier
  // owner's start time: a checker judging the new owner by that start time would find it
  // dead in the middle of its claim, and free or take the entry it is about to use. With
  // start time 0 ("being claimed", until reset() stores the owner's), a checker asks only
  // whether the pid exists. acq_rel on both exchanges and acquire on the loads: whoever
  // loads a pid sees the start time cleared before it changed hands, and the winner of an
  // entry sees what its previous owner (or reaper) stored before releasing it.
  [[nodiscard]] u32 owner() const noexcept { return pid_.load(std::memory_order_acquire); }
  [[nodiscard]] u64 start_time() const noexcept { return start_time_.load(std::memory_order_acquire); }
  // Takes the entry from `owner` (0: free), whose start time the caller read as
  // `owner_start_time` (after `owner`, and judged it by), for `new_owner` (0: frees it).
  // False if anyone changed either meanwhile. Of several takers of one entry, at most one
  // wins: each clears the start time it saw (a no-op when it saw 0), then all race on the pid.
  [[nodiscard]] bool take(u32 owner, u64 owner_start_time, u32 new_owner) noexcept {
    if (owner_start_time != 0 &&
        !start_time_.compare_exchange_strong(owner_start_time, 0, std::memory_order_acq_rel))
      return false;
    return pid_.compare_exchange_strong(owner, new_owner, std::memory_order_acq_rel);
  }
  // The new owner's fresh entry. The start time is stored last with release: an
  // observer that reads it (acquire) reads the reset fields.
  void reset(std::string_view label, u64 position, u64 now_ns, u64 owner_start_time) noexcept {
    flags_.store(0, std::memory_order_relaxed);
    publish_counters(position, position, 0, 0, 0, 0);
    external_position_.store(0, std::memory_order_relaxed);
    last_active_ns_.store(now_ns, std::memory_order_relaxed);
    attached_ns_.store(now_ns, std::memory_order_relaxed);
    char buf[kRegistryLabelSize] = {};
    std::memcpy(buf, label.data(), label.size() < kMaxLabelBytes ? label.size() : kMaxLabelBytes);
    for (std::size_t i = 0; i < kRegistryLabelSize / 8; ++i) {
      u64 w;
      std::memcpy(&w, buf + 8 * i, 8);
      label_words_[i].store(w, std::memory_order_relaxed);
    }
    start_time_.store(owner_start_time, std::memory_order_release);
  }
  // The owner gives the entry up; release, so the next owner sees it cleared.
  void release() noexcept {
    flags_.store(0, std::memory_order_relaxed);
    start_time_.store(0, std::memory_order_relaxed);
    pid_.store(0, std::memory_order_release);
  }

  // The owner's counters, for observers, under a seqlock (Boehm 2012, as the ring's
  // stamps): the version goes odd (relaxed), a release fence orders it before the relaxed
  // field stores, and the even version is stored with release after them. An observer
  // that reads the same even version before (acquire) and after (behind an acquire fence)
  // its loads read one moment's counters, so `stat` never shows delivered + missed !=
  // position - start for a running reader. Only the owner writes the version.
  void publish_counters(u64 start, u64 position, u64 delivered, u64 gaps, u64 missed, u64 snapshots) noexcept {
    const u64 v = begin_counters();
    start_.store(start, std::memory_order_relaxed);
    position_.store(position, std::memory_order_relaxed);
    undelivered_.store(position - delivered, std::memory_order_relaxed);
    gaps_.store(gaps, std::memory_order_relaxed);
    missed_.store(missed, std::memory_order_relaxed);
    snapshots_.store(snapshots, std::memory_order_relaxed);
    counters_version_.store(v + 2, std::memory_order_release);
  }
  // A delivery, on the read hot path: position alone, one store outside the seqlock.
  // Every other counter is unchanged by a delivery (delivered is derived), so an observer
  // pairs whichever position it reads with them correctly. Release (a plain store on
  // x86): an observer that reads this position, then its acquire fence, sees every
  // version stored before it, so a position from after a later publish_counters cannot
  // pass the version check paired with that section's older fields.
  void publish_progress(u64 position) noexcept { position_.store(position, std::memory_order_release); }
  void stamp_activity(u64 now_ns) noexcept { last_active_ns_.store(now_ns, std::memory_order_relaxed); }
  void set_external_position(u64 position) noexcept { external_position_.store(position, std::memory_order_relaxed); }

  // Blocked in a futex wait: set and cleared by the owner; a dead owner's stays until the
  // entry's next owner resets it (observers count live entries only). Relaxed: the pid
  // compare-and-swap orders the hand-over.
  void set_waiting() noexcept { flags_.fetch_or(kWaiting, std::memory_order_relaxed); }
  void clear_waiting() noexcept { flags_.fetch_and(~kWaiting, std::memory_order_relaxed); }
  // Reading what the ring no longer holds from an archive (ReaderOptions::archive), for `stat`.
  void set_catching_up(bool on) noexcept {
    if (on) flags_.fetch_or(kCatchingUp, std::memory_order_relaxed);
    else flags_.fetch_and(~kCatchingUp, std::memory_order_relaxed);
  }

  // The counters, once, for an observer: true if they held still while read (the same
  // even version before and after), so that they are one moment's. How often to try
  // again is the caller's (registry.cpp, copy_entry).
  [[nodiscard]] bool try_copy_counters(EntryCopy& c) const noexcept {
    const u64 v1 = counters_version_.load(std::memory_order_acquire);
    c.start = start_.load(std::memory_order_relaxed);
    c.position = position_.load(std::memory_order_relaxed);
    c.delivered = c.position - undelivered_.load(std::memory_order_relaxed);
    c.gaps = gaps_.load(std::memory_order_relaxed);
    c.missed = missed_.load(std::memory_order_relaxed);
    c.snapshots = snapshots_.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    const u64 v2 = counters_version_.load(std::memory_order_relaxed);
    return c.consistent = v1 == v2 && (v1 & 1) == 0;
  }

  // Every field but the counters for an observer (try_copy_counters reads those); pid 0
  // in the copy means the entry is free.
  [[nodiscard]] EntryCopy copy_fields() const noexcept {
    EntryCopy c;
    c.pid = owner();
    if (c.pid == 0) return c;
    c.start_time = start_time();
    const u32 flags = flags_.load(std::memory_order_relaxed);
    c.waiting = (flags & kWaiting) != 0;
    c.catching_up = (flags & kCatchingUp) != 0;
    c.last_active_ns = last_active_ns_.load(std::memory_order_relaxed);
    c.attached_ns = attached_ns_.load(std::memory_order_relaxed);
    c.external_position = external_position_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < kRegistryLabelSize / 8; ++i) {
      const u64 w = label_words_[i].load(std::memory_order_relaxed);
      std::memcpy(c.label + 8 * i, &w, 8);
    }
    c.label[kRegistryLabelSize - 1] = '\0';
    return c;
  }

 private:
  // The writer's opening half of the seqlock: odd version, then a release fence so that
  // no field store is seen before it. The version only grows, across owners too: a new
  // owner goes on from its predecessor's (a live one released the entry after its last
  // write), so an observer can never match a version from before a hand-over with one
  // after it; an odd one left by an owner killed mid-write is first rounded up to even.
  u64 begin_counters() noexcept {
    const u64 v = (counters_version_.load(std::memory_order_relaxed) + 1) & ~u64{1};
    counters_version_.store(v + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    return v;
  }
};

inline constexpr u64 kWaitLineOffset = 64;
inline constexpr u64 kRegistryEntriesOffset = 128;
// The object's size for a registry of `entries` entries (RegistryHeader::entry_count).
[[nodiscard]] constexpr u64 registry_size(u64 entries) noexcept { return kRegistryEntriesOffset + entries * kRegistryEntrySize; }

static_assert(kRegistryLabelSize % 8 == 0, "the label is stored as whole words");
static_assert(sizeof(RegistryHeader) == kCacheLine);
static_assert(sizeof(WaitLine) == kCacheLine);
static_assert(sizeof(ReaderEntry) == kRegistryEntrySize, "a registry entry is three cache lines");
static_assert(offsetof(ReaderEntry, start_time_) == kCacheLine && offsetof(ReaderEntry, label_words_) == 2 * kCacheLine);
static_assert(std::is_standard_layout_v<ReaderEntry> && std::is_standard_layout_v<WaitLine>,
              "views of a mapping need standard layout");

}  // namespace shmcast::detail
