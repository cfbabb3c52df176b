#include "takeover.hpp"

#include "futex.hpp"
#include "liveness.hpp"

#include <algorithm>
#include <unistd.h>

namespace shmcast::detail {

void recover_position(const RingView& view) noexcept {
  ProducerLine& line = view.producer();
  SequenceLine& sequence = view.sequence();
  const std::uint64_t stored_head = line.head(), stored_records = line.records();
  std::uint64_t head = stored_head, records = stored_records, tail = line.tail();
  tail += (kRecordAlign - tail % kRecordAlign) % kRecordAlign;  // a corrupt tail: records start at 32-byte boundaries
  // The counts. Every step stores its count in one place before the head (a jump adds its
  // run to `skipped`) or after it (a publish stores its totals), so published + skipped ==
  // head after every whole step. A jump the predecessor died inside may be counted in
  // `skipped` already: that excess is its credit, and a skip record the walk finds past
  // the head is added only beyond it. A message found past the head was never in the
  // totals; one at head - 1 is missing from them when the predecessor died between its
  // head and its totals. `published` is then head - skipped, which also brings corrupt
  // counts back to the rule for the next successor.
  const std::uint64_t skipped_before = sequence.skipped(), published_before = line.published();
  std::uint64_t credit = 0;
  if (skipped_before <= kMaxSequence && published_before <= kMaxSequence && published_before + skipped_before > head)
    credit = std::min(skipped_before, published_before + skipped_before - head);
  std::uint64_t kept_bytes = 0, skipped = 0, last_ns = line.last_publish_ns();
  if (stored_records != 0 && skipped_before <= kMaxSequence && published_before + skipped_before + 1 == stored_head) {
    // The index entry is shared memory too: a position that is no record start is corrupt.
    if (const std::uint64_t at = view.index(stored_records - 1).position(); at % kRecordAlign == 0) {
      const RecordHeader& record = view.record(at);
      const RecordMeta meta = record.meta();
      if (record.stamp() == record_stamp(stored_head - 1) && !meta.is_skip() && view.fits(at, meta.length)) {
        kept_bytes += meta.length;
        last_ns = meta.timestamp_ns;
      }
    }
  }
  // A few steps suffice (a padding, the record already counted, one not counted); the
  // bound keeps a corrupt ring from holding the successor here.
  for (int step = 0; step < 8; ++step) {
    RecordHeader& record = view.record(tail);
    const std::uint64_t stamp = record.stamp();
    if (stamp == kPaddingStamp && view.room_to_end(tail) != view.ring_bytes()) {
      tail += view.room_to_end(tail);
      continue;
    }
    if (stamp == kNothingYet || stamp == kPaddingStamp) break;
    const std::uint64_t seq = stamp - 1;
    const RecordMeta meta = record.meta();
    if (!meta.is_skip() && !view.fits(tail, meta.length)) break;
    const std::uint64_t bytes = meta.is_skip() ? kRecordAlign : record_bytes(meta.length);
    const std::uint64_t next = meta.is_skip() ? meta.timestamp_ns : seq + 1;
    if (next == head && seq < head) {  // counted already; only the tail was not stored
      tail += bytes;
      continue;
    }
    // A skip record's target is at most kMaxSequence (a record must be able to follow it);
    // a message may be kMaxSequence itself, the head then one past it (publish refuses more).
    if (seq != head || next <= seq || (meta.is_skip() ? next > kMaxSequence : seq > kMaxSequence)) break;
    if (records == 0 || view.index(records - 1).position() != tail) ++records;
    if (!meta.is_skip()) {
      kept_bytes += meta.length;
      last_ns = meta.timestamp_ns;
    } else if (const std::uint64_t run = next - seq; credit >= run) {
      credit -= run;
    } else {
      skipped += run;
    }
    head = next;
    tail += bytes;
  }
  // Whatever lies at the tail is not a record readers may take: say so before anything else.
  view.record(tail).mark_nothing_yet();
  if (skipped != 0) sequence.add_skipped(skipped);
  const std::uint64_t skipped_now = skipped_before + skipped;  // what add_skipped just stored
  const std::uint64_t published = skipped_now <= head ? head - skipped_now : published_before;
  if (published != published_before || kept_bytes != 0)
    line.publish_totals(published, line.published_bytes() + kept_bytes, last_ns);
  // A first jump (publish_at, skip_to on a fresh ring) stores the first sequence before its
  // skip record's commit: a predecessor that died between the two left it ahead of the
  // head, where no record will ever be, and readers looking for the oldest record from
  // there would find none while the ring holds some.
  if (sequence.first_seq() > head) sequence.set_first_seq(head);
  line.publish_position(head, records, tail);
}

bool claim_producer_identity(ReserveLine& line) noexcept {
  const bool full_fence = !register_for_heavy_fence();
  line.claim_identity(static_cast<std::uint32_t>(::getpid()), process_start_time(::getpid()), full_fence);
  return full_fence;
}

}  // namespace shmcast::detail
