// The write side of the stamp protocol (docs/DESIGN.md, "The stamp protocol"): for
// message n, SlotHeader::begin (stamp 2n+1, release fence, header words), the payload
// (slot_io.hpp), SlotHeader::commit (stamp 2n+2, release), then head = n+1 (release).
// A reader that sees 2n+2 both before and after its copy therefore copied message n whole.
// Publishing never waits, allocates or makes a system call, except the FUTEX_WAKE owed
// to a reader that announced it is going to sleep.
#include <shmcast/clock.hpp>
#include <shmcast/error.hpp>
#include <shmcast/producer.hpp>

#include "clock_internal.hpp"
#include "futex.hpp"
#include "layout.hpp"
#include "producer_state.hpp"
#include "registry.hpp"
#include "slot_io.hpp"
#include "snapshot_area.hpp"
#include "test_hooks.hpp"

#include <utility>

namespace shmcast {

namespace detail {

// Prefetching the slot a few ahead hides the cost of re-acquiring lines that keeping-up
// readers just read: about 4 is best, 16 hurt. Slots of up to kWholeSlotPrefetchLines
// lines are prefetched whole; larger ones only their first kStreamPrefetchLines, which
// the hardware prefetcher then streams (measurements: bench/README.md, "Producer prefetch").
inline constexpr std::uint64_t kPrefetchDistance = 4;
inline constexpr std::uint32_t kWholeSlotPrefetchLines = 33;
inline constexpr std::uint32_t kStreamPrefetchLines = 4;

#ifdef SHMCAST_TEST_HOOKS
void (*g_mid_publish_hook)(std::uint64_t) = nullptr;
#endif

}  // namespace detail

using namespace detail;

Producer::Producer(std::unique_ptr<ProducerState> state) : state_(std::move(state)) {
  ProducerState& s = *state_;
  s.producing = true;
  view_ = &s.view;
  line_ = &s.view.producer();
  wait_ = s.registry ? s.registry->wait_line() : &s.no_registry;
  head_ = line_->head();
  published_ = line_->published();
  published_bytes_ = line_->published_bytes();
  full_fence_ = s.full_fence;
  calibrate_clock();  // here, not in the first publish(kNow)
}

Producer::Producer(Producer&&) noexcept = default;
Producer& Producer::operator=(Producer&&) noexcept = default;
Producer::~Producer() = default;

const Geometry& Producer::geometry() const noexcept { return state_->geometry; }
const std::string& Producer::name() const noexcept { return state_->name; }
std::uint64_t Producer::ring_id() const noexcept { return state_->ring_id; }
std::uint32_t Producer::payload_capacity() const noexcept { return view_->payload_capacity(); }

void Producer::throw_too_large(std::size_t size) const {
  throw Error(Errc::message_too_large, state_->name,
              "message of " + std::to_string(size) + " bytes exceeds the slot payload capacity of " +
                  std::to_string(view_->payload_capacity()) + " bytes; nothing was written");
}

std::byte* Producer::begin_write(std::uint64_t seq, std::size_t size, std::uint32_t type, std::uint64_t timestamp_ns) noexcept {
  SlotHeader& slot = view_->slot(seq);
  slot.begin(seq, size, type, timestamp_ns);
  return reinterpret_cast<std::byte*>(&slot);
}

void Producer::end_write(std::uint64_t seq, std::size_t size, std::byte* slot_bytes) noexcept {
  auto& slot = *reinterpret_cast<SlotHeader*>(slot_bytes);
  slot.commit(seq);
  head_ = seq + 1;
  ++published_;
  published_bytes_ += size;
  line_->publish_head(head_);
  line_->publish_totals(published_, published_bytes_, slot.timestamp_ns());
  // Every line of the slot, not just its first: a 64-byte message takes a 128-byte slot,
  // and its second line is re-acquired from the readers just as the first is.
  // `__builtin_prefetch(p, 1, 3)` is a plain prefetcht0 for generic x86-64.
  {
    const auto* ahead = reinterpret_cast<const std::byte*>(&view_->slot(head_ + kPrefetchDistance));
    const auto slot_lines = static_cast<std::uint32_t>(view_->slot_size() / kCacheLine);
    const std::uint32_t lines = slot_lines <= kWholeSlotPrefetchLines ? slot_lines : kStreamPrefetchLines;
    for (std::uint32_t i = 0; i < lines; ++i) __builtin_prefetch(ahead + i * kCacheLine, 1, 3);
  }
  wake_if_armed();
}

// The producer's half of the sleep/wake handshake (futex.hpp): the commit (or head move)
// just stored must be ordered before the load of `armed` below.
void Producer::wake_if_armed() noexcept {
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
  if (payload.size() > view_->payload_capacity()) [[unlikely]]
    throw_too_large(payload.size());
  if (timestamp_ns == kNow) timestamp_ns = now_ns();
  const std::uint64_t seq = head_;
  std::byte* slot = begin_write(seq, payload.size(), type, timestamp_ns);
  store_payload(slot + kSlotHeaderSize, payload.data(), payload.size());
  SHMCAST_MID_PUBLISH_HOOK(seq);
  end_write(seq, payload.size(), slot);
  return seq;
}

void Producer::jump_to(std::uint64_t seq) noexcept {
  SequenceLine& line = view_->sequence();
  const std::uint64_t from = head_;
  if (published_ == 0) line.set_first_seq(seq);
  // One skip record, in the slot of the first skipped sequence: the one a keeping-up
  // reader waits on. It says "skipped up to seq", so that reader reports the whole run
  // as one gap; it overwrites only the oldest message, as a publish would. A reader that
  // is elsewhere inside the run finds its slot vacant with jump_seq past it: a gap too.
  SlotHeader& slot = view_->slot(from);
  slot.begin(from, 0, 0, seq);
  slot.mark_skip();
  slot.commit(from);
  line.add_skipped(seq - from);
  line.publish_jump(seq);
  head_ = seq;
}

void Producer::skip_to(std::uint64_t seq) {
  if (seq < head_)
    throw Error(Errc::invalid_argument, state_->name,
                "skip_to(" + std::to_string(seq) + ") is below head " + std::to_string(head_) + "; sequences only increase");
  if (seq == head_) return;
  jump_to(seq);
  line_->publish_head(head_);
  wake_if_armed();
}

std::uint64_t Producer::publish_at(std::uint64_t seq, std::span<const std::byte> payload, std::uint32_t type,
                                   std::uint64_t timestamp_ns) {
  if (seq < head_)
    throw Error(Errc::invalid_argument, state_->name,
                "publish_at(" + std::to_string(seq) + ") is below head " + std::to_string(head_) + "; sequences only increase");
  if (payload.size() > view_->payload_capacity()) [[unlikely]]
    throw_too_large(payload.size());
  if (seq > head_) jump_to(seq);
  return publish(payload, type, timestamp_ns);
}

Producer::Claim Producer::claim(std::size_t size, std::uint32_t type, std::uint64_t timestamp_ns) {
  if (size > view_->payload_capacity()) [[unlikely]]
    throw_too_large(size);
  if (timestamp_ns == kNow) timestamp_ns = now_ns();
  const std::uint64_t seq = head_;
  return Claim(this, begin_write(seq, size, type, timestamp_ns), seq, size);
}

void Producer::abandon(std::uint64_t seq, std::byte* slot) noexcept { reinterpret_cast<SlotHeader*>(slot)->vacate(seq); }

Producer::Claim::Claim(Producer* owner, std::byte* slot, std::uint64_t seq, std::size_t size) noexcept
    : owner_(owner), slot_(slot), payload_(slot + kSlotHeaderSize), seq_(seq), size_(size) {}

Producer::Claim::Claim(Claim&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), slot_(other.slot_), payload_(other.payload_), seq_(other.seq_), size_(other.size_) {}

Producer::Claim::~Claim() {
  if (owner_ != nullptr) owner_->abandon(seq_, slot_);
}

void Producer::Claim::write(std::size_t offset, std::span<const std::byte> bytes) noexcept {
  store_bytes_at(payload_, offset, bytes.data(), bytes.size());
}

std::uint64_t Producer::Claim::commit(std::size_t length) {
  Producer* owner = std::exchange(owner_, nullptr);
  if (owner == nullptr) throw Error(Errc::invalid_argument, "Claim::commit: this claim was already committed");
  if (length > size_) length = size_;
  if (length != size_) reinterpret_cast<SlotHeader*>(slot_)->set_length(length);
  owner->end_write(seq_, length, slot_);
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
}

std::size_t Producer::reader_count() const {
  if (!state_->registry) return 0;
  std::uint32_t live = 0;
  reap_dead_entries(*state_->registry, &live);
  return live;
}

void Producer::set_source_position(std::uint64_t position) noexcept { line_->set_source_position(position); }
std::uint64_t Producer::source_position() const noexcept { return line_->source_position(); }
void Producer::set_source_status(const SourceStatus& status) noexcept { view_->relay().set(status); }
SourceStatus Producer::source_status() const noexcept { return view_->relay().get(); }

}  // namespace shmcast
