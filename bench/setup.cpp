// Creates and removes each point's transports. Names carry the parent's pid and the point's
// number (/shmcast.bench-PID-N-a, /shmcast-bench.bench-PID-N-a.mutex, ...), so that runs
// side by side do not collide.
#include "setup.hpp"

#include "processes.hpp"

#include <boost/interprocess/shared_memory_object.hpp>

#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <sys/mman.h>
#include <unistd.h>

namespace shmcast::bench {

Geometry geometry_for(std::size_t size) {
  Geometry g;
  g.slot_size = slot_size_for(static_cast<std::uint32_t>(size));
  g.slot_count = slot_count_for(size);
  return g;
}

std::size_t spsc_class(std::size_t size) {
  std::size_t s = 8;
  while (s < size) s *= 2;
  return s;
}

void* create_region(const std::string& object, std::size_t bytes) {
  bip::shared_memory_object::remove(object.c_str());
  remember_name(object);
  bip::shared_memory_object shm(bip::create_only, object.c_str(), bip::read_write, bip::permissions(0600));
  shm.truncate(static_cast<bip::offset_t>(bytes));
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, shm.get_mapping_handle().handle, 0);
  if (p == MAP_FAILED) throw std::runtime_error("mmap " + object + ": " + std::strerror(errno));
  return p;
}

Setup make_setup(const Spec& spec, int point_id) {
  Setup s;
  s.geometry = geometry_for(spec.size);
  const int channels = spec.workload == Workload::rtt ? 2 : 1;
  const std::string base = "bench-" + std::to_string(::getpid()) + "-" + std::to_string(point_id);
  for (int ch = 0; ch < channels; ++ch) {
    const std::string tag = base + (ch == 0 ? "-a" : "-b");
    switch (spec.transport) {
      case Transport::ring:
        s.ring_name[ch] = tag;
        remember_name("shmcast." + tag);
        remember_name("shmcast." + tag + ".readers");
        break;
      case Transport::mutex: {
        s.region_bytes[ch] = MutexRing::bytes(s.geometry);
        s.region[ch] = create_region("shmcast-bench." + tag + ".mutex", s.region_bytes[ch]);
        auto* ring = new (s.region[ch]) MutexRing();
        ring->slot_count = s.geometry.slot_count;
        ring->slot_size = s.geometry.slot_size;
        break;
      }
      case Transport::spsc: {
        const std::size_t queues = ch == 0 ? static_cast<std::size_t>(spec.readers) : 1;
        with_spsc_class(spec.size, [&]<std::size_t S>() {
          s.region_bytes[ch] = SpscFanout<S>::bytes(queues);
          s.region[ch] = create_region("shmcast-bench." + tag + ".spsc", s.region_bytes[ch]);
          SpscFanout<S>::construct(s.region[ch], queues);
        });
        break;
      }
    }
  }
  return s;
}

void teardown(Setup& s) {
  for (int ch = 0; ch < 2; ++ch) {
    if (s.region[ch] != nullptr) {
      ::munmap(s.region[ch], s.region_bytes[ch]);
      s.region[ch] = nullptr;
    }
    if (!s.ring_name[ch].empty()) {
      try {
        Producer::remove(s.ring_name[ch]);
      } catch (...) {
      }
    }
  }
  unlink_names();
}

}  // namespace shmcast::bench
