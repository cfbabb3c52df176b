#include "takeover.hpp"

#include "futex.hpp"
#include "liveness.hpp"

#include <algorithm>
#include <unistd.h>

namespace shmcast::detail {

std::uint64_t recover_head(const RingView& view) noexcept {
  ProducerLine& line = view.producer();
  SequenceLine& sequence = view.sequence();
  std::uint64_t seq = std::max(line.head(), sequence.jump_seq());
  // Messages the predecessor committed but did not count: they stand, so they count.
  std::uint64_t kept = 0, kept_bytes = 0, last_ns = line.last_publish_ns();
  for (std::uint64_t i = 0; i < view.slot_count(); ++i, ++seq) {
    SlotHeader& slot = view.slot(seq);
    const std::uint64_t stamp = slot.stamp();
    if (stamp == stamp_committed(seq)) {
      const SlotMeta meta = slot.meta();
      if (meta.is_skip()) {
        // A skip record: the predecessor died inside a jump; finish it.
        if (meta.timestamp_ns > seq + 1) {
          sequence.publish_jump(meta.timestamp_ns);
          seq = meta.timestamp_ns - 1;  // the loop's ++seq lands on the jump's target
        }
      } else {
        ++kept;
        kept_bytes += meta.length;
        last_ns = meta.timestamp_ns;
      }
      continue;
    }
    if (stamp == stamp_writing(seq)) slot.vacate(seq);
    break;
  }
  if (kept != 0) line.publish_totals(line.published() + kept, line.published_bytes() + kept_bytes, last_ns);
  line.publish_head(seq);
  return seq;
}

bool claim_producer_identity(ProducerLine& line) noexcept {
  const bool full_fence = !register_for_heavy_fence();
  line.claim_identity(static_cast<std::uint32_t>(::getpid()), process_start_time(::getpid()), full_fence);
  return full_fence;
}

}  // namespace shmcast::detail
