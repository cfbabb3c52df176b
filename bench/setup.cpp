// Creates and removes each point's transports. Names carry the parent's pid and the point's
// number (/shmcast.bench-PID-N-a, /shmcast-bench.bench-PID-N-a.mutex, iceoryx service
// shmcast-bench/bench-PID-N/a, $TMPDIR/shmcast-bench-XXXXXX/a.ipc...), so that runs side by
// side do not collide; iceoryx's RouDi cannot be shared, and a run that finds someone
// else's skips its iceoryx points.
#include "setup.hpp"

#include "processes.hpp"
#include "roudi.hpp"
#include "transport_iceoryx.hpp"

#include <boost/interprocess/shared_memory_object.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <sys/mman.h>
#include <unistd.h>

namespace shmcast::bench {

Geometry geometry_for(std::size_t size) {
  Geometry g;
  g.ring_bytes = ring_bytes_for(size);
  g.max_message = static_cast<std::uint32_t>(size);
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

std::string unavailable(Transport t) {
  switch (t) {
    case Transport::iceoryx:
#if SHMCAST_BENCH_ICEORYX
      if (const std::string why = roudi_unavailable(); !why.empty()) return "iceoryx skipped: " + why;
      return {};
#else
      return "iceoryx skipped: not built (CMake found no iceoryx_posh and iox-roudi; Debian: libiceoryx-posh-dev iceoryx)";
#endif
    case Transport::zmq:
#if SHMCAST_BENCH_ZMQ
      return {};
#else
      return "zmq skipped: not built (pkg-config found no libzmq; Debian: libzmq3-dev)";
#endif
    default:
      return {};
  }
}

namespace {

// $TMPDIR/shmcast-bench-XXXXXX, removed with the point's names (after the files in it).
std::string make_temp_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp != nullptr && *tmp != 0 ? tmp : "/tmp") + "/shmcast-bench-XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) throw std::runtime_error("mkdtemp " + path + ": " + std::strerror(errno));
  remember_path(path, true);
  return path;
}

}  // namespace

Setup make_setup(const Spec& spec, int point_id) {
  Setup s;
  s.geometry = geometry_for(spec.size);
  s.capacity = ring_capacity(spec.size);
  const int channels = spec.workload == Workload::rtt ? 2 : 1;
  const std::string base = "bench-" + std::to_string(::getpid()) + "-" + std::to_string(point_id);
  s.tag = base;
  if (spec.transport == Transport::iceoryx) {
#if SHMCAST_BENCH_ICEORYX
    const std::size_t readers = spec.workload == Workload::rtt ? 1 : static_cast<std::size_t>(spec.readers);
    // The build's limits: subscribers per publisher, and processes per RouDi (the readers
    // and the producer each register as one).
    const std::size_t most = std::min<std::size_t>(iox::MAX_SUBSCRIBERS_PER_PUBLISHER, iox::MAX_PROCESS_NUMBER - 1);
    if (readers > most)
      throw PointSkipped("iceoryx skipped at K=" + std::to_string(readers) + ": this build takes at most " + std::to_string(most) +
                         " readers (MAX_SUBSCRIBERS_PER_PUBLISHER " + std::to_string(iox::MAX_SUBSCRIBERS_PER_PUBLISHER) +
                         ", MAX_PROCESS_NUMBER " + std::to_string(iox::MAX_PROCESS_NUMBER) + ")");
    s.iox_names.push_back("shmcast-" + base + "-tx");
    for (std::size_t i = 0; i < readers; ++i) s.iox_names.push_back("shmcast-" + base + "-rx" + std::to_string(i));
    // A runtime removes its unix-domain socket (iceoryx 2.0: /tmp/NAME) when it exits; a
    // killed one leaves it, and its lock, behind.
    for (const std::string& n : s.iox_names) {
      remember_path("/tmp/" + n);
      remember_path("/tmp/" + n + ".lock");
    }
    s.dir = make_temp_dir();
    // rtt: two channels of one subscriber each; otherwise one publisher and K subscribers.
    const std::size_t subscribers = spec.workload == Workload::rtt ? 2 : readers;
    const std::size_t publishers = static_cast<std::size_t>(channels);
    try {
      s.roudi = start_roudi(s.dir, iox_mempool(spec.size, subscribers, publishers));
    } catch (const RoudiBusy& e) {
      throw PointSkipped(std::string("iceoryx skipped: ") + e.what());
    }
#endif
    return s;
  }
  if (spec.transport == Transport::zmq) s.dir = make_temp_dir();
  for (int ch = 0; ch < channels; ++ch) {
    const std::string tag = base + (ch == 0 ? "-a" : "-b");
    switch (spec.transport) {
      case Transport::ring:
      case Transport::ring_inplace:
        s.ring_name[ch] = tag;
        remember_name("shmcast." + tag);
        remember_name("shmcast." + tag + ".readers");
        break;
      case Transport::mutex: {
        const std::uint64_t stride = record_bytes(spec.size);
        s.region_bytes[ch] = MutexRing::bytes(s.capacity, stride);
        s.region[ch] = create_region("shmcast-bench." + tag + ".mutex", s.region_bytes[ch]);
        auto* ring = new (s.region[ch]) MutexRing();
        ring->capacity = s.capacity;
        ring->stride = stride;
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
      case Transport::iceoryx:
        break;  // above
      case Transport::zmq: {
        const std::string socket = s.dir + (ch == 0 ? "/a.ipc" : "/b.ipc");
        remember_path(socket);  // the PUB unlinks it when it closes; not when killed
        s.endpoint[ch] = "ipc://" + socket;
        break;
      }
    }
  }
  return s;
}

void teardown(Setup& s) {
#if SHMCAST_BENCH_ICEORYX
  if (s.roudi > 0) {
    stop_roudi(s.roudi, s.clients_clean);
    s.roudi = -1;
  }
#endif
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
