// How a producer takes over a ring from a predecessor, outside the write protocol: it
// finds where the predecessor stopped, repairs what it left half-done, and records who
// the new producer is. A predecessor may have died anywhere inside a publish or a jump
// (docs/DESIGN.md, "Processes, faults and permissions").
#pragma once

#include "layout.hpp"
#include "ring_view.hpp"

#include <cstdint>

namespace shmcast::detail {

// The head to continue from. Committed slots at or past the recorded head (it died
// before advancing head, or inside a jump's skip records) are kept and head moves past
// them; a slot left "being written" is made vacant, so that readers waiting for it see
// "not yet" and readers of its previous lap see "overwritten". Publishes the head.
std::uint64_t recover_head(const RingView& view) noexcept;

// Records this process as the ring's producer; returns whether it must use full fences
// (the kernel offered no membarrier), which readers also learn from the producer line.
bool claim_producer_identity(ProducerLine& line) noexcept;

}  // namespace shmcast::detail
