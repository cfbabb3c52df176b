// What a Producer holds beyond its hot-path members: the mappings it owns and the view
// of them. Shared by the write protocol (producer.cpp) and the ways a Producer comes to
// hold a ring (producer_open.cpp).
#pragma once

#include "fork_generation.hpp"
#include "mapping.hpp"
#include "registry.hpp"
#include "ring_view.hpp"

#include <shmcast/types.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace shmcast::detail {

struct ProducerState {
  // A state that became a Producer marks the ring closed when it lets it go (before the
  // mapping and the producer lock go away below), so a successor can tell a restart from
  // a takeover after a death. Only in the process that produces: a child forked while the
  // Producer existed holds a copy, and destroying it must not mark a live producer's ring
  // closed; a child that goes on producing (a daemon) does (fork_generation.hpp).
  ~ProducerState() {
    if (producing && generation == fork_generation()) view.reserve().mark_closed();
  }
  ProducerState() = default;
  ProducerState(const ProducerState&) = delete;
  ProducerState& operator=(const ProducerState&) = delete;

  bool producing = false;       // set once the ring is this process's to write
  std::uint64_t generation = 0;  // the fork generation it was last written in (at each horizon step)
  std::string name;
  Segment ring;
  std::optional<Registry> registry;
  Geometry geometry;
  std::uint64_t ring_id = 0;
  RingView view;
  bool full_fence = false;   // from claim_producer_identity()
  WaitLine no_registry{};    // stands in for the registry's wait line when there is none
};

}  // namespace shmcast::detail
