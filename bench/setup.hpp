// A point's transports, made by the parent before it forks: ring names, or a POSIX shm
// mapping holding a mutex ring or spsc fan-out (inherited by the children), one per channel
// (rtt uses two: ping and echo). teardown unmaps and unlinks them all.
#pragma once

#include "options.hpp"

#include <cstddef>
#include <string>
#include <utility>

namespace shmcast::bench {

struct Setup {
  Geometry geometry;
  std::string ring_name[2];
  void* region[2] = {nullptr, nullptr};
  std::size_t region_bytes[2] = {0, 0};
};

// The ring's geometry for payloads of `size` bytes; the baselines use the same.
Geometry geometry_for(std::size_t size);

// The spsc fan-out's message type is fixed-size: payloads round up to a power of two from 8.
std::size_t spsc_class(std::size_t size);

// Calls f.template operator()<S>() with S = spsc_class(size), 8 to 65536.
template <std::size_t S = 8, class F>
decltype(auto) with_spsc_class(std::size_t size, F&& f) {
  if constexpr (S < 65536) {
    if (spsc_class(size) > S) return with_spsc_class<S * 2>(size, std::forward<F>(f));
  }
  return f.template operator()<S>();
}

// A fresh shm object of `bytes`, mapped and populated; its name is remembered for cleanup.
void* create_region(const std::string& object, std::size_t bytes);

Setup make_setup(const Spec& spec, int point_id);
void teardown(Setup& s);

}  // namespace shmcast::bench
