// How a Producer comes to hold a ring: creating one, taking one over, either of the two
// ("open or create", the only copy of that policy), and removing a ring by name.
//
// Creation happens in a fixed order: create the object exclusively, take the producer
// lock, size it and commit its pages, write every header field, create the registry, and
// store the magic last with release. A reader that attaches before the magic sees "not
// ready" and retries. A live ring is never re-initialised in place.
#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>
#include <shmcast/producer.hpp>

#include "clock_internal.hpp"
#include "geometry.hpp"
#include "liveness.hpp"
#include "mapping.hpp"
#include "names.hpp"
#include "producer_state.hpp"
#include "registry.hpp"
#include "takeover.hpp"
#include "test_hooks.hpp"

#include <cerrno>
#include <cstddef>

#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace shmcast {

#ifdef SHMCAST_TEST_HOOKS
namespace detail {
void (*g_abandoned_hook)() = nullptr;
}  // namespace detail
#endif

using namespace detail;

namespace {

// A random ring id; never 0, which means "no ring".
std::uint64_t new_ring_id() noexcept {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, 0) != sizeof v) v = realtime_ns() ^ (static_cast<std::uint64_t>(::getpid()) << 40);
  return v | 1;
}

// Removes the ring object `name` names if it is still unfinished and nobody holds its
// lock. It holds that lock itself while it checks and removes, so that of several
// processes that found the ring abandoned one removes it, and none removes a ring another
// has created under the name since (which a removal by name alone would). The registry
// goes first: a new ring's registry is made only after a new ring object, and none can be
// made while this one holds the name.
void remove_if_abandoned(std::string_view name) {
  const std::string object_name = ring_object_name(name);
  Segment held;
  if (!open_object(held, object_name, /*writable=*/true)) return;  // gone already: create
  if (!try_lock_producer(held.fd())) return;                       // a creator, or a new producer, holds it
  std::uint64_t magic = 0;
  const ssize_t got = ::pread(held.fd(), &magic, sizeof magic, offsetof(RingHeader, magic));
  if (got == static_cast<ssize_t>(sizeof magic) && magic != 0) return;  // finished since: open it
  if (ring_replaced(name, identity_of(held))) return;
  remove_object(name, registry_object_name(name));
  remove_object(name, object_name);
}

std::string describe(const Geometry& g) {
  return std::to_string(g.ring_bytes) + " ring bytes, messages up to " + std::to_string(g.message_limit()) +
         " bytes (snapshot " + std::to_string(g.snapshot_capacity) + ")";
}

}  // namespace

Producer Producer::create(std::string_view name, const Geometry& geometry, const CreateOptions& options) {
  validate_name(name);
  check_geometry(geometry, name);
  check_max_readers(options.max_readers, name);
  if (options.replace) remove_unless_live(name);
  auto s = std::make_unique<ProducerState>();
  s->name = std::string(name);
  s->geometry = geometry.resolved();
  s->ring_id = new_ring_id();
  const std::string object_name = ring_object_name(name);
  s->ring = create_object(object_name, ring_size(s->geometry), options.mode, name, /*lock_as_producer=*/true);
  populate(s->ring, /*writable=*/true);
  try {
    s->view = RingView(s->ring.base(), s->geometry);
    RingHeader& header = s->view.prefix().header;
    init_header(header, s->geometry, s->ring_id, realtime_ns());
    s->full_fence = claim_producer_identity(s->view.reserve());
    s->registry = create_registry(name, s->ring_id, options.registry_mode.value_or(default_registry_mode(options.mode)),
                                  options.max_readers);
    header.publish_magic();  // a reader that sees it sees every field above, and the registry
  } catch (...) {
    discard_object(object_name);
    throw;
  }
  return Producer(std::move(s));
}

Producer Producer::open(std::string_view name) { return take_over(name, nullptr); }

// With `expected`, a ring of another geometry is refused after the producer lock is taken
// (so that it is the very ring that would be taken over) and before anything in it
// changes: its position's recovery, the producer's identity and the takeover count.
Producer Producer::take_over(std::string_view name, const Geometry* expected) {
  OpenedRing opened = open_ring(name, /*writable=*/true, std::chrono::milliseconds(2000));
  auto s = std::make_unique<ProducerState>();
  s->name = std::string(name);
  s->geometry = opened.geometry;
  s->ring_id = opened.header.ring_id;
  s->ring = std::move(opened.segment);
  s->view = RingView(s->ring.base(), s->geometry);
  if (!try_lock_producer(s->ring.fd()))
    throw Error(Errc::producer_active, name,
                "already has a live producer (pid " + std::to_string(s->view.reserve().pid()) + ")");
  if (expected != nullptr && s->geometry != *expected)
    throw Error(Errc::geometry_mismatch, name,
                "exists with " + describe(s->geometry) + ", not the " + describe(*expected) + " asked for");
  populate(s->ring, /*writable=*/true);
  recover_position(s->view);
  std::string why;
  s->registry = open_registry(name, s->ring_id, /*writable=*/true, why);
  if (!s->registry) {
    struct stat st {};
    const unsigned mode = ::fstat(s->ring.fd(), &st) == 0 ? (st.st_mode & 0777) : 0600;
    s->registry = create_registry(name, s->ring_id, default_registry_mode(mode), kDefaultMaxReaders);
  }
  // A restart after a producer that closed the ring is routine; one after a producer that
  // died is a takeover (recover_position above found what it left).
  const bool predecessor_died = !s->view.reserve().closed();
  s->full_fence = claim_producer_identity(s->view.reserve());
  if (predecessor_died) s->view.reserve().count_takeover();
  return Producer(std::move(s));
}

Producer Producer::open_or_create(std::string_view name, const Geometry& geometry, const CreateOptions& options,
                                  ExistingRing existing) {
  for (int attempt = 0;; ++attempt) {
    try {
      return take_over(name, existing == ExistingRing::must_match ? &geometry : nullptr);
    } catch (const Error& e) {
      if (e.code() == Errc::abandoned) {
        if (attempt > 3) throw;  // it stays abandoned: something keeps it from being removed
        SHMCAST_ABANDONED_HOOK();
        remove_if_abandoned(name);
      } else if (e.code() != Errc::not_found) {
        throw;
      }
    }
    try {
      return create(name, geometry, options);
    } catch (const Error& e) {
      if (e.code() != Errc::already_exists || attempt > 3) throw;  // lost a race to another creator
    }
  }
}

// The test is the lock itself, never a pid that may have been reused. Where this process
// may write the object it holds the lock until the ring is gone, so that no producer can
// start on it in between, and the name must still name the object it tested (another
// process may have replaced it since it was opened: then the new one is tested). With no
// ring under the name, only a registry left without one is removed, never a ring made
// meanwhile.
bool Producer::remove_unless_live(std::string_view name) {
  validate_name(name);
  const std::string object_name = ring_object_name(name);
  for (int attempt = 0; attempt < 8; ++attempt) {
    Segment held;
    const bool writable = open_object(held, object_name, /*writable=*/true);
    if (!writable && !open_object(held, object_name, /*writable=*/false)) {
      if (::access(object_path(object_name).c_str(), F_OK) != 0 && errno == ENOENT)
        return remove_object(name, registry_object_name(name));
      return remove(name);  // there but not ours to open: remove() says why it cannot go
    }
    const bool locked = writable && try_lock_producer(held.fd());
    if (!locked && producer_lock_held(held.fd())) {
      std::string pid;
      try {
        pid = " (pid " + std::to_string(RingObserver(name).sample().producer_pid) + ")";
      } catch (const Error&) {  // being created, or unreadable: the lock has said enough
      }
      throw Error(Errc::producer_active, name,
                  "its producer" + pid + " is alive and would go on writing into the removed ring, unseen by readers");
    }
    if (!ring_replaced(name, identity_of(held))) return remove(name);
  }
  throw Error(Errc::system, name, "kept being replaced by other processes while it was being removed");
}

bool Producer::remove(std::string_view name) {
  validate_name(name);
  const bool ring = remove_object(name, ring_object_name(name));
  const bool registry = remove_object(name, registry_object_name(name));
  return ring || registry;
}

}  // namespace shmcast
