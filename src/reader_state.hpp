// What a Reader holds beyond its hot-path members: the mappings it owns, the view of
// them, and the state of its snapshot handling. Shared by the read protocol (reader.cpp)
// and the waiting strategies (reader_wait.cpp).
#pragma once

#include "mapping.hpp"
#include "registry.hpp"
#include "ring_view.hpp"

#include <shmcast/reader.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace shmcast::detail {

struct ReaderState {
  // The registry entry is released here, before the registry mapping below goes away,
  // and only by the state that owns it: a moved-from Reader has no state, so moving a
  // Reader (as reattach() does) keeps the new owner's entry claimed.
  ~ReaderState() {
    if (entry != nullptr) entry->release();
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
  std::vector<std::uint64_t> buffer;  // word-aligned copy target for payloads and snapshots
  std::uint64_t stale_snapshot_stamp = 0;  // the stamp of a snapshot already found too old
  ObjectIdentity identity;  // which object `ring` is, for replaced()
  bool want_snapshot = false;  // StartAt::snapshot, not yet served
  // StartAt::latest or oldest, and no event returned and no seek yet: a start lost is
  // taken again instead of reported (Reader::retake_start).
  bool start_retakable = false;
  int retakes = 0;  // in a row, within one read
  std::uint64_t start = 0;  // where the reader's span begins: Reader::start()
  // A snapshot copied into the buffer whose gap has been reported: delivered next.
  bool snapshot_pending = false;
  std::uint64_t pending_as_of = 0;
  std::uint64_t pending_length = 0;
};

}  // namespace shmcast::detail
