// The snapshot area: two buffers under one seqlock (SnapshotControl, layout.hpp). The
// writer (Producer::publish_snapshot), the copier (a Reader) and the observer's peek are
// the three ways in, all here. The writer never waits: snapshot k+1 goes to the buffer
// that does not hold snapshot k, so a reader copying snapshot k is disturbed only by
// snapshot k+2, and then retries. Snapshots are copied with relaxed atomic words in every
// build (docs/DESIGN.md, "Memory ordering").
#pragma once

#include "layout.hpp"
#include "ring_view.hpp"
#include "payload_io.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace shmcast::detail {

// Stores `state` as the next snapshot, reflecting every message below `as_of`.
// Precondition: state.size() <= view.snapshot_capacity().
inline void write_snapshot(const RingView& view, std::span<const std::byte> state, std::uint64_t as_of,
                           std::uint64_t now_ns) noexcept {
  SnapshotControl& ctl = view.snapshot_control();
  const std::uint64_t completed = ctl.completed();
  ctl.begin_write(completed);
  store_words(view.snapshot_buffer(SnapshotControl::buffer_of(completed + 1)), state.data(), state.size());
  ctl.commit(completed, as_of, state.size(), now_ns);
}

// Whether the ring holds a complete snapshot. Stamp 1 says only that the first one is
// being written; it stays so for good if its writer dies there.
[[nodiscard]] inline bool has_snapshot(const RingView& view) noexcept {
  return view.has_snapshot_area() && SnapshotControl::completed_in(view.snapshot_control().stamp()) != 0;
}

// A copy of the newest snapshot. `stamp` identifies it (2k for snapshot k).
struct SnapshotCopy {
  std::uint64_t stamp = 0;
  std::uint64_t as_of = 0;
  std::uint64_t length = 0;
};

// Copies the newest complete snapshot into `dst` (8-byte aligned, room for the snapshot
// capacity rounded up to whole words). nullopt if there is none, if the writer kept
// overwriting it faster than it could be copied, or if its length is corrupt.
inline std::optional<SnapshotCopy> copy_newest_snapshot(const RingView& view, std::byte* dst) noexcept {
  const SnapshotControl& ctl = view.snapshot_control();
  for (int attempt = 0; attempt < 64; ++attempt) {
    const std::uint64_t s1 = ctl.stamp();
    const std::uint64_t k = SnapshotControl::completed_in(s1);
    if (k == 0) return std::nullopt;
    const std::uint64_t b = SnapshotControl::buffer_of(k);
    const SnapshotCopy c{s1, ctl.as_of(b), ctl.length(b)};
    if (c.length > view.snapshot_capacity()) return std::nullopt;  // corrupt: never read past the area
    load_words(dst, view.snapshot_buffer(b), c.length);
    if (ctl.stamp_after_copy() < 2 * k + 3) return c;  // snapshot k+2 has not started
  }
  return std::nullopt;
}

// What an observer shows of the snapshot area. Read relaxed, unvalidated: for display.
struct SnapshotInfo {
  std::uint64_t published = 0;  // snapshots completed
  std::uint64_t as_of = 0;
  std::uint64_t length = 0;
  std::uint64_t published_ns = 0;
};

inline SnapshotInfo peek_snapshot(const RingView& view) noexcept {
  const SnapshotControl& ctl = view.snapshot_control();
  SnapshotInfo info;
  info.published = SnapshotControl::completed_in(ctl.stamp());
  if (info.published != 0) {
    const std::uint64_t b = SnapshotControl::buffer_of(info.published);
    info.as_of = ctl.as_of(b);
    info.length = ctl.length(b);
    info.published_ns = ctl.published_ns(b);
  }
  return info;
}

}  // namespace shmcast::detail
