// A reader standing back from the producer (ReaderOptions::stand_back_bytes): while it
// streams and the producer keeps publishing, it reads only records that start at least
// that many bytes behind the producer's tail, and between its looks at the tail it answers
// "nothing yet" without touching the ring.
//
// Why: a reader right behind the producer slows it several times over at 64 B, even
// with its lines given back (line_give_back.hpp): its polls take the line the producer
// writes next, and its hardware prefetchers run ahead into lines the producer is about to
// write. A reader that keeps its distance touches neither (bench/README.md, "Reader
// stand-back"). The cost is latency: up to that many bytes of messages wait, while the
// producer is busy, until it moves on or stops.
//
// The tail is the producer's ProducerLine::tail, a hint read relaxed: it decides only when
// and how far to read, never whether a record is trusted (the record protocol checks every
// record as before). One look costs the producer one transfer of its line: a reader reads
// up to the limit a look gave without looking again, and after finding itself too near it
// looks only every kStandBackPolls polls.
// When the tail has not moved since the last look, the producer has paused: the reader
// reads everything there is, so a burst's last messages wait at most those polls.
#pragma once

#include "streaming.hpp"

#include <cstdint>

namespace shmcast::detail {

inline constexpr std::uint32_t kStandBackPolls = 32;
inline constexpr std::uint64_t kNoReadLimit = ~std::uint64_t{0};

struct StandBackState {
  std::uint64_t tail_seen = 0;   // the tail at the last look
  std::uint64_t limit = 0;       // what that look allowed: records starting below it
  std::uint32_t polls_left = 0;  // polls to answer "nothing yet" before the next look
};

// What a read does: wait (answer "nothing yet" without touching the ring), or read records
// that start below `limit`.
struct StandBack {
  bool wait = false;
  std::uint64_t limit = kNoReadLimit;
};

// `bytes` is the distance to keep (nonzero); `cursor` where the reader's next record
// starts; `load_tail` reads the producer's tail, and is called at most once.
template <class LoadTail>
[[nodiscard]] StandBack stand_back(StandBackState& state, std::uint64_t bytes, std::uint64_t cursor,
                                   std::uint64_t idle_polls_since_delivery, LoadTail&& load_tail) noexcept {
  if (state.polls_left != 0) {
    --state.polls_left;
    return {true, 0};
  }
  if (cursor < state.limit) return {false, state.limit};
  if (!streaming(idle_polls_since_delivery)) return {};
  const std::uint64_t tail = load_tail();
  if (tail == state.tail_seen) return {};  // the producer has not moved: read what there is
  state.tail_seen = tail;
  if (tail < bytes || cursor >= tail - bytes) {
    state.polls_left = kStandBackPolls;
    return {true, 0};
  }
  state.limit = tail - bytes;
  return {false, state.limit};
}

}  // namespace shmcast::detail
