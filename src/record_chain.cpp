#include "record_chain.hpp"

#include "test_hooks.hpp"

namespace shmcast::detail {

#ifdef SHMCAST_TEST_HOOKS
void (*g_chain_search_hook)() = nullptr;
#endif

namespace {
constexpr int kTries = 16;
}  // namespace

std::optional<ChainPoint> latest_point(const RingView& view) noexcept {
  const ProducerLine& line = view.producer();
  for (int attempt = 0; attempt < kTries; ++attempt) {
    // The head before the count: the producer stores the count, then the head (both
    // release), so a count of 0 loaded after the head (acquire) says that head had no
    // record before it. In the other order a record committed between the loads would
    // put the reader after it at position 0, where that record lies: it would wait there
    // for a stamp that never comes until the producer laps it.
    const std::uint64_t head = line.head();
    SHMCAST_CHAIN_SEARCH_HOOK();
    const std::uint64_t records = line.records();
    if (records == 0) {
      if (head > kMaxSequence) return std::nullopt;  // a corrupt head
      return ChainPoint{head, 0};
    }
    // The entry may already be a newer record's (the producer went round the index): its
    // successor is as good a latest point.
    if (const auto r = check_record(view, view.index(records - 1).position())) return r->next;
  }
  return std::nullopt;
}

std::optional<ChainPoint> first_point_from(const RingView& view, std::uint64_t seq, std::uint64_t margin) noexcept {
  // Record r is "found" if it stayed whole (with the margin) and the chain goes past seq
  // after it. Both hold for a suffix of the records held, so a binary search finds the
  // first; a producer that overwrites entries during the search can move that suffix, so
  // the answer is checked against its predecessor and the search retried.
  const auto found = [&](std::uint64_t record) -> std::optional<CheckedRecord> {
    auto r = check_record(view, view.index(record).position(), margin);
    if (r && r->next.seq > seq) return r;
    return std::nullopt;
  };
  for (int attempt = 0; attempt < kTries; ++attempt) {
    const std::uint64_t hi = view.producer().records();
    SHMCAST_CHAIN_SEARCH_HOOK();
    const std::uint64_t lo = hi > view.index_entries() ? hi - view.index_entries() : 0;
    std::uint64_t left = lo, right = hi;
    while (left < right) {
      const std::uint64_t mid = left + (right - left) / 2;
      if (found(mid)) right = mid;
      else left = mid + 1;
    }
    if (left == hi) {
      const auto latest = latest_point(view);
      // Past seq only if records were committed since `hi` was read (seq may be held now).
      if (latest && latest->seq > seq && view.producer().records() != hi) continue;
      if (!latest || latest->seq >= seq) return latest;
      continue;  // the chain grew past seq meanwhile
    }
    const auto r = found(left);
    if (!r) continue;
    if (left > lo && found(left - 1)) continue;  // moved under the search
    // Entry `left` is reused by record left + index_entries, whose entry the producer
    // writes once it has published the count of every record before it (Producer::
    // end_write, jump_to). An entry is stored with release and loaded with acquire, so a
    // reused one read above makes this count at least left + index_entries. A reused
    // entry points at a newer record, which passes `found`: the search may have stopped
    // on it with the records it skipped still held.
    if (view.producer().records() >= left + view.index_entries()) continue;
    if (r->seq >= seq) return ChainPoint{r->seq, r->position};
    return r->next;  // seq lies in the run this skip record skipped
  }
  return std::nullopt;
}

std::optional<ChainPoint> oldest_point(const RingView& view, int ring_fd) noexcept {
  return first_point_from(view, view.sequence().first_seq(), resync_margin(view, ring_fd));
}

}  // namespace shmcast::detail
