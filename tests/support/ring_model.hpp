// An oracle for single-threaded tests: where a ring of layout version 3 puts each record
// and what it still holds, computed from the documented rules alone (include/shmcast/
// types.hpp, docs/DESIGN.md "The record protocol"), never from the library's code:
//  - a message of L bytes takes record_bytes(L) = align32(24 + L) bytes; a skip record 32;
//  - a record never crosses the end of the data: if it would, padding fills the rest and
//    the record goes at the data's start;
//  - before writing a record that ends (with the 32-byte "nothing yet" mark after it) past
//    the horizon, the producer moves the horizon to that end rounded up to the reservation
//    step, min(ring_bytes / 16, 64 KiB);
//  - a record at position p is held while horizon + margin <= p + ring_bytes; seek and the
//    observer use margin 0, a reader resynchronising by "oldest" ring_bytes / 16.
// Tests drive a real Producer and this model with the same calls, then compare what a
// Reader reports (gap counts, oldest(), seek results) with what the model says.
#pragma once

#include <shmcast/types.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace shmcast::test {

class RingModel {
 public:
  struct Record {
    std::uint64_t seq;       // the message's sequence, or a skip record's first skipped one
    std::uint64_t position;  // absolute
    std::uint64_t bytes;
    std::uint64_t next;      // the sequence after it: seq + 1, or a skip record's target
    std::uint32_t length;    // payload bytes (0 for a skip record)
    bool skip;
  };

  explicit RingModel(std::uint64_t ring_bytes)
      : ring_(ring_bytes), step_(std::clamp<std::uint64_t>(ring_bytes / 16, kRecordAlign, std::uint64_t{64} << 10)) {}

  std::uint64_t publish(std::uint64_t length) {
    const std::uint64_t p = place(record_bytes(length));
    records_.push_back({head_, p, record_bytes(length), head_ + 1, static_cast<std::uint32_t>(length), false});
    tail_ = p + record_bytes(length);
    ++published_;
    return head_++;
  }
  // publish_at(seq) with seq > head, or skip_to(seq): one skip record, then head = seq.
  void jump_to(std::uint64_t seq) {
    if (seq <= head_) return;
    const std::uint64_t p = place(kRecordAlign);
    records_.push_back({head_, p, kRecordAlign, seq, 0, true});
    tail_ = p + kRecordAlign;
    if (published_ == 0) first_seq_ = seq;  // the first sequence ever published
    head_ = seq;
  }

  [[nodiscard]] std::uint64_t head() const noexcept { return head_; }
  [[nodiscard]] std::uint64_t tail() const noexcept { return tail_; }
  [[nodiscard]] std::uint64_t reserved() const noexcept { return reserved_; }
  [[nodiscard]] std::uint64_t ring_bytes() const noexcept { return ring_; }
  [[nodiscard]] std::uint64_t margin() const noexcept { return ring_ / 16; }
  [[nodiscard]] const std::vector<Record>& records() const noexcept { return records_; }

  [[nodiscard]] bool whole(const Record& r, std::uint64_t margin = 0) const noexcept {
    return reserved_ + margin <= r.position + ring_;
  }
  // Whether message `seq` is still held (margin 0): what seek(seq) answers.
  [[nodiscard]] bool held(std::uint64_t seq) const noexcept {
    const Record* r = find(seq);
    return r != nullptr && !r->skip && whole(*r);
  }
  [[nodiscard]] const Record* find(std::uint64_t seq) const noexcept {
    for (const Record& r : records_)
      if (r.seq == seq && !r.skip) return &r;
    return nullptr;
  }
  // The first record held (with `margin`) whose chain goes past `seq`: its sequence if at
  // or after seq, the end of the skipped run if seq lies in it; head if none.
  [[nodiscard]] std::uint64_t first_from(std::uint64_t seq, std::uint64_t margin) const noexcept {
    for (const Record& r : records_) {
      if (!whole(r, margin) || r.next <= seq) continue;
      return r.seq >= seq ? r.seq : r.next;
    }
    return head_;
  }
  // Reader::oldest(), and where a reader lapped with GapPolicy::oldest resumes.
  [[nodiscard]] std::uint64_t oldest() const noexcept { return first_from(first_seq_, margin()); }
  // RingStatus::oldest: the oldest held, without the margin.
  [[nodiscard]] std::uint64_t oldest_held() const noexcept { return first_from(first_seq_, 0); }

 private:
  std::uint64_t place(std::uint64_t bytes) {
    std::uint64_t p = tail_;
    const std::uint64_t room = ring_ - p % ring_;
    if (room < bytes) p += room;  // padding to the end
    if (p + bytes + kRecordAlign > reserved_) reserved_ = (p + bytes + kRecordAlign + step_ - 1) / step_ * step_;
    return p;
  }

  std::uint64_t ring_;
  std::uint64_t step_;
  std::uint64_t head_ = 0;
  std::uint64_t tail_ = 0;
  std::uint64_t reserved_ = 0;
  std::uint64_t first_seq_ = 0;
  std::uint64_t published_ = 0;
  std::vector<Record> records_;
};

}  // namespace shmcast::test
