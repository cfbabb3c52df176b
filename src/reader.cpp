// The read side of the record protocol (docs/DESIGN.md, "The record protocol"). Expecting
// message n at position c:
//   s = stamp at c (acquire)
//   s == n + 1        read header and payload (the length checked against the ring), then
//                     the horizon: reserved <= c + ring_bytes: deliver; else overwritten
//                     while read: a gap
//   s == padding      the record is at the start of the data (after the same check)
//   anything else     nothing yet, unless the horizon has passed c + ring_bytes: a gap
// No byte read from the record is trusted before the horizon check: a later lap's
// payload may imitate any header. On a gap the reader repositions by its policy (oldest,
// latest, snapshot), finding its new place through the record index; for every reader,
// delivered + missed == the sequences it moved over.
#include <shmcast/clock.hpp>
#include <shmcast/error.hpp>
#include <shmcast/reader.hpp>

#include "clock_internal.hpp"
#include "layout.hpp"
#include "line_give_back.hpp"
#include "liveness.hpp"
#include "payload_io.hpp"
#include "reader_state.hpp"
#include "record_chain.hpp"
#include "snapshot_area.hpp"
#include "test_hooks.hpp"

#include <algorithm>
#include <thread>
#include <utility>

namespace shmcast {

namespace detail {

#ifdef SHMCAST_TEST_HOOKS
void (*g_mid_copy_hook)(std::uint64_t) = nullptr;
void (*g_tail_look_hook)() = nullptr;
#endif

namespace {
inline constexpr std::uint64_t kEventsPerActivityStamp = 4096;
inline constexpr std::uint64_t kIdlePollsPerActivityStamp = 1024;
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
  // Checked before the reader claims anything (a registry entry, an archive).
  if (options.stand_back_bytes > s.geometry.ring_bytes / 4)
    throw Error(Errc::invalid_argument, s.name,
                "stand_back_bytes " + std::to_string(options.stand_back_bytes) + " is more than a quarter of the ring (" +
                    std::to_string(s.geometry.ring_bytes) + " bytes): a reader that far back would be lapped while it waits; use at most " +
                    std::to_string(s.geometry.ring_bytes / 4));
  stand_back_bytes_ = options.stand_back_bytes;
  s.view = RingView(s.ring.base(), s.geometry);
  populate(s.ring, /*writable=*/false);
  s.identity = identity_of(s.ring);
  const std::uint64_t words = (std::max<std::uint64_t>(s.geometry.message_limit(), s.geometry.snapshot_capacity) + 7) / 8 + 1;
  s.buffer = std::make_unique_for_overwrite<std::uint64_t[]>(words);
  buffer_ = reinterpret_cast<std::byte*>(s.buffer.get());

  view_ = &s.view;
  line_ = &s.view.producer();
  reserve_ = &s.view.reserve();
  sequence_ = &s.view.sequence();
  on_gap_ = options.on_gap;
  wait_ = options.wait;

  const auto stand_at = [&](std::optional<ChainPoint> p) {
    if (p) {
      position_ = p->seq;
      cursor_ = p->position;
    } else {
      position_ = head();
      s.set(kUnresolved, true);
    }
  };
  switch (options.start) {
    case StartAt::latest: stand_at(latest_point(*view_)); s.set(kStartRetakable, true); break;
    case StartAt::oldest: stand_at(oldest_point(*view_, state_->ring.fd())); s.set(kStartRetakable, true); break;
    case StartAt::sequence:
      position_ = options.start_seq;
      s.set(kUnresolved, true);
      break;
    case StartAt::snapshot:
      // The span starts where the state the reader rebuilds starts: the newest snapshot's
      // as_of, or the first sequence if there is none. Whatever neither the snapshot nor
      // the ring still holds is reported as a gap by the first read (take_snapshot).
      position_ = has_snapshot(*view_) ? peek_snapshot(*view_).as_of : sequence_->first_seq();
      s.set(kWantSnapshot, true);
      s.set(kUnresolved, true);
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
  if (!options.archive.empty()) open_archive(/*at_attach=*/true);
  calibrate_clock();  // here, not in the first idle activity stamp (touch_registry)
  line_flush_ = options.give_back_lines ? line_flush_available() : LineFlush::none;
}

Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

Reader::~Reader() = default;

std::uint64_t Reader::head() const noexcept { return line_->head(); }

std::uint64_t Reader::oldest() const noexcept {
  const std::optional<ChainPoint> p = oldest_point(*view_, state_->ring.fd());
  return p ? p->seq : head();
}

std::uint64_t Reader::start() const noexcept { return state_->start; }
bool Reader::producer_alive() const noexcept { return producer_lock_held(state_->ring.fd()); }
pid_t Reader::producer_pid() const noexcept { return static_cast<pid_t>(reserve_->pid()); }
const std::string& Reader::registration_error() const noexcept { return state_->registration_error; }
const Geometry& Reader::geometry() const noexcept { return state_->geometry; }
const std::string& Reader::name() const noexcept { return state_->name; }
std::uint64_t Reader::ring_id() const noexcept { return state_->header.ring_id; }
std::uint64_t Reader::source_position() const noexcept { return view_->relay().source_position(); }

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
      // The caller's options, but the start the fresh reader took: a start lost before its
      // first event is taken again by that rule (retake_start), never by the old one's
      // (from `latest`, that would skip everything the new ring holds, unreported).
      fresh.state_->options = state_->options;
      fresh.state_->options.start = options.start;
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
  if (seq > head()) return false;
  ReaderState& s = *state_;
  if (s.is(kCatchUp)) leave_catch_up();
  s.slow_path = 0;
  drop_peek();
  holds_copy_ = false;  // delivered already; the reader reads on from seq
  position_ = seq;
  const std::optional<ChainPoint> p = first_point_from(*view_, seq, 0);
  // A skip record is numbered with the first sequence of its run: that sequence was skipped too.
  const bool held = p && p->seq == seq &&
                    !(view_->record(p->position).stamp() == record_stamp(seq) && view_->record(p->position).meta().is_skip());
  if (held) cursor_ = p->position;
  else s.set(kUnresolved, true);  // the next read reports what is lost from seq on
  publish_counters();
  return held;
}

void Reader::publish_counters() noexcept {
  if (entry_ != nullptr) entry_->publish_counters(state_->start, position_, delivered_, gaps_, missed_, snapshots_);
}

void Reader::touch_registry() noexcept {
  if (entry_ == nullptr) return;
  publish_counters();
  entry_->stamp_activity(now_ns());
}

// Moves past `count` messages read (copied, or peeked and confirmed) from cursor_ on: one
// position store in the registry for all of them, and their lines given back if the
// reader is streaming (line_give_back.hpp). The activity stamp is the clock's, not a
// message's timestamp, which the producer chooses (replay and publish_at keep a source's).
inline void Reader::deliver(std::uint64_t count, std::uint64_t next_seq, std::uint64_t next_position) noexcept {
  const std::uint64_t before = delivered_;
  const std::uint64_t idle_polls = idle_polls_ - std::exchange(idle_polls_at_delivery_, idle_polls_);
  given_back_ = give_back(*view_,
                          lines_to_give_back(given_back_, cursor_, next_position, count, idle_polls, view_->ring_bytes()),
                          line_flush_);
  position_ = next_seq;
  cursor_ = next_position;
  delivered_ += count;
  if (entry_ != nullptr) {
    entry_->publish_progress(position_);
    if (before / kEventsPerActivityStamp != delivered_ / kEventsPerActivityStamp) [[unlikely]]
      entry_->stamp_activity(now_ns());
  }
}

// Where a reader standing back may read up to now (stand_back.hpp); at or below cursor_:
// nothing yet, without touching the ring.
inline std::uint64_t Reader::stand_back_limit() noexcept {
  const StandBack sb = stand_back(state_->stand_back, stand_back_bytes_, cursor_, idle_polls_ - idle_polls_at_delivery_,
                                  [&] {
                                    SHMCAST_TAIL_LOOK_HOOK();
                                    return line_->tail();
                                  });
  return sb.wait ? cursor_ : sb.limit;
}

ReadResult Reader::try_read() noexcept {
  if (holds_copy_) [[unlikely]] return hand_out_held_copy();
  drop_peek();
  if (stand_back_bytes_ != 0 && state_->slow_path == 0) [[unlikely]] {
    if (stand_back_limit() <= cursor_) return {};
  }
  return read_now();
}

// The last peek's messages are given up unconfirmed: in place, they are where the reader
// reads next, so the next read returns them again; confirm() now says false.
inline void Reader::drop_peek() noexcept {
  peeked_ = 0;
  answer_ = Answer::none;
}

// The copy the last peek returned, not confirmed: try_read hands it out again (counted
// once: it was delivered as it was copied).
ReadResult Reader::hand_out_held_copy() noexcept {
  holds_copy_ = false;
  answer_ = Answer::none;
  ReadResult r;
  r.status = ReadStatus::message;
  r.message = held_copy_;
  return r;
}

ReadResult Reader::read_now() noexcept {
  if (state_->slow_path != 0) [[unlikely]] return read_slow_path();
  return read_record();
}

// try_read off its fast path (ReaderState::slow_path): a snapshot start not yet served, a
// snapshot whose gap was reported and that is delivered next, a place not yet found, or
// a latest/oldest start that may still be taken again (retake_start).
ReadResult Reader::read_slow_path() noexcept {
  ReaderState& s = *state_;
  if (s.is(kSnapshotPending)) return deliver_pending_snapshot();
  if (s.is(kCatchUp)) return read_catch_up();
  if (s.is(kWantSnapshot)) {
    // take_snapshot clears kWantSnapshot once it has decided; until then (a snapshot
    // rewritten faster than it could be copied) the reader reads nothing else.
    ReadResult r = take_snapshot(position_, /*at_start=*/true);
    if (r || s.is(kWantSnapshot)) return r;
  }
  if (s.is(kUnresolved)) {
    ReadResult r = resolve_position();
    if (r) s.set(kStartRetakable, false);  // an event returned here is the first one too: it fixes the start
    if (r || s.is(kUnresolved)) return r;
  }
  if (!s.is(kStartRetakable)) return read_record();
  s.retakes = 0;
  const ReadResult r = read_record();
  if (r) s.set(kStartRetakable, false);  // the first event fixes the start
  return r;
}

inline ReadResult Reader::read_record() noexcept {
  const std::uint64_t seq = position_;
  const std::uint64_t at = cursor_;
  const RecordHeader& record = view_->record(at);
  const std::uint64_t stamp = record.stamp();
  if (stamp == record_stamp(seq)) [[likely]] {
    const RecordMeta meta = record.meta();
    // Never read past the record's room, whatever its header says.
    const bool fits = view_->fits(at, meta.length);
    const std::size_t copy = fits ? meta.length : 0;
    load_payload(buffer_, view_->payload(at), copy);
    SHMCAST_MID_COPY_HOOK(seq);
    if (!stayed_whole(*view_, at)) [[unlikely]] return on_lapped(seq, seq + 1);  // overwritten while read
    if (!fits) [[unlikely]] {
      // A skip record: [seq, target) were skipped by a producer that jumped ahead.
      if (meta.skips_forward_from(seq)) {
        if (retake_start(meta.timestamp_ns)) return read_record();
        return report_gap(seq, {meta.timestamp_ns, at + kRecordAlign}, GapCause::skipped);
      }
      return on_lapped(seq, seq + 1, GapCause::corrupt);  // claims more than it may hold: dropped, counted
    }
    deliver(1, seq + 1, at + record_bytes(meta.length));
    ReadResult r;
    r.status = ReadStatus::message;
    r.message = Message{seq, meta.type, meta.timestamp_ns, {buffer_, copy}};
    return r;
  }
  if (!stayed_whole(*view_, at)) return on_lapped(seq, seq);
  if (stamp == kPaddingStamp) {
    // The record is at the start of the data. Padding that starts there is corrupt.
    if (view_->room_to_end(at) == view_->ring_bytes()) return on_lapped(seq, seq + 1, GapCause::corrupt);
    cursor_ = at + view_->room_to_end(at);
    return read_record();
  }
  // Nothing yet (or bytes no producer wrote there, which only a lap can replace). The
  // record that comes here spans this line and usually the next: asking for the next one
  // while polling lets its transfer overlap the header line's instead of following it
  // (bench/README.md, "Reader prefetch"). A prefetch only starts a fetch; it never waits
  // or faults, and the address is inside the data whatever `at` is.
  __builtin_prefetch(&view_->record(at + kCacheLine), 0, 3);
  if (++idle_polls_ % kIdlePollsPerActivityStamp == 0) touch_registry();
  return {};
}

Reader::Batch Reader::peek(std::span<Message> out) noexcept {
  Batch batch;
  drop_peek();
  if (out.empty()) return batch;  // a held copy stays held: handed out by the next read
  if (holds_copy_) [[unlikely]] {
    // Not confirmed: the same copy again, still held until confirm() answers for it.
    out[0] = held_copy_;
    answer_ = Answer::held_copy;
    return Batch{1, {}};
  }
  // Off the fast path, and whenever the next record is not a plain message, the copying
  // read decides the event. A message it returns is already copied, checked and
  // delivered: it is held until confirm(), and handed out again until then.
  const auto by_copy = [&]() -> Batch {
    ReadResult r = read_now();
    if (r.status == ReadStatus::message) {
      held_copy_ = r.message;
      holds_copy_ = true;
      answer_ = Answer::held_copy;
      out[0] = r.message;
      return Batch{1, {}};
    }
    return Batch{0, r};
  };
  if (state_->slow_path != 0) [[unlikely]] return by_copy();
  const std::uint64_t limit = stand_back_bytes_ != 0 ? stand_back_limit() : kNoReadLimit;
  if (limit <= cursor_) return batch;
  std::uint64_t seq = position_;
  std::uint64_t at = cursor_;
  std::uint64_t first = cursor_;  // where the batch's first record is: past padding at cursor_
  std::size_t n = 0;
  while (n < out.size() && at < limit) {
    const RecordHeader& record = view_->record(at);
    const std::uint64_t stamp = record.stamp();
    if (stamp == record_stamp(seq)) {
      const RecordMeta meta = record.meta();
      if (!view_->fits(at, meta.length)) break;  // a skip record, or corrupt
      out[n++] = Message{seq, meta.type, meta.timestamp_ns, {view_->payload(at), meta.length}};
      ++seq;
      at += record_bytes(meta.length);
      continue;
    }
    // Padding: the records go on at the start of the data (padding that starts there is
    // corrupt: try_read reports it). Padding before the batch's first record is not part
    // of the batch: the horizon check (below, and in confirm()) is made at that record. At
    // the padding, it would be stricter than the copying read's: the horizon can pass the
    // padding while the records after it stay whole, and a refused batch whose records are
    // all still held would then be read again instead of reported as a gap. cursor_ moves
    // past that padding only once the batch is found whole: its first record's sequence
    // stamp proves that the padding was this lap's, as try_read's horizon check at the
    // padding does before it moves.
    if (stamp == kPaddingStamp && view_->room_to_end(at) != view_->ring_bytes()) {
      at += view_->room_to_end(at);
      if (n == 0) first = at;
      continue;
    }
    break;
  }
  if (n == 0 || !stayed_whole(*view_, first)) return by_copy();  // a lapped batch: try_read reports the gap
  cursor_ = first;
  peeked_ = n;
  peeked_next_seq_ = seq;
  peeked_next_position_ = at;
  batch.count = n;
  return batch;
}

// Every peeked record lies at or after cursor_ (the batch's first), so one horizon check
// covers them all. On failure nothing moves: the next read finds the record at cursor_
// overwritten (the horizon only grows) and reports the gap by the policy, from the batch's
// first sequence.
bool Reader::confirm() noexcept {
  if (const std::uint64_t count = std::exchange(peeked_, 0); count != 0) {
    const bool whole = stayed_whole(*view_, cursor_);
    if (whole) deliver(count, peeked_next_seq_, peeked_next_position_);
    answer_ = whole ? Answer::intact : Answer::none;
    return whole;
  }
  if (answer_ == Answer::held_copy) {  // checked when it was copied
    holds_copy_ = false;
    answer_ = Answer::intact;
  }
  return answer_ == Answer::intact;
}

// The reader knows position_ but not where its record is. Finds it; a sequence that is
// no longer held (overwritten, or inside a run skipped by a jump) is a gap by the policy,
// counted from position_. A sequence not yet published is waited for.
ReadResult Reader::resolve_position() noexcept {
  ReaderState& s = *state_;
  if (position_ > head()) return {};
  const std::optional<ChainPoint> p = first_point_from(*view_, position_, 0);
  if (!p) return {};
  s.set(kUnresolved, false);
  if (p->seq == position_) {
    cursor_ = p->position;
    return {};
  }
  return on_lapped(position_, p->seq);
}

// Where a reader goes on after losing everything before `lost_until`: the point after the
// newest record (latest), or the oldest record held with the resynchronisation margin,
// and never before lost_until (oldest).
std::optional<Reader::Point> Reader::point_by_policy(bool latest, std::uint64_t lost_until) const noexcept {
  std::optional<ChainPoint> p;
  if (latest) {
    p = latest_point(*view_);
    if (p && p->seq < lost_until) p = first_point_from(*view_, lost_until, 0);
  } else {
    p = first_point_from(*view_, std::max(lost_until, sequence_->first_seq()), resync_margin(*view_, state_->ring.fd()));
  }
  if (!p) return std::nullopt;
  return Point{p->seq, p->position};
}

// A reader that starts at latest or oldest has been promised nothing before its first
// event: its start only says where its span begins. If that start is overwritten (or
// skipped) before the reader has returned any event, as happens to a fresh reader of a
// busy ring between attaching and its first read, the start is taken again by the same
// rule instead of being reported as a gap. The span, and so delivered + missed ==
// position - start(), begins at the retaken start, never inside the run that was lost.
// The first event, or a seek, fixes the start; after that a loss is a gap. A producer
// that laps the reader again and again within one read (faster than it can read one
// message) fixes it too: after kMaxRetakes in a row the loss is a gap, so a read cannot
// spin forever.
bool Reader::retake_start(std::uint64_t lost_until) noexcept {
  constexpr int kMaxRetakes = 8;
  ReaderState& s = *state_;
  if (!s.is(kStartRetakable) || s.retakes == kMaxRetakes) return false;
  const std::optional<Point> p = point_by_policy(s.options.start == StartAt::latest, lost_until);
  if (!p) return false;
  ++s.retakes;
  position_ = p->seq;
  cursor_ = p->position;
  s.start = position_;
  publish_counters();
  return true;
}

// Why the reader is about to report `seq` lost:
//  - `seq` is still held as a message: the reader lost its place (lapped) and its policy
//    goes on past it (latest, or the oldest policy's margin), so it counts as overwritten;
//  - it lies in a run a skip record still held stands for: skipped;
//  - older than the oldest record held: overwritten.
// The oldest record held is counted from sequence 0 (a first jump moves first_seq past its
// own skip record) and without the margin a resynchronising reader keeps (oldest() has
// it): a skip record inside that margin is still held. A skipped run the ring has since
// overwritten too reads as overwritten.
GapCause Reader::cause_of_loss(std::uint64_t seq) const noexcept {
  if (const std::optional<ChainPoint> at = first_point_from(*view_, seq, 0); at && at->seq == seq) {
    const std::optional<CheckedRecord> record = check_record(*view_, at->position);
    return record && record->seq == seq && record->meta.is_skip() ? GapCause::skipped : GapCause::overwritten;
  }
  const std::optional<ChainPoint> held = first_point_from(*view_, 0, 0);
  return held && seq >= held->seq ? GapCause::skipped : GapCause::overwritten;
}

// Moves the reader to `position`, where `seq` (position_) is still held, and reads it now,
// so that "nothing yet" never stands for a message there (a drain would stop, a blocking
// read would sleep past it). Once per read: a place lost again under this read is found
// by the next one.
ReadResult Reader::relocate(std::uint64_t position) noexcept {
  cursor_ = position;
  if (state_->relocating) return {};
  state_->relocating = true;
  const ReadResult r = read_record();
  state_->relocating = false;
  return r;
}

ReadResult Reader::on_lapped(std::uint64_t seq, std::uint64_t lost_until, std::optional<GapCause> cause) noexcept {
  // Only the place was lost (padding lapped while the record after it is still held):
  // nothing to report, retake, catch up or rebuild from a snapshot. (Not looked for while
  // a lapped reader waits for a snapshot newer than the stale one it found: it lost seq.)
  if (lost_until == seq && !(on_gap_ == GapPolicy::snapshot && awaiting_newer_snapshot())) {
    if (const std::optional<ChainPoint> p = first_point_from(*view_, seq, 0); p && p->seq == seq)
      return relocate(p->position);
  }
  if (retake_start(lost_until)) [[unlikely]] return read_record();
  if (ReadResult first; !state_->options.archive.empty() && enter_catch_up(seq, first)) return first;
  if (on_gap_ == GapPolicy::snapshot && has_snapshot(*view_))
    return take_snapshot(seq, /*at_start=*/false, cause);
  const std::optional<Point> next = point_by_policy(on_gap_ == GapPolicy::latest, lost_until);
  if (!next) {
    // The producer kept overwriting the places found faster than they could be checked:
    // stand where we were, and find the place again on the next read.
    position_ = seq;
    state_->set(kUnresolved, true);
    return {};
  }
  if (next->seq < seq) return {};  // the chain is behind where the reader stands (a corrupt ring): wait, never go back
  if (next->seq == seq) return relocate(next->position);  // found since the look above
  return report_gap(seq, *next, cause);
}

// `cause`: where the caller knows it (a skip record, a corrupt one, the archive); otherwise
// cause_of_loss decides.
ReadResult Reader::report_gap(std::uint64_t first, Point next, std::optional<GapCause> cause) noexcept {
  ++gaps_;
  missed_ += next.seq - first;
  position_ = next.seq;
  cursor_ = next.position;
  state_->set(kUnresolved, false);
  publish_counters();
  ReadResult r;
  r.status = ReadStatus::gap;
  r.gap = Gap{first, next.seq - first, cause ? *cause : cause_of_loss(first)};
  return r;
}

// The snapshot gap policy, and StartAt::snapshot. The newest snapshot is used if the
// messages after it are still held: the reader first gets the gap from where it stood to
// the snapshot (the sequences the snapshot covers were not delivered one by one, so they
// count as missed and delivered + missed == span still holds; a reader starting from a
// snapshot gets none: its span starts at the as_of of the snapshot it takes), then the
// snapshot, then the messages from its as_of on. A snapshot whose following messages are gone is stale:
//  - at the start, nothing can be rebuilt from it: the reader reports what neither the
//    snapshot nor the ring holds as a gap, and reads on from the oldest message held;
//  - a lapped reader (GapPolicy::snapshot) waits, its reads empty, for the next snapshot.
// With no complete snapshot the reader behaves as `oldest`, reporting what is gone.
// A lapped reader that found the newest snapshot stale waits for the next one.
bool Reader::awaiting_newer_snapshot() const noexcept {
  return has_snapshot(*view_) && view_->snapshot_control().stamp() == state_->stale_snapshot_stamp;
}

// `cause`: why `from` was lost, where the caller knows (a corrupt record); else cause_of_loss.
ReadResult Reader::take_snapshot(std::uint64_t from, bool at_start, std::optional<GapCause> cause) noexcept {
  ReaderState& s = *state_;
  const auto lost_since = [&](std::uint64_t first) -> ReadResult {
    const std::optional<Point> p = point_by_policy(/*latest=*/false, first);
    if (!p) {
      position_ = first;
      s.set(kUnresolved, true);
      return {};
    }
    if (p->seq > first) return report_gap(first, *p, cause);
    position_ = first;
    if (p->seq < first) {  // the chain is behind `first` (a corrupt ring): find it again later, never go back
      s.set(kUnresolved, true);
      return {};
    }
    cursor_ = p->position;
    s.set(kUnresolved, false);
    return {};
  };
  if (!has_snapshot(*view_)) {
    s.set(kWantSnapshot, false);
    return lost_since(from);
  }
  if (!at_start && awaiting_newer_snapshot()) return {};
  const std::optional<SnapshotCopy> copy = copy_newest_snapshot(*view_, buffer_);
  if (!copy) return {};  // being rewritten faster than we copy: try again on the next read
  // The messages from as_of on must still be held, with the margin a lapped reader keeps.
  std::optional<ChainPoint> after;
  if (copy->as_of >= from) after = first_point_from(*view_, copy->as_of, resync_margin(*view_, state_->ring.fd()));
  if (!after || after->seq != copy->as_of) {
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
  if (copy->as_of == from || at_start) {
    // At the start the span begins at the snapshot taken, as it would had the reader
    // attached after it: the messages between the snapshot it attached at and this one
    // are in this one, not lost.
    if (at_start) s.start = copy->as_of;
    position_ = copy->as_of;
    cursor_ = after->position;
    s.set(kUnresolved, false);
    return deliver_pending_snapshot();
  }
  return report_gap(from, {copy->as_of, after->position}, cause);
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
