#include "record_chain.hpp"

namespace shmcast::detail {

namespace {
constexpr int kTries = 16;
}  // namespace

std::optional<ChainPoint> latest_point(const RingView& view) noexcept {
  const ProducerLine& line = view.producer();
  for (int attempt = 0; attempt < kTries; ++attempt) {
    const std::uint64_t records = line.records();
    if (records == 0) return ChainPoint{line.head(), 0};
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
    const std::uint64_t position = view.index(left).position();
    const auto r = found(left);
    if (!r) continue;
    if (left > lo && found(left - 1)) continue;  // moved under the search
    if (r->seq >= seq) return ChainPoint{r->seq, position};
    return r->next;  // seq lies in the run this skip record skipped
  }
  return std::nullopt;
}

std::optional<ChainPoint> oldest_point(const RingView& view) noexcept {
  return first_point_from(view, view.sequence().first_seq(), resync_margin(view.ring_bytes()));
}

}  // namespace shmcast::detail
