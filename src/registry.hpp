// The reader registry `/shmcast.NAME.readers`: a table of reader entries, sized at creation, that
// readers claim with a compare-and-swap and keep up to date, plus the wait line the
// producer polls to learn whether anyone sleeps. Readers map it read-write, which is
// why it is apart from the ring they map read-only. The bytes and their memory orders
// are in registry_layout.hpp; this file holds the operations over the whole table.
#pragma once

#include "mapping.hpp"
#include "registry_layout.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shmcast::detail {

struct Registry {
  Segment segment;
  // The entry count, validated when the registry was opened and never read from shared
  // memory again, so that no later write to the header can send a loop past the mapping.
  std::uint32_t count = 0;

  [[nodiscard]] RegistryHeader* header() const noexcept { return reinterpret_cast<RegistryHeader*>(segment.base()); }
  [[nodiscard]] WaitLine* wait_line() const noexcept {
    return reinterpret_cast<WaitLine*>(segment.base() + kWaitLineOffset);
  }
  [[nodiscard]] ReaderEntry* entry(std::uint32_t i) const noexcept {
    return reinterpret_cast<ReaderEntry*>(segment.base() + kRegistryEntriesOffset + i * kRegistryEntrySize);
  }
};

// Creates the registry for ring `ring_id` with room for `max_readers` entries, replacing a
// stale one left by an earlier ring. The caller has checked max_readers (check_max_readers).
Registry create_registry(std::string_view ring, std::uint64_t ring_id, unsigned mode, std::uint32_t max_readers);
// The one capacity rule: Errc::invalid_argument unless 1 <= max_readers <= kMaxReadersLimit.
void check_max_readers(std::uint32_t max_readers, std::string_view ring);
// Opens the registry of ring `ring_id`; nullopt with the reason if it is missing,
// inaccessible, foreign or belongs to another ring.
std::optional<Registry> open_registry(std::string_view ring, std::uint64_t ring_id, bool writable, std::string& why);

// Claims a free entry, or one whose owner died. nullptr if all are held by live readers.
ReaderEntry* claim_entry(const Registry& registry, std::string_view label, std::uint64_t position) noexcept;

// A copy of entry `index` (pid 0: free) whose counters are one moment's: retried while
// the owner is writing them, up to a few milliseconds (an owner preempted in the middle);
// after that, or if the owner died in the middle, the last read, with consistent = false.
EntryCopy copy_entry(const Registry& registry, std::uint32_t index) noexcept;

// A copy of claimed entry `index` with its owner's liveness; nullopt if the entry is free.
struct EntryReport {
  EntryCopy fields;
  bool alive = false;
};
std::optional<EntryReport> report_entry(const Registry& registry, std::uint32_t index) noexcept;

// Frees the entries of dead readers; returns how many. Live-entry count in *live.
std::uint32_t reap_dead_entries(const Registry& registry, std::uint32_t* live = nullptr) noexcept;

}  // namespace shmcast::detail
