// The view of `stat` and `list`: a ring's RingStatus (one RingObserver sample) rendered
// as JSON, the machine contract documented by `stat --help` and `list --help`, or as
// text for people.
#pragma once

#include "common/json.hpp"

#include <shmcast/inspect.hpp>

#include <cstdint>
#include <string>

namespace shmcast::cli {

// A ring id as `stat` and the JSON print it: 16 hex digits. A string in JSON, since a
// 64-bit id does not survive parsers that read numbers as doubles.
[[nodiscard]] std::string ring_id_text(std::uint64_t ring_id);

// The top-level fields of `stat --json`, which are also each element of `list --json`.
[[nodiscard]] Json ring_json(const RingStatus& st);

// `stat --json`: ring_json() and its readers, on one line (no newline).
[[nodiscard]] std::string stat_json(const RingStatus& st);

// `stat`: geometry, head, what the ring holds, rate, producer, snapshot, relay and a table of the readers.
[[nodiscard]] std::string stat_text(const RingStatus& st);

}  // namespace shmcast::cli
