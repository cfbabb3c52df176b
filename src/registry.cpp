#include "registry.hpp"

#include "clock_internal.hpp"
#include "liveness.hpp"
#include "names.hpp"
#include "test_hooks.hpp"

#include <shmcast/error.hpp>

#include <chrono>
#include <thread>
#include <unistd.h>

namespace shmcast::detail {

#ifdef SHMCAST_TEST_HOOKS
void (*g_mid_claim_hook)() = nullptr;
void (*g_owner_seen_hook)() = nullptr;
#endif

namespace {

// An entry's owner and the start time it is judged by, read in that order (see
// ReaderEntry::take). Start time 0: claimed but not yet stamped; process_alive then asks
// only whether the pid exists, so an owner killed inside its claim is reclaimed too.
// The owner is loaded again after the start time: an entry that changed hands between the
// two loads would pair the earlier owner with the next one's start time, and a take() by
// that pair, judged dead, would clear the next owner's start time (its pid exchange then
// fails, the start time stays 0, and the live owner is judged by its pid alone for good).
struct OwnerSeen {
  std::uint32_t pid = 0;
  std::uint64_t start_time = 0;
  bool settled = true;  // false: it kept changing hands while looked at; treated as alive, never taken
  [[nodiscard]] bool alive() const noexcept { return !settled || process_alive(static_cast<pid_t>(pid), start_time); }
};

OwnerSeen owner_of(const ReaderEntry* entry) noexcept {
  constexpr int kTries = 64;
  for (int i = 0; i < kTries; ++i) {
    OwnerSeen seen;
    seen.pid = entry->owner();
    SHMCAST_OWNER_SEEN_HOOK();
    seen.start_time = entry->start_time();
    if (entry->owner() == seen.pid) return seen;
  }
  // Changing hands all the time: left alone (a take() with a pair of two owners is the
  // very thing this guards against).
  return OwnerSeen{entry->owner(), 0, false};
}

}  // namespace

void check_max_readers(std::uint32_t max_readers, std::string_view ring) {
  if (max_readers < 1 || max_readers > kMaxReadersLimit)
    throw Error(Errc::invalid_argument, ring,
                "max_readers " + std::to_string(max_readers) + " is out of range: 1 to " + std::to_string(kMaxReadersLimit));
}

Registry create_registry(std::string_view ring, std::uint64_t ring_id, unsigned mode, std::uint32_t max_readers) {
  const std::string object_name = registry_object_name(ring);
  const std::uint64_t size = registry_size(max_readers);
  Registry registry;
  try {
    registry.segment = create_object(object_name, size, mode, ring);
  } catch (const Error& e) {
    if (e.code() != Errc::already_exists) throw;
    // A registry left by an earlier ring of this name: it is ours to replace.
    remove_object(ring, object_name);
    registry.segment = create_object(object_name, size, mode, ring);
  }
  registry.count = max_readers;
  RegistryHeader* h = registry.header();
  h->version = kRegistryVersion;
  h->entry_count = max_readers;
  h->entry_size = kRegistryEntrySize;
  h->ring_id = ring_id;
  h->publish_magic();
  return registry;
}

std::optional<Registry> open_registry(std::string_view ring, std::uint64_t ring_id, bool writable, std::string& why) {
  const std::string object_name = registry_object_name(ring);
  Registry registry;
  // The header first, for the entry count; then the whole table, whose size the object
  // must have (map_object refuses a truncated one).
  if (!map_object(registry.segment, object_name, kRegistryEntriesOffset, writable, why)) {
    why = "the reader registry: " + why;
    return std::nullopt;
  }
  const RegistryHeader* h = registry.header();
  if (h->load_magic() != kRegistryMagic) {
    why = object_path(object_name) + " is not a shmcast reader registry";
    return std::nullopt;
  }
  if (h->version != kRegistryVersion) {
    why = "the reader registry has format version " + std::to_string(h->version) + ", this build reads version " +
          std::to_string(kRegistryVersion) + " (recreate the ring with this version's `shmcast create --force`)";
    return std::nullopt;
  }
  const std::uint32_t count = h->entry_count;
  if (count < 1 || count > kMaxReadersLimit || h->entry_size != kRegistryEntrySize) {
    why = object_path(object_name) + " has a corrupt header (" + std::to_string(count) + " entries of " +
          std::to_string(h->entry_size) + " bytes)";
    return std::nullopt;
  }
  if (h->ring_id != ring_id) {
    why = "the reader registry belongs to an earlier ring of this name";
    return std::nullopt;
  }
  if (!map_object(registry.segment, object_name, registry_size(count), writable, why)) {
    why = "the reader registry: " + why;
    return std::nullopt;
  }
  registry.count = count;
  return registry;
}

ReaderEntry* claim_entry(const Registry& registry, std::string_view label, std::uint64_t position) noexcept {
  const auto me = static_cast<std::uint32_t>(::getpid());
  // First pass: a free entry. Second pass: an entry whose owner is dead.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint32_t i = 0; i < registry.count; ++i) {
      ReaderEntry* e = registry.entry(i);
      const OwnerSeen owner = owner_of(e);
      if (!owner.settled || (pass == 0 ? owner.pid != 0 : owner.pid == 0)) continue;
      if (pass == 1 && owner.alive()) continue;
      if (e->take(owner.pid, owner.start_time, me)) {
        SHMCAST_MID_CLAIM_HOOK();
        e->reset(label, position, realtime_ns(), process_start_time(::getpid()));
        return e;
      }
    }
  }
  return nullptr;
}

EntryCopy copy_entry(const Registry& registry, std::uint32_t index) noexcept {
  // A reader writes its counters at most once per event, in a few nanoseconds: tight
  // tries catch a still moment even at full speed. An odd version that stays odd is an
  // owner preempted (or killed) in the middle: yield to it, up to kPatience.
  constexpr int kTightTries = 64;
  constexpr std::chrono::milliseconds kPatience{10};
  const ReaderEntry* e = registry.entry(index);
  EntryCopy c = e->copy_fields();
  if (c.pid == 0) return c;
  for (int i = 0; i < kTightTries; ++i)
    if (e->try_copy_counters(c)) return c;
  const auto give_up = std::chrono::steady_clock::now() + kPatience;
  while (!e->try_copy_counters(c) && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  return c;
}

std::optional<EntryReport> report_entry(const Registry& registry, std::uint32_t index) noexcept {
  EntryReport r;
  r.fields = copy_entry(registry, index);
  if (r.fields.pid == 0) return std::nullopt;
  r.alive = process_alive(static_cast<pid_t>(r.fields.pid), r.fields.start_time);
  return r;
}

std::uint32_t reap_dead_entries(const Registry& registry, std::uint32_t* live) noexcept {
  std::uint32_t reaped = 0, alive = 0;
  for (std::uint32_t i = 0; i < registry.count; ++i) {
    ReaderEntry* e = registry.entry(i);
    const OwnerSeen owner = owner_of(e);
    if (owner.pid == 0) continue;
    if (owner.alive()) {
      ++alive;
      continue;
    }
    // Only the winner frees it; a reader reclaiming it concurrently wins or loses cleanly.
    // A dead owner's flags (waiting, catching up) stay until the next owner's reset():
    // nobody reads a free entry's, and the producer's wake depends only on `armed`.
    if (e->take(owner.pid, owner.start_time, 0)) ++reaped;
  }
  if (live != nullptr) *live = alive;
  return reaped;
}

}  // namespace shmcast::detail
