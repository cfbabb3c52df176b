#include "takeover.hpp"

#include "futex.hpp"
#include "liveness.hpp"

#include <algorithm>
#include <unistd.h>

namespace shmcast::detail {

void recover_position(const RingView& view) noexcept {
  ProducerLine& line = view.producer();
  SequenceLine& sequence = view.sequence();
  std::uint64_t head = line.head(), records = line.records(), tail = line.tail();
  tail += (kRecordAlign - tail % kRecordAlign) % kRecordAlign;  // a corrupt tail: records start at 32-byte boundaries
  // Messages the predecessor committed but did not count: they stand, so they count.
  std::uint64_t kept = 0, kept_bytes = 0, skipped = 0, last_ns = line.last_publish_ns();
  // What the predecessor counted past the head it stored: a publish stores its totals, and
  // a jump its skipped run, before the head (producer.cpp), so published + skipped == head
  // after every whole step, and exceeds it by the one step a predecessor died inside.
  // Records found past the head are counted only beyond that credit. Counts past any
  // sequence give none; corrupt ones within range skew only a display, and whatever credit
  // the walk leaves unused is taken back from `published` below, so that the rule holds
  // again for the next successor.
  std::uint64_t credit = 0;
  const std::uint64_t published = line.published(), skipped_before = sequence.skipped();
  if (published <= kMaxSequence && skipped_before <= kMaxSequence && published + skipped_before > head)
    credit = published + skipped_before - head;
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
    if (seq != head || next <= seq || next > kMaxSequence) break;
    if (records == 0 || view.index(records - 1).position() != tail) ++records;
    if (const std::uint64_t counted = next - seq; credit >= counted) {
      credit -= counted;
    } else if (!meta.is_skip()) {
      ++kept;
      kept_bytes += meta.length;
      last_ns = meta.timestamp_ns;
    } else {
      skipped += counted;
    }
    head = next;
    tail += bytes;
  }
  // Whatever lies at the tail is not a record readers may take: say so before anything else.
  view.record(tail).mark_nothing_yet();
  if (kept != 0 || credit != 0)
    line.publish_totals(published - std::min(credit, published) + kept, line.published_bytes() + kept_bytes, last_ns);
  if (skipped != 0) sequence.add_skipped(skipped);
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
