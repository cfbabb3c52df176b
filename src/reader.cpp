// The read side of the stamp protocol (docs/DESIGN.md, "The stamp protocol"). Expecting
// message n in its slot:
//   s1 = stamp()
//   s1 <  2n+1  not yet published, unless the producer jumped past n (then: a gap)
//   s1 == 2n+1  being written: nothing new yet
//   s1 == 2n+2  copy header and payload ; s2 = stamp_after_copy() ;
//               s2 == s1: deliver ; else overwritten while copying: a gap
//   s1 >  2n+2  overwritten by a later lap: a gap
// On a gap the reader repositions by its policy (oldest, latest, snapshot); for every
// reader, delivered + missed == the sequences it moved over.
#include <shmcast/clock.hpp>
#include <shmcast/error.hpp>
#include <shmcast/reader.hpp>

#include "clock_internal.hpp"
#include "layout.hpp"
#include "liveness.hpp"
#include "reader_state.hpp"
#include "slot_io.hpp"
#include "snapshot_area.hpp"
#include "test_hooks.hpp"

#include <algorithm>
#include <thread>

namespace shmcast {

namespace detail {

#ifdef SHMCAST_TEST_HOOKS
void (*g_mid_copy_hook)(std::uint64_t) = nullptr;
#endif

namespace {

inline constexpr std::uint64_t kEventsPerActivityStamp = 4096;

// Re-positioning "oldest" keeps this many slots between the reader and the producer
// so that a reader that just fell behind does not land on the slot being overwritten.
std::uint64_t safety_margin(std::uint64_t slot_count) noexcept { return std::max<std::uint64_t>(1, slot_count / 16); }

}  // namespace
}  // namespace detail

using namespace detail;

Reader::Reader(std::string_view name, const ReaderOptions& options) : state_(std::make_unique<ReaderState>()) {
  OpenedRing opened = open_ring(name, /*writable=*/false, options.attach_timeout, options.wait_for_ring);
  ReaderState& s = *state_;
  s.name = std::string(name);
  s.options = options;
  s.geometry = opened.geometry;
  s.header = opened.header;
  s.ring = std::move(opened.segment);
  s.view = RingView(s.ring.base(), s.geometry);
  populate(s.ring, /*writable=*/false);
  s.identity = identity_of(s.ring);
  const std::uint64_t words = (std::max<std::uint64_t>(s.geometry.payload_capacity(), s.geometry.snapshot_capacity) + 7) / 8 + 1;
  s.buffer.assign(words, 0);
  buffer_ = reinterpret_cast<std::byte*>(s.buffer.data());

  view_ = &s.view;
  line_ = &s.view.producer();
  sequence_ = &s.view.sequence();
  on_gap_ = options.on_gap;
  wait_ = options.wait;

  switch (options.start) {
    case StartAt::latest: position_ = head(); s.set(kStartRetakable, true); break;
    case StartAt::oldest: position_ = oldest(); s.set(kStartRetakable, true); break;
    case StartAt::sequence: position_ = options.start_seq; break;
    case StartAt::snapshot:
      // The span starts where the state the reader rebuilds starts: the newest snapshot's
      // as_of, or the first sequence if there is none. Whatever neither the snapshot nor
      // the ring still holds is reported as a gap by the first read (take_snapshot).
      position_ = view_->has_snapshot_area() && peek_snapshot(*view_).published != 0 ? peek_snapshot(*view_).as_of
                                                                                   : sequence_->first_seq();
      s.set(kWantSnapshot, true);
      break;
  }
  s.start = position_;

  // The registry serves blocking waits even for a reader that does not register.
  s.registry = open_registry(name, s.header.ring_id, /*writable=*/true, s.registration_error);
  if (s.registry && options.register_reader) {
    entry_ = s.entry = claim_entry(*s.registry, options.label, position_);
    if (entry_ == nullptr)
      s.registration_error = "all " + std::to_string(s.registry->count) +
                             " reader entries are held by live readers (the ring's max_readers; `shmcast create --max-readers N` sets it)";
  }
  if (!options.register_reader) s.registration_error.clear();
  calibrate_clock();  // here, not in the first idle activity stamp (touch_registry)
}

Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

Reader::~Reader() = default;

std::uint64_t Reader::head() const noexcept { return line_->head(); }

std::uint64_t Reader::oldest() const noexcept {
  const std::uint64_t h = head();
  const std::uint64_t slot_count = view_->slot_count();
  const std::uint64_t margin = safety_margin(slot_count);
  const std::uint64_t by_window = h + margin > slot_count ? h + margin - slot_count : 0;
  return std::max(by_window, sequence_->first_seq());
}

std::uint64_t Reader::start() const noexcept { return state_->start; }
bool Reader::producer_alive() const noexcept { return producer_lock_held(state_->ring.fd()); }
pid_t Reader::producer_pid() const noexcept { return static_cast<pid_t>(line_->pid()); }
const std::string& Reader::registration_error() const noexcept { return state_->registration_error; }
const Geometry& Reader::geometry() const noexcept { return state_->geometry; }
const std::string& Reader::name() const noexcept { return state_->name; }
std::uint64_t Reader::ring_id() const noexcept { return state_->header.ring_id; }
std::uint64_t Reader::source_position() const noexcept { return line_->source_position(); }

bool Reader::replaced() const noexcept { return ring_replaced(state_->name, state_->identity); }

void Reader::set_external_position(std::uint64_t position) noexcept {
  if (entry_ != nullptr) entry_->set_external_position(position);
}

bool Reader::reattach(const Backoff& backoff, const std::function<bool()>& should_stop) {
  ReaderOptions options = state_->options;
  options.start = StartAt::oldest;
  options.attach_timeout = std::chrono::milliseconds(0);
  options.wait_for_ring = false;
  const auto started = std::chrono::steady_clock::now();
  std::chrono::milliseconds delay = backoff.initial;
  for (;;) {
    if (should_stop && should_stop()) return false;
    try {
      Reader fresh(state_->name, options);
      fresh.state_->options = state_->options;
      *this = std::move(fresh);
      return true;
    } catch (const Error&) {
      // Missing or still being created: wait. Anything else (foreign, corrupt...) too:
      // an operator may be about to fix it, and the caller decides when to stop.
    }
    const auto waited = std::chrono::steady_clock::now() - started;
    if (backoff.give_up.count() > 0 && waited >= backoff.give_up) return false;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, backoff.cap);
  }
}

bool Reader::seek(std::uint64_t seq) noexcept {
  const std::uint64_t h = head();
  if (seq > h) return false;
  position_ = seq;
  state_->slow_path = 0;
  publish_counters();
  return seq == h || view_->slot(seq).stamp() == stamp_committed(seq);
}

void Reader::publish_counters() noexcept {
  if (entry_ != nullptr) entry_->publish_counters(state_->start, position_, delivered_, gaps_, missed_, snapshots_);
}

void Reader::touch_registry() noexcept {
  if (entry_ == nullptr) return;
  publish_counters();
  entry_->stamp_activity(now_ns());
}

ReadResult Reader::try_read() noexcept {
  if (state_->slow_path != 0) [[unlikely]] return read_slow_path();
  return read_slot();
}

// try_read off its fast path (ReaderState::slow_path): a snapshot start not yet served, a
// snapshot whose gap was reported and that is delivered next, or a latest/oldest start
// that may still be taken again (retake_start).
ReadResult Reader::read_slow_path() noexcept {
  ReaderState& s = *state_;
  if (s.is(kSnapshotPending)) return deliver_pending_snapshot();
  if (s.is(kWantSnapshot)) {
    // take_snapshot clears kWantSnapshot once it has decided; until then (a snapshot
    // rewritten faster than it could be copied) the reader reads nothing else.
    ReadResult r = take_snapshot(position_, /*at_start=*/true);
    if (r || s.is(kWantSnapshot)) return r;
  }
  if (!s.is(kStartRetakable)) return read_slot();
  s.retakes = 0;
  const ReadResult r = read_slot();
  if (r) s.set(kStartRetakable, false);  // the first event fixes the start
  return r;
}

inline ReadResult Reader::read_slot() noexcept {
  const std::uint64_t seq = position_;
  const SlotHeader& slot = view_->slot(seq);
  const std::uint64_t s1 = slot.stamp();
  if (s1 == stamp_committed(seq)) [[likely]] {
    const SlotMeta meta = slot.meta();
    const std::uint32_t capacity = view_->payload_capacity();
    // Bounded by the slot's capacity whatever the slot says: never read past it.
    const std::size_t copy = meta.length <= capacity ? meta.length : 0;
    load_payload(buffer_, RingView::payload(slot), copy);
    SHMCAST_MID_COPY_HOOK(seq);
    if (slot.stamp_after_copy() != s1) return on_lapped(seq, seq + 1);  // overwritten while copying
    if (meta.length > capacity) [[unlikely]] {
      // A skip record: [seq, target) were skipped by a producer that jumped ahead.
      if (meta.is_skip() && meta.timestamp_ns > seq) {
        if (retake_start(meta.timestamp_ns)) return read_slot();
        return report_gap(seq, meta.timestamp_ns);
      }
      return report_gap(seq, seq + 1);  // a slot claiming more than it holds is corrupt: drop it, counted
    }
    position_ = seq + 1;
    ++delivered_;
    if (entry_ != nullptr) {
      entry_->publish_progress(position_);
      if (delivered_ % kEventsPerActivityStamp == 0) entry_->stamp_activity(meta.timestamp_ns);
    }
    ReadResult r;
    r.status = ReadStatus::message;
    r.message = Message{seq, meta.type, meta.timestamp_ns, {buffer_, copy}};
    return r;
  }
  if (s1 <= stamp_writing(seq)) {
    // Waiting for message seq. A two-line slot (41-104 byte payloads) has its second line
    // written before its stamp commits: asking for that line while polling lets its
    // transfer overlap the stamp line's instead of following it (bench/README.md,
    // "Reader prefetch"). A prefetch only starts a fetch; it never waits or faults.
    if (view_->slot_size() == 2 * kCacheLine) __builtin_prefetch(reinterpret_cast<const std::byte*>(&slot) + kCacheLine, 0, 3);
    return s1 == stamp_writing(seq) ? ReadResult{} : on_vacant(seq);
  }
  return on_lapped(seq, seq + 1);
}

ReadResult Reader::on_vacant(std::uint64_t seq) noexcept {
  constexpr std::uint64_t kIdlePollsPerActivityStamp = 1024;
  if (++idle_polls_ % kIdlePollsPerActivityStamp == 0) touch_registry();
  // The common idle path: the producer has not jumped past seq, so it is simply not yet published.
  if (sequence_->jump_seq() <= seq) return {};
  // The producer jumped past seq. The first sequence of a jump carries a skip record; a
  // slot still vacant after the acquire above lies inside a skipped run (a reader that
  // sought there) or was skipped a lap ago: a gap, repositioned by the policy.
  if (view_->slot(seq).stamp() >= stamp_writing(seq)) return {};  // it arrived meanwhile
  return on_lapped(seq, skipped_run_end(seq));
}

// Every sequence below jump_seq is decided: published, or skipped by a jump. A slot whose
// stamp is below "writing" for such a sequence was never written for it: skipped. The run
// of them from seq on is one loss, reported as one gap whatever the policy (a policy
// repositioning inside the run would otherwise report it one sequence at a time).
std::uint64_t Reader::skipped_run_end(std::uint64_t seq) const noexcept {
  const std::uint64_t limit = std::min(sequence_->jump_seq(), seq + view_->slot_count());
  std::uint64_t end = seq + 1;
  while (end < limit && view_->slot(end).stamp() < stamp_writing(end)) ++end;
  return end;
}

// A reader that starts at latest or oldest has been promised nothing before its first
// event: its start only says where its span begins. If that start is overwritten (or
// skipped) before the reader has returned any event, as happens to a fresh reader of a
// busy ring between attaching and its first read, the start is taken again by the same
// rule instead of being reported as a gap. The span, and so delivered + missed ==
// position - start(), begins at the retaken start, never inside the run that was lost.
// The first event, or a seek, fixes the start; after that a loss is a gap. A producer
// that laps the reader again and again within one read (faster than it can copy one
// message) fixes it too: after kMaxRetakes in a row the loss is a gap, so a read cannot
// spin forever.
bool Reader::retake_start(std::uint64_t lost_until) noexcept {
  constexpr int kMaxRetakes = 8;
  ReaderState& s = *state_;
  if (!s.is(kStartRetakable) || s.retakes == kMaxRetakes) return false;
  ++s.retakes;
  position_ = std::max(s.options.start == StartAt::latest ? head() : oldest(), lost_until);
  s.start = position_;
  publish_counters();
  return true;
}

ReadResult Reader::on_lapped(std::uint64_t seq, std::uint64_t lost_until) noexcept {
  if (retake_start(lost_until)) [[unlikely]] return read_slot();
  if (on_gap_ == GapPolicy::snapshot && view_->has_snapshot_area() && view_->snapshot_control().stamp() != 0)
    return take_snapshot(seq, /*at_start=*/false);
  std::uint64_t next = on_gap_ == GapPolicy::latest ? head() : oldest();
  next = std::max(next, lost_until);
  return report_gap(seq, next);
}

ReadResult Reader::report_gap(std::uint64_t first, std::uint64_t next) noexcept {
  ++gaps_;
  missed_ += next - first;
  position_ = next;
  publish_counters();
  ReadResult r;
  r.status = ReadStatus::gap;
  r.gap = Gap{first, next - first};
  return r;
}

// The snapshot gap policy, and StartAt::snapshot. The newest snapshot is used if the
// messages after it are still held: the reader first gets the gap from where it stood to
// the snapshot (the sequences the snapshot covers were not delivered one by one, so they
// count as missed and delivered + missed == span still holds; a reader starting from a
// snapshot stands at its as_of, so it gets none), then the snapshot, then the messages
// from its as_of on. A snapshot whose following messages are gone is stale:
//  - at the start, nothing can be rebuilt from it: the reader reports what neither the
//    snapshot nor the ring holds as a gap, and reads on from the oldest message held;
//  - a lapped reader (GapPolicy::snapshot) waits, its reads empty, for the next snapshot.
// With no snapshot at all the reader behaves as `oldest`, reporting what is gone.
ReadResult Reader::take_snapshot(std::uint64_t from, bool at_start) noexcept {
  ReaderState& s = *state_;
  const auto lost_since = [&](std::uint64_t first) {
    const std::uint64_t next = std::max(oldest(), first);
    return next == first ? ReadResult{} : report_gap(first, next);
  };
  const std::uint64_t stamp = view_->has_snapshot_area() ? view_->snapshot_control().stamp() : 0;
  if (stamp == 0) {
    s.set(kWantSnapshot, false);
    return lost_since(from);
  }
  if (!at_start && stamp == s.stale_snapshot_stamp) return {};
  const std::optional<SnapshotCopy> copy = copy_newest_snapshot(*view_, buffer_);
  if (!copy) return {};  // being rewritten faster than we copy: try again on the next read
  if (copy->as_of < from || copy->as_of < oldest()) {
    if (at_start) {
      s.set(kWantSnapshot, false);
      return lost_since(from);
    }
    s.stale_snapshot_stamp = copy->stamp;
    return {};
  }
  s.set(kWantSnapshot, false);
  s.pending_as_of = copy->as_of;
  s.pending_length = copy->length;
  s.set(kSnapshotPending, true);
  if (copy->as_of == from) return deliver_pending_snapshot();
  return report_gap(from, copy->as_of);
}

ReadResult Reader::deliver_pending_snapshot() noexcept {
  ReaderState& s = *state_;
  s.set(kSnapshotPending, false);
  ++snapshots_;
  publish_counters();
  ReadResult r;
  r.status = ReadStatus::snapshot;
  r.snapshot = Snapshot{s.pending_as_of, {buffer_, static_cast<std::size_t>(s.pending_length)}};
  return r;
}

}  // namespace shmcast
