// A point's transports, made by the parent before it forks: ring names, or a POSIX shm
// mapping holding a mutex ring or spsc fan-out (inherited by the children), one per channel
// (rtt uses two: ping and echo); for iceoryx a RouDi of the point's own, for zmq ipc://
// endpoints in a temporary directory. teardown stops, unmaps and unlinks them all.
#pragma once

#include "options.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace shmcast::bench {

struct Setup {
  Geometry geometry;
  std::uint64_t capacity = 0;  // messages of the point's size the ring holds: the peers' capacity (ring_capacity)
  std::string tag;  // bench-PID-N: the point's names derive from it
  std::string ring_name[2];
  void* region[2] = {nullptr, nullptr};
  std::size_t region_bytes[2] = {0, 0};
  std::string dir;              // iceoryx, zmq: the temporary directory (RouDi's config, sockets)
  std::string endpoint[2];      // zmq: ipc://DIR/a.ipc (and b.ipc for rtt's echo)
  pid_t roudi = -1;             // iceoryx: the point's RouDi
  std::vector<std::string> iox_names;  // iceoryx runtime names: [0] the producer (or ping), [1 + i] reader i (or the echo)
  bool clients_clean = true;    // every child exited by itself (so it deregistered from RouDi)
};

// The point cannot run now, through no fault of its own (another RouDi runs): it is left
// out of the results with a note.
struct PointSkipped : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A one-line note why transport `t` cannot run in this process (not built, or its daemon is
// someone else's now), or "" if it can.
std::string unavailable(Transport t);

// The ring's geometry for payloads of `size` bytes (ring_bytes_for; max_message = size); the
// peers hold ring_capacity(size) messages.
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
