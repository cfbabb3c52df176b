#include "registry.hpp"

#include <boost/interprocess/exceptions.hpp>

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace bip = boost::interprocess;

namespace shmcast::detail {

namespace {

void write_label(ReaderEntry* entry, std::string_view label) noexcept {
  char buf[kRegistryLabelSize] = {};
  std::memcpy(buf, label.data(), std::min(label.size(), kRegistryLabelSize - 1));
  for (std::size_t i = 0; i < kRegistryLabelSize / 8; ++i) {
    std::uint64_t w;
    std::memcpy(&w, buf + 8 * i, 8);
    entry->label_words[i].store(w, std::memory_order_relaxed);
  }
}

void reset_entry(ReaderEntry* entry, std::string_view label, std::uint64_t position) noexcept {
  entry->flags.store(0, std::memory_order_relaxed);
  entry->position.store(position, std::memory_order_relaxed);
  entry->delivered.store(0, std::memory_order_relaxed);
  entry->gaps.store(0, std::memory_order_relaxed);
  entry->missed.store(0, std::memory_order_relaxed);
  entry->snapshots.store(0, std::memory_order_relaxed);
  entry->external_position.store(0, std::memory_order_relaxed);
  const std::uint64_t now = realtime_ns();
  entry->last_active_ns.store(now, std::memory_order_relaxed);
  entry->attached_ns.store(now, std::memory_order_relaxed);
  write_label(entry, label);
  // Release: an observer that sees the start time sees the reset fields too.
  entry->start_time.store(process_start_time(::getpid()), std::memory_order_release);
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
    bip::shared_memory_object::remove(object_name.c_str());
    registry.segment = create_object(object_name, kRegistrySize, mode, ring);
  }
  RegistryHeader* h = registry.header();
  h->version = kLayoutVersion;
  h->entry_count = kRegistryEntries;
  h->entry_size = kRegistryEntrySize;
  h->ring_id = ring_id;
  std::atomic_ref<std::uint64_t>(h->magic).store(kRegistryMagic, std::memory_order_release);
  return registry;
}

std::optional<Registry> open_registry(std::string_view ring, std::uint64_t ring_id, bool writable, std::string& why) {
  const std::string object_name = registry_object_name(ring);
  const bip::mode_t mode = writable ? bip::read_write : bip::read_only;
  Registry registry;
  try {
    registry.segment.object = bip::shared_memory_object(bip::open_only, object_name.c_str(), mode);
    bip::offset_t size = 0;
    if (!registry.segment.object.get_size(size) || static_cast<std::uint64_t>(size) < kRegistrySize) {
      why = "the reader registry /dev/shm/" + object_name + " is truncated";
      return std::nullopt;
    }
    registry.segment.region = bip::mapped_region(registry.segment.object, mode, 0, kRegistrySize);
  } catch (const bip::interprocess_exception& e) {
    const int err = e.get_native_error();
    why = "cannot open the reader registry /dev/shm/" + object_name + ": " +
          (err != 0 ? std::strerror(err) : e.what());
    return std::nullopt;
  }
  const RegistryHeader* h = registry.header();
  if (load_acquire(h->magic) != kRegistryMagic || h->version != kLayoutVersion ||
      h->entry_count != kRegistryEntries || h->entry_size != kRegistryEntrySize) {
    why = "/dev/shm/" + object_name + " is not a shmcast reader registry";
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
      std::uint32_t owner = e->pid.load(std::memory_order_acquire);
      if (pass == 0 ? owner != 0 : owner == 0) continue;
      if (pass == 1) {
        const std::uint64_t started = e->start_time.load(std::memory_order_acquire);
        // started == 0: claimed but not yet stamped; process_alive then asks only whether
        // the pid exists, so an owner killed inside its claim is reclaimed too.
        if (process_alive(static_cast<pid_t>(owner), started)) continue;
      }
      // start_time 0 marks "being claimed" until reset_entry() publishes it.
      if (e->pid.compare_exchange_strong(owner, me, std::memory_order_acq_rel)) {
        e->start_time.store(0, std::memory_order_relaxed);
        // The dead owner may have died inside a futex wait: take it out of the wait line
        // as reap_dead_entries() does, or the producer calls FUTEX_WAKE for it forever.
        if (pass == 1 && (e->flags.exchange(0, std::memory_order_relaxed) & kReaderWaiting) != 0)
          registry.wait_line()->waiters.fetch_sub(1, std::memory_order_relaxed);
        reset_entry(e, label, position);
        return e;
      }
    }
  }
  return nullptr;
}

void release_entry(ReaderEntry* entry) noexcept {
  entry->flags.store(0, std::memory_order_relaxed);
  entry->start_time.store(0, std::memory_order_relaxed);
  entry->pid.store(0, std::memory_order_release);
}

std::optional<ReaderStatus> copy_entry(const Registry& registry, std::uint32_t index) {
  const ReaderEntry* e = registry.entry(index);
  ReaderStatus c;
  c.pid = e->pid.load(std::memory_order_acquire);
  if (c.pid == 0) return std::nullopt;
  c.id = index;
  const std::uint64_t start_time = e->start_time.load(std::memory_order_acquire);
  c.waiting = (e->flags.load(std::memory_order_relaxed) & kReaderWaiting) != 0;
  c.position = e->position.load(std::memory_order_relaxed);
  c.delivered = e->delivered.load(std::memory_order_relaxed);
  c.gaps = e->gaps.load(std::memory_order_relaxed);
  c.missed = e->missed.load(std::memory_order_relaxed);
  c.snapshots = e->snapshots.load(std::memory_order_relaxed);
  c.last_active_ns = e->last_active_ns.load(std::memory_order_relaxed);
  c.attached_ns = e->attached_ns.load(std::memory_order_relaxed);
  c.external_position = e->external_position.load(std::memory_order_relaxed);
  char buf[kRegistryLabelSize + 1] = {};
  for (std::size_t i = 0; i < kRegistryLabelSize / 8; ++i) {
    const std::uint64_t w = e->label_words[i].load(std::memory_order_relaxed);
    std::memcpy(buf + 8 * i, &w, 8);
  }
  c.label = std::string(buf, ::strnlen(buf, kRegistryLabelSize));
  c.alive = process_alive(static_cast<pid_t>(c.pid), start_time);
  return c;
}

std::uint32_t reap_dead_entries(const Registry& registry, std::uint32_t* live) noexcept {
  std::uint32_t reaped = 0, alive = 0;
  for (std::uint32_t i = 0; i < kRegistryEntries; ++i) {
    ReaderEntry* e = registry.entry(i);
    std::uint32_t owner = e->pid.load(std::memory_order_acquire);
    if (owner == 0) continue;
    const std::uint64_t started = e->start_time.load(std::memory_order_acquire);
    if (process_alive(static_cast<pid_t>(owner), started)) {
      ++alive;
      continue;
    }
    // Only the CAS winner frees it; a reader reclaiming it concurrently wins or loses cleanly.
    if (e->pid.compare_exchange_strong(owner, 0, std::memory_order_acq_rel)) {
      if ((e->flags.exchange(0, std::memory_order_relaxed) & kReaderWaiting) != 0)
        registry.wait_line()->waiters.fetch_sub(1, std::memory_order_relaxed);
      ++reaped;
    }
  }
  if (live != nullptr) *live = alive;
  return reaped;
}

}  // namespace shmcast::detail
