// The operators' observer: one mapping of a ring and its registry, sampled on demand.
#include <shmcast/inspect.hpp>

#include "registry.hpp"
#include "segment.hpp"

#include <algorithm>
#include <dirent.h>
#include <sys/stat.h>

namespace shmcast {

namespace detail {

struct ObserverState {
  std::string name;
  OpenedRing ring;
  std::optional<Registry> registry;          // read-only, for sampling
  std::optional<Registry> writable_registry; // opened on the first reap_dead()
  std::string registry_error;
  dev_t device = 0;
  ino_t inode = 0;
  bool have_previous = false;
  std::uint64_t previous_published = 0;
  std::uint64_t previous_bytes = 0;
  std::chrono::steady_clock::time_point previous_at{};
};

}  // namespace detail

using namespace detail;

RingObserver::RingObserver(std::string_view name) : state_(std::make_unique<ObserverState>()) {
  ObserverState& s = *state_;
  s.name = std::string(name);
  s.ring = open_ring(name, /*writable=*/false, std::chrono::milliseconds(200));
  struct stat st {};
  if (::fstat(s.ring.segment.fd(), &st) == 0) {
    s.device = st.st_dev;
    s.inode = st.st_ino;
  }
  s.registry = open_registry(name, s.ring.header.ring_id, /*writable=*/false, s.registry_error);
}

RingObserver::RingObserver(RingObserver&&) noexcept = default;
RingObserver& RingObserver::operator=(RingObserver&&) noexcept = default;
RingObserver::~RingObserver() = default;

const std::string& RingObserver::name() const noexcept { return state_->name; }

bool RingObserver::replaced() const noexcept {
  struct stat st {};
  if (::stat(object_path(ring_object_name(state_->name)).c_str(), &st) != 0) return true;
  return st.st_ino != state_->inode || st.st_dev != state_->device;
}

RingStatus RingObserver::sample() {
  ObserverState& s = *state_;
  const auto taken = std::chrono::steady_clock::now();
  const auto* prefix = reinterpret_cast<const RingPrefix*>(s.ring.segment.base());
  RingStatus st;
  st.name = s.name;
  st.geometry = s.ring.geometry;
  st.ring_id = s.ring.header.ring_id;
  st.object_size = s.ring.segment.size();
  struct stat fs {};
  if (::fstat(s.ring.segment.fd(), &fs) == 0) st.mode = fs.st_mode & 0777;
  st.creation_time_ns = s.ring.header.creation_time_ns;
  const ProducerLine& p = prefix->producer;
  st.head = p.head.load(std::memory_order_acquire);
  st.published = p.published.load(std::memory_order_relaxed);
  st.published_bytes = p.published_bytes.load(std::memory_order_relaxed);
  st.last_publish_ns = p.last_publish_ns.load(std::memory_order_relaxed);
  st.producer_pid = p.pid.load(std::memory_order_relaxed);
  st.producer_alive = producer_lock_held(s.ring.segment.fd());
  st.takeovers = p.takeovers.load(std::memory_order_relaxed);
  st.source_position = p.source_position.load(std::memory_order_relaxed);
  st.source_head = prefix->relay.source_head.load(std::memory_order_relaxed);
  st.source_gaps = prefix->relay.source_gaps.load(std::memory_order_relaxed);
  st.source_missed = prefix->relay.source_missed.load(std::memory_order_relaxed);
  st.first_seq = prefix->sequence.first_seq.load(std::memory_order_relaxed);
  st.skipped = prefix->sequence.skipped.load(std::memory_order_relaxed);
  if (s.ring.geometry.snapshot_capacity != 0) {
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
  st.registry_error = s.registry_error;
  if (s.registry) {
    st.waiters = s.registry->wait_line()->waiters.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < kRegistryEntries; ++i) {
      std::optional<ReaderStatus> r = copy_entry(*s.registry, i);
      if (!r) continue;
      r->lag = st.head > r->position ? st.head - r->position : 0;
      st.live_readers += r->alive ? 1 : 0;
      st.readers.push_back(std::move(*r));
    }
  }
  if (s.have_previous) {
    const double seconds = std::chrono::duration<double>(taken - s.previous_at).count();
    if (seconds > 0) {
      st.rate = static_cast<double>(st.published - s.previous_published) / seconds;
      st.byte_rate = static_cast<double>(st.published_bytes - s.previous_bytes) / seconds;
      st.rate_known = true;
    }
  }
  s.have_previous = true;
  s.previous_published = st.published;
  s.previous_bytes = st.published_bytes;
  s.previous_at = taken;
  return st;
}

std::size_t RingObserver::reap_dead() {
  ObserverState& s = *state_;
  if (!s.writable_registry) {
    std::string why;
    s.writable_registry = open_registry(s.name, s.ring.header.ring_id, /*writable=*/true, why);
    if (!s.writable_registry) return 0;
  }
  return reap_dead_entries(*s.writable_registry);
}

RingStatus inspect(std::string_view name) { return RingObserver(name).sample(); }

std::size_t reap_dead_readers(std::string_view name) { return RingObserver(name).reap_dead(); }

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

}  // namespace shmcast
