// The view of `stat` and `list`: a ring's RingStatus (one RingObserver sample) rendered
// as JSON, the machine contract documented by `stat --help` and `list --help`, or as
// text for people.
#pragma once

#include "common/json.hpp"

#include <shmcast/inspect.hpp>

#include <cstdint>
#include <string>

namespace shmcast::cli {

// The producer is "none yet": none ever took the ring (pid 0), or the only one was the
// process that created it and closed it without publishing (`shmcast create`): its pid
// is no producer's. RingStatus has no "closed cleanly" bit, so a ring that is not live and
// has never had a message, a skip or a snapshot counts as never produced into. The one
// rule for `stat`, `list` and `metrics`; `stat --json` and `list --json` keep the pid as
// read.
[[nodiscard]] bool no_producer_yet(const RingStatus& st) noexcept;

// The top-level fields of `stat --json`, which are also each element of `list --json`.
[[nodiscard]] Json ring_json(const RingStatus& st);

// `stat --json`: ring_json() and its readers, on one line (no newline).
[[nodiscard]] std::string stat_json(const RingStatus& st);

// `stat`: geometry, head, what the ring holds, rate, producer, snapshot, relay and a table of the readers.
[[nodiscard]] std::string stat_text(const RingStatus& st);

}  // namespace shmcast::cli
