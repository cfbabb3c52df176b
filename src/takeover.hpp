// How a producer takes over a ring from a predecessor, outside the write protocol: it
// finds where the predecessor stopped and records who the new producer is. A predecessor
// may have died anywhere inside a publish or a jump (docs/DESIGN.md, "Processes, faults
// and permissions").
#pragma once

#include "layout.hpp"
#include "ring_view.hpp"

#include <cstdint>

namespace shmcast::detail {

// Where to continue. The predecessor stores head, records and tail after each commit, and
// may have died between any two of those stores: starting from the stored tail, a record
// it committed but did not count is kept and counted, and a stale tail is moved past the
// record it already counted. A record it was still writing was never committed, so
// readers never saw it, and it is simply overwritten. Publishes the result.
void recover_position(const RingView& view) noexcept;

// Records this process as the ring's producer; returns whether it must use full fences
// (the kernel offered no membarrier), which readers also learn from the reserve line.
bool claim_producer_identity(ReserveLine& line) noexcept;

}  // namespace shmcast::detail
