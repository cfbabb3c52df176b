// The rules for a ring's shape, written once: checked when a ring is created, and again,
// against the header a reader finds in shared memory, when it attaches. Also the header
// derived from a geometry, and the sizes and offsets that follow from it.
#pragma once

#include "layout.hpp"

#include <shmcast/types.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shmcast::detail {

inline constexpr u64 kMaxSnapshotCapacity = u64{1} << 32;

// Throws Errc::invalid_argument about `ring` if the geometry breaks a rule
// (shmcast::geometry_problem, types.hpp).
void check_geometry(const Geometry& geometry, std::string_view ring);

[[nodiscard]] u64 snapshot_stride(u64 capacity) noexcept;
[[nodiscard]] u64 index_entries(const Geometry& geometry) noexcept;
[[nodiscard]] u64 index_offset(const Geometry& geometry) noexcept;
[[nodiscard]] u64 ring_size(const Geometry& geometry) noexcept;
// Where the first snapshot buffer starts; 0 for a ring without a snapshot area.
[[nodiscard]] u64 snapshot_offset(const Geometry& geometry) noexcept;

// Writes every header field but the magic (the creator stores that last, with
// publish_magic()). `header` lies in a fresh, zeroed object; `geometry` is resolved.
void init_header(RingHeader& header, const Geometry& geometry, u64 ring_id, u64 creation_time_ns) noexcept;

// Checks a header copied from shared memory against the rules and against the size of
// the object it came from; returns its (resolved) geometry. Throws foreign,
// version_mismatch, corrupt or truncated about `ring`.
Geometry validate_header(const RingHeader& header, u64 object_size, std::string_view ring);

}  // namespace shmcast::detail
