// The write side of the record protocol (docs/DESIGN.md, "The record protocol"). For
// message n at the tail position p, with R = record_bytes(length):
//   if the record would cross the end of the data: "nothing yet" at the data's start,
//     then a padding record at p (release), and p moves to the start;
//   if p + R + 32 passes the horizon: move the horizon a step past it (ReserveLine::reserve,
//     a relaxed store and a release fence before any store beyond the old horizon);
//   header words, payload, index entry; "nothing yet" at p + R; stamp n + 1 at p (release);
//   then records, head (release) and the tail for a successor.
// A reader that sees the stamp sees the record and the mark where the next one will go,
// and checks what it read against the horizon. Publishing never waits, allocates or
// makes a system call, except the FUTEX_WAKE owed to a reader that announced it is going
// to sleep.
#include <shmcast/clock.hpp>
#include <shmcast/error.hpp>
#include <shmcast/producer.hpp>

#include "clock_internal.hpp"
#include "fork_generation.hpp"
#include "futex.hpp"
#include "layout.hpp"
#include "payload_io.hpp"
#include "producer_state.hpp"
#include "registry.hpp"
#include "snapshot_area.hpp"
#include "test_hooks.hpp"

#include <algorithm>
#include <utility>

namespace shmcast {

namespace detail {

// The horizon moves a sixteenth of the ring at a time, at most 64 KiB: a store readers
// must re-fetch once per step instead of once per record, for a ring held that much
// smaller. (A design choice following the prototype the layout's issue describes; this
// step has not been measured against others.)
inline constexpr std::uint64_t kMaxReserveStep = std::uint64_t{64} << 10;
constexpr std::uint64_t reserve_step(std::uint64_t ring_bytes) noexcept {
  return std::clamp<std::uint64_t>(ring_bytes / 16, kRecordAlign, kMaxReserveStep);
}

// Prefetching the lines the producer will write a few records ahead hides the cost of
// re-acquiring lines that keeping-up readers just read. Records of up to
// kWholeRecordPrefetchLines lines are prefetched whole; larger ones only their first
// kStreamPrefetchLines, which the hardware prefetcher then streams (bench/README.md,
// "Producer prefetch").
inline constexpr std::uint64_t kPrefetchRecords = 4;
inline constexpr std::uint64_t kWholeRecordPrefetchLines = 33;
inline constexpr std::uint64_t kStreamPrefetchLines = 4;

#ifdef SHMCAST_TEST_HOOKS
void (*g_mid_publish_hook)(std::uint64_t) = nullptr;
#endif

}  // namespace detail

using namespace detail;

Producer::Producer(std::unique_ptr<ProducerState> state) : state_(std::move(state)) {
  ProducerState& s = *state_;
  s.producing = true;
  s.generation = fork_generation();
  view_ = &s.view;
  line_ = &s.view.producer();
  reserve_line_ = &s.view.reserve();
  wait_ = s.registry ? s.registry->wait_line() : &s.no_registry;
  head_ = line_->head();
  records_ = line_->records();
  tail_ = line_->tail();
  reserved_ = reserve_line_->reserved();
  reserve_step_ = reserve_step(s.view.ring_bytes());
  max_message_ = s.view.max_message();
  published_ = line_->published();
  published_bytes_ = line_->published_bytes();
  full_fence_ = s.full_fence;
  calibrate_clock();  // here, not in the first publish(kNow)
  // A predecessor that died between a commit and its wake left readers asleep beside a
  // message: wake them to look (the takeover's recovery published what it kept).
  wake_if_armed();
}

Producer::Producer(Producer&&) noexcept = default;
Producer& Producer::operator=(Producer&&) noexcept = default;
// A copy that did not write the ring's newest record (the parent of a daemon that went on
// producing) does not mark the ring closed for it (~ProducerState).
Producer::~Producer() {
  if (state_ && line_->head() != head_) state_->producing = false;
}

const Geometry& Producer::geometry() const noexcept { return state_->geometry; }
const std::string& Producer::name() const noexcept { return state_->name; }
std::uint64_t Producer::ring_id() const noexcept { return state_->ring_id; }
std::uint32_t Producer::max_message() const noexcept { return max_message_; }

// Why publish or claim refused, checked in one unlikely branch off their fast path.
void Producer::throw_refused(std::size_t size) const {
  if (size > max_message_)
    throw Error(Errc::message_too_large, state_->name,
                "message of " + std::to_string(size) + " bytes exceeds the ring's maximum message size of " +
                    std::to_string(max_message_) + " bytes (set when the ring was created); nothing was written");
  throw Error(Errc::invalid_argument, state_->name,
              "has used its last sequence, 2^63 - 1 (head " + std::to_string(head_) +
                  "); nothing was written: create the ring again to publish more");
}

// place, commit_record, end_write and wake_if_armed are the steps of every publish; they
// are always inlined into publish, Claim::commit and skip_to, where GCC had kept them as
// calls that cost a small publish measurably (bench/README.md, library change 16).

void Producer::reserve(std::uint64_t end) noexcept {
  reserved_ = (end + reserve_step_ - 1) / reserve_step_ * reserve_step_;
  reserve_line_->reserve(reserved_);
  state_->generation = fork_generation();  // a forked child that produces owns the ring now (~ProducerState)
}

// Where a record with a payload of `size` bytes goes: at the tail, or, if it would cross
// the end of the data, at the data's start after a padding record. The horizon covers
// the record and the "nothing yet" mark after it before anything is written there.
[[gnu::always_inline]] inline std::uint64_t Producer::place(std::uint64_t size) noexcept {
  const std::uint64_t bytes = record_bytes(size);
  std::uint64_t position = tail_;
  if (const std::uint64_t room = view_->room_to_end(position); room < bytes) [[unlikely]] {
    const std::uint64_t start = position + room;
    if (start + bytes + kRecordAlign > reserved_) reserve(start + bytes + kRecordAlign);
    view_->record(start).mark_nothing_yet();  // a reader that follows the padding waits there
    view_->record(position).commit_padding();
    tail_ = position = start;
  } else if (position + bytes + kRecordAlign > reserved_) [[unlikely]] {
    reserve(position + bytes + kRecordAlign);
  }
  return position;
}

// The steps every record takes once its header words and payload are written (a message
// or a skip record): its index entry, "nothing yet" where the next one goes, the commit.
[[gnu::always_inline]] inline void Producer::commit_record(std::uint64_t seq, std::uint64_t position, std::uint64_t bytes) noexcept {
  view_->index(records_).set(position);
  view_->record(position + bytes).mark_nothing_yet();
  view_->record(position).commit(seq);
  ++records_;
  tail_ = position + bytes;
}

[[gnu::always_inline]] inline void Producer::end_write(std::uint64_t seq, std::uint64_t position, std::size_t size, std::uint64_t timestamp_ns) noexcept {
  const std::uint64_t bytes = record_bytes(size);
  commit_record(seq, position, bytes);
  head_ = seq + 1;
  ++published_;
  published_bytes_ += size;
  line_->publish_position(head_, records_, tail_);
  line_->publish_totals(published_, published_bytes_, timestamp_ns);
  // The lines a few records ahead, each as big as this one: re-acquiring them from the
  // readers that just read them costs less while nothing waits for it.
  // `__builtin_prefetch(p, 1, 3)` is a plain prefetcht0 for generic x86-64.
  {
    const std::uint64_t lines = bytes / kCacheLine + 1;
    const std::uint64_t count = lines <= kWholeRecordPrefetchLines ? lines : kStreamPrefetchLines;
    const std::uint64_t ahead = tail_ + kPrefetchRecords * bytes;
    for (std::uint64_t i = 0; i < count; ++i)
      __builtin_prefetch(reinterpret_cast<const std::byte*>(&view_->record(ahead + i * kCacheLine)), 1, 3);
  }
  wake_if_armed();
}

// The producer's half of the sleep/wake handshake (futex.hpp): the commit (or head move)
// just stored must be ordered before the load of `armed` below.
[[gnu::always_inline]] inline void Producer::wake_if_armed() noexcept {
  if (full_fence_) [[unlikely]]
    std::atomic_thread_fence(std::memory_order_seq_cst);
  else
    std::atomic_signal_fence(std::memory_order_seq_cst);
  if (wait_->armed()) [[unlikely]]
    wake_readers();
}

void Producer::wake_readers() noexcept {
  // A reader that arms after this disarm makes the next publish wake it; one that armed
  // before it and loads the bumped wake word below also sees this commit (the bump is a
  // release after it), so it does not sleep on a word nobody will change.
  if (!wait_->disarm()) return;
  line_->bump_wake_word();
  futex_wake_all(line_->wake_word_address());
  ++wakeups_;
}

std::uint64_t Producer::publish(std::span<const std::byte> payload, std::uint32_t type, std::uint64_t timestamp_ns) {
  if (payload.size() > max_message_ || head_ > kMaxSequence) [[unlikely]]
    throw_refused(payload.size());
  if (timestamp_ns == kNow) timestamp_ns = now_ns();
  const std::uint64_t seq = head_;
  const std::uint64_t position = place(payload.size());
  view_->record(position).set_meta(payload.size(), type, timestamp_ns);
  store_payload(view_->payload(position), payload.data(), payload.size());
  SHMCAST_MID_PUBLISH_HOOK(seq);
  end_write(seq, position, payload.size(), timestamp_ns);
  return seq;
}

// One skip record at the tail, numbered with the first skipped sequence: the one a
// keeping-up reader waits for. It says "skipped up to seq", so that reader reports the
// whole run as one gap; the record after it carries seq. Its count is published before
// any later record's index entry is written, as every record's is (first_point_from).
void Producer::jump_to(std::uint64_t seq) noexcept {
  SequenceLine& line = view_->sequence();
  const std::uint64_t from = head_;
  if (from == line.first_seq()) line.set_first_seq(seq);  // nothing published yet: the ring starts at seq
  const std::uint64_t position = place(0);
  view_->record(position).set_meta(kSkipRecordLength, 0, seq);
  commit_record(from, position, record_bytes(0));
  head_ = seq;
  line.add_skipped(seq - from);
  line_->publish_position(head_, records_, tail_);
}

void Producer::check_sequence(std::uint64_t seq, const char* call) const {
  if (seq < head_)
    throw Error(Errc::invalid_argument, state_->name,
                std::string(call) + "(" + std::to_string(seq) + ") is below head " + std::to_string(head_) + "; sequences only increase");
  if (seq > kMaxSequence)
    throw Error(Errc::invalid_argument, state_->name,
                std::string(call) + "(" + std::to_string(seq) + ") is past the largest sequence, 2^63 - 1");
}

void Producer::skip_to(std::uint64_t seq) {
  check_sequence(seq, "skip_to");
  if (seq == head_) return;
  jump_to(seq);
  wake_if_armed();
}

std::uint64_t Producer::publish_at(std::uint64_t seq, std::span<const std::byte> payload, std::uint32_t type,
                                   std::uint64_t timestamp_ns) {
  check_sequence(seq, "publish_at");
  if (payload.size() > max_message_) [[unlikely]]
    throw_refused(payload.size());
  if (seq > head_) jump_to(seq);
  return publish(payload, type, timestamp_ns);
}

Producer::Claim Producer::claim(std::size_t max, std::uint32_t type, std::uint64_t timestamp_ns) {
  if (max > max_message_ || head_ > kMaxSequence) [[unlikely]]
    throw_refused(max);
  if (timestamp_ns == kNow) timestamp_ns = now_ns();
  const std::uint64_t position = place(max);
  view_->record(position).set_meta(max, type, timestamp_ns);
  return Claim(this, position, view_->payload(position), head_, max);
}

Producer::Claim::Claim(Producer* owner, std::uint64_t position, std::byte* payload, std::uint64_t seq, std::size_t size) noexcept
    : owner_(owner), position_(position), payload_(payload), seq_(seq), size_(size) {}

Producer::Claim::Claim(Claim&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), position_(other.position_), payload_(other.payload_), seq_(other.seq_), size_(other.size_) {}

// An abandoned claim leaves no trace: the record was never committed, so where it was
// still says "nothing yet", and the next record goes there.
Producer::Claim::~Claim() = default;

void Producer::Claim::write(std::size_t offset, std::span<const std::byte> bytes) noexcept {
  store_bytes_at(payload_, offset, bytes.data(), bytes.size());
}

std::uint64_t Producer::Claim::commit(std::size_t length) {
  Producer* owner = std::exchange(owner_, nullptr);
  if (owner == nullptr) throw Error(Errc::invalid_argument, "Claim::commit: this claim was already committed");
  if (length > size_) length = size_;
  RecordHeader& record = owner->view_->record(position_);
  if (length != size_) record.set_length(length);
  owner->end_write(seq_, position_, length, record.meta().timestamp_ns);
  return seq_;
}

void Producer::publish_snapshot(std::span<const std::byte> state) {
  if (!view_->has_snapshot_area())
    throw Error(Errc::no_snapshot_area, state_->name, "has no snapshot area");
  if (state.size() > view_->snapshot_capacity())
    throw Error(Errc::message_too_large, state_->name,
                "snapshot of " + std::to_string(state.size()) + " bytes exceeds the snapshot capacity of " +
                    std::to_string(view_->snapshot_capacity()) + " bytes; nothing was written");
  write_snapshot(*view_, state, head_, now_ns());
  wake_if_armed();  // a sleeping reader may be waiting for a snapshot (a stale one's successor)
}

std::size_t Producer::reader_count() const {
  if (!state_->registry) return 0;
  std::uint32_t live = 0;
  reap_dead_entries(*state_->registry, &live);
  return live;
}

void Producer::set_source_position(std::uint64_t position) noexcept { view_->relay().set_source_position(position); }
std::uint64_t Producer::source_position() const noexcept { return view_->relay().source_position(); }
void Producer::set_source_status(const SourceStatus& status) noexcept {
  view_->relay().set(status, view_->sequence().skipped());
}
SourceStatus Producer::source_status() const noexcept { return view_->relay().get(); }
std::uint64_t Producer::uncounted_skips() const noexcept { return view_->relay().uncounted_skips(view_->sequence().skipped()); }

}  // namespace shmcast
