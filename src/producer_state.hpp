// What a Producer holds beyond its hot-path members: the mappings it owns and the view
// of them. Shared by the write protocol (producer.cpp) and the ways a Producer comes to
// hold a ring (producer_open.cpp).
#pragma once

#include "mapping.hpp"
#include "registry.hpp"
#include "ring_view.hpp"

#include <shmcast/types.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace shmcast::detail {

struct ProducerState {
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
