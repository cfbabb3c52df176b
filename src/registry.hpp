// The reader registry `/shmcast.NAME.readers`: a fixed table of reader entries that
// readers claim with a compare-and-swap and keep up to date, plus the wait line the
// producer polls to learn whether anyone sleeps. Readers map it read-write, which is
// why it is apart from the ring they map read-only.
#pragma once

#include "layout.hpp"
#include "segment.hpp"

#include <shmcast/inspect.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shmcast::detail {

struct Registry {
  Segment segment;

  [[nodiscard]] RegistryHeader* header() const noexcept { return reinterpret_cast<RegistryHeader*>(segment.base()); }
  [[nodiscard]] WaitLine* wait_line() const noexcept {
    return reinterpret_cast<WaitLine*>(segment.base() + kWaitLineOffset);
  }
  [[nodiscard]] ReaderEntry* entry(std::uint32_t i) const noexcept {
    return reinterpret_cast<ReaderEntry*>(segment.base() + kRegistryEntriesOffset + i * kRegistryEntrySize);
  }
};

// Creates the registry for ring `ring_id`, replacing a stale one left by an earlier ring.
Registry create_registry(std::string_view ring, std::uint64_t ring_id, unsigned mode);
// Opens the registry of ring `ring_id`; nullopt with the reason if it is missing,
// inaccessible, foreign or belongs to another ring.
std::optional<Registry> open_registry(std::string_view ring, std::uint64_t ring_id, bool writable, std::string& why);

// Claims a free entry, or one whose owner died. nullptr if all are held by live readers.
ReaderEntry* claim_entry(const Registry& registry, std::string_view label, std::uint64_t position) noexcept;
void release_entry(ReaderEntry* entry) noexcept;

// A copy of one claimed entry for observers, each field read relaxed (lag is left 0:
// it needs the ring's head). nullopt if the entry is free.
std::optional<ReaderStatus> copy_entry(const Registry& registry, std::uint32_t index);

// Frees the entries of dead readers; returns how many. Live-entry count in *live.
std::uint32_t reap_dead_entries(const Registry& registry, std::uint32_t* live = nullptr) noexcept;

}  // namespace shmcast::detail
