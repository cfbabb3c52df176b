#include <shmcast/inspect.hpp>

#include "registry.hpp"
#include "segment.hpp"

#include <algorithm>
#include <dirent.h>
#include <sys/stat.h>

namespace shmcast {

using namespace detail;

RingStatus inspect(std::string_view name) {
  OpenedRing ring = open_ring(name, /*writable=*/false, std::chrono::milliseconds(200));
  const auto* prefix = reinterpret_cast<const RingPrefix*>(ring.segment.base());
  RingStatus st;
  st.name = std::string(name);
  st.geometry = ring.geometry;
  st.ring_id = ring.header.ring_id;
  st.object_size = ring.segment.size();
  struct stat fs {};
  if (::fstat(ring.segment.fd(), &fs) == 0) st.mode = fs.st_mode & 0777;
  st.creation_time_ns = ring.header.creation_time_ns;
  const ProducerLine& p = prefix->producer;
  st.head = p.head.load(std::memory_order_acquire);
  st.published = p.published.load(std::memory_order_relaxed);
  st.published_bytes = p.published_bytes.load(std::memory_order_relaxed);
  st.last_publish_ns = p.last_publish_ns.load(std::memory_order_relaxed);
  st.producer_pid = p.pid.load(std::memory_order_relaxed);
  st.producer_alive = producer_lock_held(ring.segment.fd());
  st.takeovers = p.takeovers.load(std::memory_order_relaxed);
  st.source_position = p.source_position.load(std::memory_order_relaxed);
  st.source_head = prefix->relay.source_head.load(std::memory_order_relaxed);
  st.source_gaps = prefix->relay.source_gaps.load(std::memory_order_relaxed);
  st.source_missed = prefix->relay.source_missed.load(std::memory_order_relaxed);
  st.first_seq = prefix->sequence.first_seq.load(std::memory_order_relaxed);
  st.skipped = prefix->sequence.skipped.load(std::memory_order_relaxed);
  if (ring.geometry.snapshot_capacity != 0) {
    const SnapshotControl& ctl = prefix->snapshot;
    const std::uint64_t k = ctl.stamp.load(std::memory_order_acquire) / 2;
    st.snapshots_published = k;
    if (k != 0) {
      const std::uint64_t b = (k - 1) & 1;
      st.snapshot_as_of = ctl.as_of[b].load(std::memory_order_relaxed);
      st.snapshot_length = ctl.length[b].load(std::memory_order_relaxed);
      st.snapshot_published_ns = ctl.published_ns[b].load(std::memory_order_relaxed);
    }
  }
  std::optional<Registry> registry = open_registry(name, st.ring_id, /*writable=*/false, st.registry_error);
  if (registry) {
    st.waiters = registry->wait_line()->waiters.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < kRegistryEntries; ++i) {
      std::optional<ReaderStatus> r = copy_entry(*registry, i);
      if (!r) continue;
      r->lag = st.head > r->position ? st.head - r->position : 0;
      st.readers.push_back(std::move(*r));
    }
  }
  return st;
}

std::vector<std::string> list_rings() {
  std::vector<std::string> names;
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr) return names;
  while (const dirent* d = ::readdir(dir)) {
    std::string_view file = d->d_name;
    if (file.substr(0, 8) != "shmcast.") continue;
    std::string_view name = file.substr(8);
    if (name.size() >= 8 && name.substr(name.size() - 8) == ".readers") continue;
    if (!name.empty()) names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::size_t reap_dead_readers(std::string_view name) {
  OpenedRing ring = open_ring(name, /*writable=*/false, std::chrono::milliseconds(200));
  std::string why;
  std::optional<Registry> registry = open_registry(name, ring.header.ring_id, /*writable=*/true, why);
  if (!registry) return 0;
  return reap_dead_entries(*registry);
}

}  // namespace shmcast
