// What a Reader holds beyond its hot-path members: the mappings it owns, the view of
// them, and the state of its snapshot handling. Shared by the read protocol (reader.cpp)
// and the waiting strategies (reader_wait.cpp).
#pragma once

#include "mapping.hpp"
#include "registry.hpp"
#include "ring_view.hpp"
#include "stand_back.hpp"

#include <shmcast/archive.hpp>
#include <shmcast/reader.hpp>

#include <chrono>

#include <cstdint>
#include <optional>
#include <string>
#include <unistd.h>
#include <sys/types.h>
#include <memory>

namespace shmcast::detail {

// Why Reader::try_read leaves its fast path (ReaderState::slow_path).
enum SlowPathBit : std::uint8_t {
  kWantSnapshot = 1,     // StartAt::snapshot, not yet served
  kSnapshotPending = 2,  // a snapshot copied into the buffer whose gap has been reported: delivered next
  // StartAt::latest or oldest, and no event returned and no seek yet: a start lost is
  // taken again instead of reported (Reader::retake_start).
  kStartRetakable = 4,
  // The reader knows its next sequence but not where its record is (a start at a
  // sequence, a seek, a lap whose new place could not be found yet): Reader::resolve_position.
  kUnresolved = 8,
  // Reading from the archive what the ring no longer holds (reader_catch_up.cpp).
  kCatchUp = 16,
};

struct ReaderState {
  // The registry entry is released here, before the registry mapping below goes away,
  // and only by the state that owns it: a moved-from Reader has no state, so moving a
  // Reader (as reattach() does) keeps the new owner's entry claimed. And only in the
  // process that claimed it: a child forked while the Reader existed holds a copy of it,
  // and destroying that copy (returning from main, a Python close()) must not free the
  // parent's entry for another reader to take while the parent still writes to it.
  ~ReaderState() {
    if (entry != nullptr && entry->owner() == static_cast<std::uint32_t>(::getpid())) entry->release();
  }
  std::string name;
  ReaderOptions options;
  Segment ring;
  RingView view;
  std::optional<Registry> registry;
  ReaderEntry* entry = nullptr;  // Reader::entry_ caches it for the hot path
  Geometry geometry;
  RingHeader header{};
  std::string registration_error;
  std::unique_ptr<std::uint64_t[]> buffer;  // word-aligned copy target for payloads and snapshots (untouched until used)
  std::uint64_t stale_snapshot_stamp = 0;  // the stamp of a snapshot already found too old
  ObjectIdentity identity;  // which object `ring` is, for replaced()
  // What sends try_read off its fast path, one bit each, so that the fast path tests one
  // byte (SlowPathBit).
  std::uint8_t slow_path = 0;
  [[nodiscard]] bool is(SlowPathBit bit) const noexcept { return (slow_path & bit) != 0; }
  void set(SlowPathBit bit, bool on) noexcept {
    slow_path = static_cast<std::uint8_t>(on ? slow_path | bit : slow_path & ~bit);
  }
  int retakes = 0;  // in a row, within one read
  bool relocating = false;  // Reader::on_lapped is reading at a place it has just found again
  std::uint64_t start = 0;  // where the reader's span begins: Reader::start()
  std::optional<Archive> archive;      // ReaderOptions::archive
  std::string archive_error;           // why it was given up
  std::uint64_t catch_up_reads = 0;
  std::optional<std::chrono::steady_clock::time_point> archive_idle_since;  // at the archive's end since
  std::uint64_t pending_as_of = 0;
  std::uint64_t pending_length = 0;
  StandBackState stand_back;  // ReaderOptions::stand_back_bytes (stand_back.hpp)
};

}  // namespace shmcast::detail
