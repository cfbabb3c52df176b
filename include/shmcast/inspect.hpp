// Inspection of rings for operators and tools: everything `shmcast stat`, `list` and
// `metrics` show comes from shared memory, without asking the producer.
//
// A RingObserver maps a ring (read-only) and its reader registry once, then samples them
// as often as asked; the figures derived from two samples (rates) and from the ring and
// registry together (lag, live readers) are computed here, in one place. Figures are read
// relaxed while the ring runs: each is exact, together they are a moment's approximation.
#pragma once

#include <shmcast/types.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace shmcast {

// What an operator needs to know of a reader, in one word, decided by the observer.
enum class ReaderState {
  keeping_up,  // less than half of what the ring holds behind
  behind,      // half of what the ring holds or more behind: at risk of being lapped
  lapped,      // behind the oldest sequence held: its next read reports a gap
  stalled,     // not moving since the observer's previous sample while messages arrived
  waiting,     // blocked waiting for the next message (nothing to read)
  dead,        // its process is gone; the entry is reclaimed by the next reap
  catching_up, // reading from its archive what the ring no longer holds (ReaderOptions::archive); lag says how far to go
};
[[nodiscard]] const char* to_string(ReaderState state) noexcept;

struct ReaderStatus {
  std::uint32_t id = 0;  // registry slot
  std::uint32_t pid = 0;
  bool alive = false;
  bool waiting = false;  // blocked in a futex wait (never for a dead reader)
  bool catching_up = false;  // reading from an archive what the ring no longer holds
  std::string label;
  // The counters are one moment's: delivered + missed == position - start (unless the
  // reader sought), even while it runs; unless counters_settled is false.
  std::uint64_t start = 0;  // where the reader's span begins (Reader::start())
  std::uint64_t position = 0;
  std::uint64_t lag = 0;  // head - position
  std::uint64_t delivered = 0;
  std::uint64_t gaps = 0;
  std::uint64_t missed = 0;
  std::uint64_t snapshots = 0;
  std::uint64_t last_active_ns = 0;
  std::uint64_t attached_ns = 0;
  std::uint64_t external_position = 0;  // a relay's far-side position (bridge out: stream sequence acked)
  // False if the owner was writing its counters all the time the observer waited for them
  // (10 ms), or died doing so: they may then mix two moments.
  bool counters_settled = true;
  ReaderState state = ReaderState::keeping_up;
};

struct RingStatus {
  std::string name;
  Geometry geometry;
  std::uint64_t ring_id = 0;
  std::uint64_t object_size = 0;
  unsigned mode = 0;
  std::uint64_t creation_time_ns = 0;
  std::uint64_t head = 0;
  std::uint64_t oldest = 0;      // the oldest sequence the ring still holds (head if none)
  std::uint64_t held = 0;        // sequences held: head - oldest (a run skipped by a jump counts whole)
  std::uint64_t held_bytes = 0;  // bytes of the ring those records take, padding included
  std::uint64_t published = 0;
  std::uint64_t published_bytes = 0;
  std::uint64_t last_publish_ns = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t skipped = 0;  // sequences skipped by jumps (publish_at, skip_to)
  std::uint32_t producer_pid = 0;
  bool producer_alive = false;
  std::uint32_t takeovers = 0;  // producers that continued the ring after a predecessor died
  std::uint64_t source_position = 0;   // a relaying producer's last applied source sequence
  std::uint64_t source_head = 0;       // ... the source's newest known sequence
  std::uint64_t source_gaps = 0;       // ... gaps it met in the source
  std::uint64_t source_missed = 0;     // ... sequences those covered
  std::uint32_t waiters = 0;  // live registered readers inside a futex wait
  std::uint64_t snapshots_published = 0;
  std::uint64_t snapshot_as_of = 0;
  std::uint64_t snapshot_length = 0;
  std::uint64_t snapshot_published_ns = 0;
  std::vector<ReaderStatus> readers;
  std::uint32_t max_readers = 0;  // the registry's capacity (CreateOptions::max_readers); 0 if unknown
  std::string registry_error;  // why readers could not be listed, if so

  // Derived figures, computed by the observer.
  bool relay = false;               // a relaying producer (bridge in) writes it: the source_* figures mean something
  std::uint32_t live_readers = 0;   // entries whose process is alive
  bool rate_known = false;          // false on an observer's first sample
  double rate = 0;                  // messages/s since the observer's previous sample
  double byte_rate = 0;             // payload bytes/s since then
};

namespace detail {
struct ObserverState;
}

class RingObserver {
 public:
  // Maps ring `name` read-only. Throws shmcast::Error as Reader's constructor does
  // (not_found, not_ready, abandoned, foreign, version_mismatch, truncated, corrupt,
  // permission_denied, invalid_argument for a bad name, system).
  explicit RingObserver(std::string_view name);
  RingObserver(RingObserver&&) noexcept;
  RingObserver& operator=(RingObserver&&) noexcept;
  RingObserver(const RingObserver&) = delete;
  RingObserver& operator=(const RingObserver&) = delete;
  ~RingObserver();

  // Every figure, now. The rates compare with this observer's previous sample.
  [[nodiscard]] RingStatus sample();
  // Frees the registry entries of readers whose process is gone; returns how many. The
  // one write an observer makes (to the registry, never the ring); 0 if the registry
  // cannot be opened for writing.
  std::size_t reap_dead();
  // The name no longer refers to the object this observer mapped (removed or recreated).
  [[nodiscard]] bool replaced() const noexcept;
  [[nodiscard]] const std::string& name() const noexcept;

 private:
  std::unique_ptr<detail::ObserverState> state_;
};

// One sample of a ring: RingObserver(name).sample().
[[nodiscard]] RingStatus inspect(std::string_view name);

// Names of every ring on this machine (objects /dev/shm/shmcast.*), sorted.
[[nodiscard]] std::vector<std::string> list_rings();

// RingObserver(name).reap_dead().
std::size_t reap_dead_readers(std::string_view name);

}  // namespace shmcast
