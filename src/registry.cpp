#include "registry.hpp"

#include "clock_internal.hpp"
#include "liveness.hpp"
#include "names.hpp"

#include <shmcast/error.hpp>

#include <unistd.h>

namespace shmcast::detail {

namespace {

// An entry whose owner is gone may be freed by whoever wins it. The dead owner may have
// died inside a futex wait: it leaves the wait line too, or the producer would call
// FUTEX_WAKE for it forever.
void forget_dead_owner(const Registry& registry, ReaderEntry* entry) noexcept {
  if (entry->take_waiting()) registry.wait_line()->remove_waiter();
}

bool owner_alive(const ReaderEntry* entry, std::uint32_t owner) noexcept {
  // start time 0: claimed but not yet stamped; process_alive then asks only whether the
  // pid exists, so an owner killed inside its claim is reclaimed too.
  return process_alive(static_cast<pid_t>(owner), entry->start_time());
}

}  // namespace

Registry create_registry(std::string_view ring, std::uint64_t ring_id, unsigned mode) {
  const std::string object_name = registry_object_name(ring);
  Registry registry;
  try {
    registry.segment = create_object(object_name, kRegistrySize, mode, ring);
  } catch (const Error& e) {
    if (e.code() != Errc::already_exists) throw;
    // A registry left by an earlier ring of this name: it is ours to replace.
    remove_object(ring, object_name);
    registry.segment = create_object(object_name, kRegistrySize, mode, ring);
  }
  RegistryHeader* h = registry.header();
  h->version = kLayoutVersion;
  h->entry_count = kRegistryEntries;
  h->entry_size = kRegistryEntrySize;
  h->ring_id = ring_id;
  h->publish_magic();
  return registry;
}

std::optional<Registry> open_registry(std::string_view ring, std::uint64_t ring_id, bool writable, std::string& why) {
  const std::string object_name = registry_object_name(ring);
  Registry registry;
  if (!map_object(registry.segment, object_name, kRegistrySize, writable, why)) {
    why = "the reader registry: " + why;
    return std::nullopt;
  }
  const RegistryHeader* h = registry.header();
  if (h->load_magic() != kRegistryMagic || h->version != kLayoutVersion || h->entry_count != kRegistryEntries ||
      h->entry_size != kRegistryEntrySize) {
    why = object_path(object_name) + " is not a shmcast reader registry";
    return std::nullopt;
  }
  if (h->ring_id != ring_id) {
    why = "the reader registry belongs to an earlier ring of this name";
    return std::nullopt;
  }
  return registry;
}

ReaderEntry* claim_entry(const Registry& registry, std::string_view label, std::uint64_t position) noexcept {
  const auto me = static_cast<std::uint32_t>(::getpid());
  // First pass: a free entry. Second pass: an entry whose owner is dead.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint32_t i = 0; i < kRegistryEntries; ++i) {
      ReaderEntry* e = registry.entry(i);
      const std::uint32_t owner = e->owner();
      if (pass == 0 ? owner != 0 : owner == 0) continue;
      if (pass == 1 && owner_alive(e, owner)) continue;
      if (e->try_take(owner, me)) {
        e->mark_claiming();
        if (pass == 1) forget_dead_owner(registry, e);
        e->reset(label, position, realtime_ns(), process_start_time(::getpid()));
        return e;
      }
    }
  }
  return nullptr;
}

std::optional<EntryReport> report_entry(const Registry& registry, std::uint32_t index) noexcept {
  EntryReport r;
  r.fields = registry.entry(index)->copy();
  if (r.fields.pid == 0) return std::nullopt;
  r.alive = process_alive(static_cast<pid_t>(r.fields.pid), r.fields.start_time);
  return r;
}

std::uint32_t reap_dead_entries(const Registry& registry, std::uint32_t* live) noexcept {
  std::uint32_t reaped = 0, alive = 0;
  for (std::uint32_t i = 0; i < kRegistryEntries; ++i) {
    ReaderEntry* e = registry.entry(i);
    const std::uint32_t owner = e->owner();
    if (owner == 0) continue;
    if (owner_alive(e, owner)) {
      ++alive;
      continue;
    }
    // Only the winner frees it; a reader reclaiming it concurrently wins or loses cleanly.
    if (e->try_take(owner, 0)) {
      forget_dead_owner(registry, e);
      ++reaped;
    }
  }
  if (live != nullptr) *live = alive;
  return reaped;
}

}  // namespace shmcast::detail
