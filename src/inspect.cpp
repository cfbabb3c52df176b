// The operators' observer: one mapping of a ring and its registry, sampled on demand.
// It reads every region through its accessors (layout.hpp, registry_layout.hpp) and
// computes the derived figures (lag, live readers, rates) in one place.
#include <shmcast/inspect.hpp>

#include "liveness.hpp"
#include "mapping.hpp"
#include "registry.hpp"
#include "ring_view.hpp"
#include "record_chain.hpp"
#include "snapshot_area.hpp"

#include <chrono>
#include <cstring>
#include <sys/stat.h>
#include <vector>

namespace shmcast {

namespace detail {

struct ObserverState {
  std::string name;
  OpenedRing ring;
  RingView view;
  std::optional<Registry> registry;           // read-only, for sampling
  std::optional<Registry> writable_registry;  // opened by the first reap_dead()
  std::string registry_error;
  ObjectIdentity identity;
  bool have_previous = false;
  std::uint64_t previous_head = 0;
  // Each reader's position at the previous sample, keyed by entry and identity (a new
  // reader in the same entry is another reader).
  struct Seen {
    std::uint32_t pid = 0;
    std::uint64_t attached_ns = 0;
    std::uint64_t position = 0;
  };
  std::vector<Seen> seen;  // one per registry entry
  std::uint64_t previous_published = 0;
  std::uint64_t previous_bytes = 0;
  std::chrono::steady_clock::time_point previous_at{};
};

namespace {

ReaderStatus reader_status(std::uint32_t index, const EntryReport& report, std::uint64_t head) {
  const EntryCopy& e = report.fields;
  ReaderStatus r;
  r.id = index;
  r.pid = e.pid;
  r.alive = report.alive;
  r.waiting = e.waiting && report.alive;  // a dead reader waits for nothing
  r.catching_up = e.catching_up && report.alive;
  r.label = std::string(e.label, ::strnlen(e.label, sizeof e.label));
  r.start = e.start;
  r.position = e.position;
  r.lag = head > e.position ? head - e.position : 0;
  r.delivered = e.delivered;
  r.gaps = e.gaps;
  r.missed = e.missed;
  r.snapshots = e.snapshots;
  r.last_active_ns = e.last_active_ns;
  r.attached_ns = e.attached_ns;
  r.external_position = e.external_position;
  r.counters_settled = e.consistent;
  return r;
}

// The one rule for a reader's state. The ring holds sequences oldest .. head - 1;
// `previous` is the same reader at the observer's previous sample, if it was seen there.
ReaderState state_of(const ReaderStatus& r, std::uint64_t oldest, std::uint64_t held,
                     const ObserverState::Seen* previous, bool head_moved) noexcept {
  if (!r.alive) return ReaderState::dead;
  if (r.catching_up) return ReaderState::catching_up;
  if (r.position < oldest) return ReaderState::lapped;
  if (r.waiting && r.lag == 0) return ReaderState::waiting;
  if (previous != nullptr && head_moved && previous->position == r.position && r.lag != 0) return ReaderState::stalled;
  if (held != 0 && r.lag >= (held + 1) / 2) return ReaderState::behind;
  return ReaderState::keeping_up;
}

}  // namespace
}  // namespace detail

using namespace detail;

const char* to_string(ReaderState state) noexcept {
  switch (state) {
    case ReaderState::keeping_up: return "ok";
    case ReaderState::behind: return "behind";
    case ReaderState::lapped: return "lapped";
    case ReaderState::stalled: return "stalled";
    case ReaderState::waiting: return "waiting";
    case ReaderState::catching_up: return "catch-up";
    case ReaderState::dead: return "dead";
  }
  return "unknown";
}

RingObserver::RingObserver(std::string_view name) : state_(std::make_unique<ObserverState>()) {
  ObserverState& s = *state_;
  s.name = std::string(name);
  s.ring = open_ring(name, /*writable=*/false, std::chrono::milliseconds(200));
  s.view = RingView(s.ring.segment.base(), s.ring.geometry);
  s.identity = identity_of(s.ring.segment);
  s.registry = open_registry(name, s.ring.header.ring_id, /*writable=*/false, s.registry_error);
  if (s.registry) s.seen.resize(s.registry->count);
}

RingObserver::RingObserver(RingObserver&&) noexcept = default;
RingObserver& RingObserver::operator=(RingObserver&&) noexcept = default;
RingObserver::~RingObserver() = default;

const std::string& RingObserver::name() const noexcept { return state_->name; }

bool RingObserver::replaced() const noexcept { return ring_replaced(state_->name, state_->identity); }

RingStatus RingObserver::sample() {
  ObserverState& s = *state_;
  const auto taken = std::chrono::steady_clock::now();
  const RingView& view = s.view;
  RingStatus st;
  st.name = s.name;
  st.geometry = s.ring.geometry;
  st.ring_id = s.ring.header.ring_id;
  st.object_size = s.ring.segment.size();
  struct stat fs {};
  if (::fstat(s.ring.segment.fd(), &fs) == 0) st.mode = fs.st_mode & 0777;
  st.creation_time_ns = s.ring.header.creation_time_ns;
  const ProducerLine& p = view.producer();
  const ReserveLine& reserve = view.reserve();
  st.head = p.head();
  st.published = p.published();
  st.published_bytes = p.published_bytes();
  st.last_publish_ns = p.last_publish_ns();
  st.producer_pid = reserve.pid();
  st.producer_alive = producer_lock_held(s.ring.segment.fd());
  st.takeovers = reserve.takeovers();
  st.source_position = view.relay().source_position();
  // What the ring holds: from the oldest record still whole to the tail.
  if (const std::optional<ChainPoint> oldest = first_point_from(view, view.sequence().first_seq(), 0)) {
    st.oldest = std::min(oldest->seq, st.head);
    const std::uint64_t tail = p.tail();
    st.held_bytes = tail > oldest->position ? std::min(tail - oldest->position, view.ring_bytes()) : 0;
  } else {
    st.oldest = st.head;
  }
  st.held = st.head - st.oldest;
  const SourceStatus source = view.relay().get();
  st.source_head = source.head;
  st.source_gaps = source.gaps;
  st.source_missed = source.missed;
  st.relay = st.source_position != 0 || source.head != 0 || source.gaps != 0 || source.missed != 0;
  st.first_seq = view.sequence().first_seq();
  st.skipped = view.sequence().skipped();
  if (view.has_snapshot_area()) {
    const SnapshotInfo snap = peek_snapshot(view);
    st.snapshots_published = snap.published;
    st.snapshot_as_of = snap.as_of;
    st.snapshot_length = snap.length;
    st.snapshot_published_ns = snap.published_ns;
  }
  st.registry_error = s.registry_error;
  if (s.registry) {
    // Waiters are counted from the live entries: a reader killed while blocked keeps its
    // waiting flag until its entry's next owner resets it.
    const bool head_moved = s.have_previous && st.head != s.previous_head;
    st.max_readers = s.registry->count;
    for (std::uint32_t i = 0; i < s.registry->count; ++i) {
      ObserverState::Seen& seen = s.seen[i];
      const std::optional<EntryReport> report = report_entry(*s.registry, i);
      if (!report) {
        seen = {};
        continue;
      }
      ReaderStatus r = reader_status(i, *report, st.head);
      const bool same_reader = s.have_previous && seen.pid == r.pid && seen.attached_ns == r.attached_ns;
      r.state = state_of(r, st.oldest, st.held, same_reader ? &seen : nullptr, head_moved);
      seen = {r.pid, r.attached_ns, r.position};
      st.live_readers += r.alive ? 1u : 0u;
      st.waiters += r.waiting ? 1u : 0u;
      st.readers.push_back(std::move(r));
    }
  }
  if (s.have_previous) {
    const double seconds = std::chrono::duration<double>(taken - s.previous_at).count();
    if (seconds > 0 && st.published >= s.previous_published) {
      st.rate = static_cast<double>(st.published - s.previous_published) / seconds;
      st.byte_rate = static_cast<double>(st.published_bytes - s.previous_bytes) / seconds;
      st.rate_known = true;
    }
  }
  s.have_previous = true;
  s.previous_head = st.head;
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

}  // namespace shmcast
