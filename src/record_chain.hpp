// Finding places in the record chain (docs/DESIGN.md, "Finding a place"). A reader
// follows the chain record by record from where it stands; these are the ways it gets a
// place to stand: the latest point (after the newest record), the first record at or
// after a sequence (seek, oldest, a snapshot's as_of), and the one check every record
// read from shared memory passes before anything in it is trusted.
#pragma once

#include "layout.hpp"
#include "liveness.hpp"
#include "ring_view.hpp"

#include <cstdint>
#include <optional>

namespace shmcast::detail {

// A place to read from: the record at `position` has sequence `seq`, or, at the
// producer's tail, the next record will.
struct ChainPoint {
  std::uint64_t seq = 0;
  std::uint64_t position = 0;
  friend bool operator==(const ChainPoint&, const ChainPoint&) = default;
};

// The horizon check (ReserveLine) against a horizon `reserved` loaded after the reads:
// nothing at or after `position` + ring_bytes - margin had been reserved, so the reads of
// the record at `position` saw it whole and at least `margin` bytes stay between it and
// the producer.
[[nodiscard, gnu::always_inline]] constexpr bool whole_below(std::uint64_t reserved, std::uint64_t position,
                                                             std::uint64_t margin, std::uint64_t ring_bytes) noexcept {
  return reserved + margin <= position + ring_bytes;
}

// The horizon check for the reads of the record at `position` the caller has just done.
[[nodiscard, gnu::always_inline]] inline bool stayed_whole(const RingView& view, std::uint64_t position,
                                                           std::uint64_t margin = 0) noexcept {
  return whole_below(view.reserve().reserved_after_read(), position, margin, view.ring_bytes());
}

// A record read from the chain and checked.
struct CheckedRecord {
  std::uint64_t seq = 0;
  std::uint64_t position = 0;
  RecordMeta meta{};
  ChainPoint next{};  // where the chain goes on: seq + 1 (a skip record: its target) at the following record
};

// The record at `position` (an absolute position, as the record index holds them) if one
// is committed there, its length fits, and it stayed whole (with `margin`); nullopt
// otherwise (nothing yet, padding, overwritten or corrupt).
//
// Positions and stamps come from shared memory and may be anything. A record committed at
// `position` was reserved before its commit, which the stamp's acquire load saw, so a
// position at or past the horizon is no record of this lap: a corrupt index entry
// pointing laps ahead, which every later horizon check of the chain after it would
// otherwise pass for laps to come. A stamp past the last sequence (kMaxSequence) is no
// record either: sequences that large would alias the "nothing yet" and padding stamps.
[[nodiscard]] inline std::optional<CheckedRecord> check_record(const RingView& view, std::uint64_t position,
                                                               std::uint64_t margin = 0) noexcept {
  if (position % kRecordAlign != 0) return std::nullopt;  // not a record start: a corrupt index entry
  const RecordHeader& header = view.record(position);
  const std::uint64_t stamp = header.stamp();
  if (stamp == kNothingYet || stamp > record_stamp(kMaxSequence)) return std::nullopt;  // padding is ~0
  CheckedRecord r;
  r.seq = stamp - 1;
  r.position = position;
  r.meta = header.meta();
  const std::uint64_t reserved = view.reserve().reserved_after_read();
  if (position >= reserved || !whole_below(reserved, position, margin, view.ring_bytes())) return std::nullopt;
  if (r.meta.is_skip()) {
    if (!r.meta.skips_forward_from(r.seq)) return std::nullopt;
    r.next = {r.meta.timestamp_ns, position + kRecordAlign};
  } else {
    if (!view.fits(position, r.meta.length)) return std::nullopt;
    r.next = {r.seq + 1, position + record_bytes(r.meta.length)};
  }
  return r;
}

// The point after the newest record: where a reader that wants only new messages
// starts. nullopt if the producer overwrote the newest record again and again while this
// looked (then try again later), or if the ring is corrupt (a head past kMaxSequence).
[[nodiscard]] std::optional<ChainPoint> latest_point(const RingView& view) noexcept;

// The first record whose sequence is at or after `seq`, or, when `seq` lies in a run
// skipped by a jump, the point after that run; among the records that stayed whole with
// `margin` bytes to spare. When no such record is held (`seq` is at the head, or later,
// or everything from `seq` on was overwritten meanwhile), the latest point. O(log n)
// through the record index.
[[nodiscard]] std::optional<ChainPoint> first_point_from(const RingView& view, std::uint64_t seq,
                                                         std::uint64_t margin) noexcept;

// How far a reader that resynchronises by "oldest" stays from the producer, so that a
// reader just lapped does not land where the producer writes next: a sixteenth of the
// ring while a producer may write, and nothing once the last one has closed the ring and
// nobody holds its lock (the oldest record held is then really the oldest: `tail --from
// oldest`, `-n`). The lock is asked only when the ring says closed, which a live forked
// child's parent may have said for it (fork_generation.hpp). Only a choice of place: if a
// producer takes the ring over meanwhile and overwrites that place, the record protocol
// reports the loss as ever. `ring_fd`: the ring object, open.
[[nodiscard]] inline std::uint64_t resync_margin(const RingView& view, int ring_fd) noexcept {
  const bool may_write = !view.reserve().closed() || producer_lock_held(ring_fd);
  return may_write ? view.ring_bytes() / 16 : 0;
}

// The oldest point held with the resynchronisation margin, from the ring's first sequence on.
[[nodiscard]] std::optional<ChainPoint> oldest_point(const RingView& view, int ring_fd) noexcept;

}  // namespace shmcast::detail
