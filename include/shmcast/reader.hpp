// shmcast::Reader: one reader of a ring, in any process.
//
// A Reader maps the ring read-only and follows it at its own pace. Each read yields a
// message, "nothing new", a gap (the first sequence missed and exactly how many), or a
// snapshot. On a gap the reader has already repositioned by its policy; nothing is ever
// skipped silently: for every reader, delivered + missed == the sequences it moved over
// (seeks aside).
//
// Two ways to read messages. try_read() copies one into the reader's own buffer, valid
// until its next call. peek() hands over a batch of messages in place, in the ring
// itself, with no copy; confirm() then says whether they stayed intact while the
// application looked, and only then do they count as delivered. Reading the ring
// allocates nothing (catching up from an archive, ReaderOptions::archive, reads files).
// A Reader is used by one thread at a time.
#pragma once

#include <shmcast/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace shmcast {

namespace detail {
struct ReaderState;
struct ProducerLine;
struct ReserveLine;
struct SequenceLine;
struct ReaderEntry;
class RingView;
enum class LineFlush : std::uint8_t;
}  // namespace detail

// A reader that starts at `latest` or `oldest` takes its start again, by the same rule,
// if that start is overwritten before the reader has returned any event (a fresh reader
// of a busy ring): nothing was promised to it yet, so that is no gap. start() says where
// the span begins. The first event, or a seek, fixes the start; a later loss is a gap.
enum class StartAt {
  latest,    // only messages published after attaching
  oldest,    // the oldest message still safely held
  sequence,  // ReaderOptions::start_seq (a gap first if it is no longer held)
  snapshot,  // the newest snapshot, then the messages after it. The span starts at the
             // snapshot's as_of (the first sequence if there is none); what neither the
             // snapshot nor the ring still holds is the first event, as a gap
};

enum class GapPolicy {
  oldest,    // continue at the oldest message still safely held: replay as much as possible
  latest,    // continue at head: only new messages
  snapshot,  // report the gap, then deliver the newest snapshot and continue after it
             // (as `oldest` while none has been published; waits for the next if it is stale)
};

enum class WaitStrategy {
  block,       // spin briefly (yielding the CPU every 32 polls), then sleep on a shared futex the producer wakes
  spin,        // busy-poll with a pause instruction: lowest latency, burns a core
  spin_yield,  // busy-poll briefly, then sched_yield between polls
};

struct ReaderOptions {
  StartAt start = StartAt::latest;
  std::uint64_t start_seq = 0;
  GapPolicy on_gap = GapPolicy::oldest;
  WaitStrategy wait = WaitStrategy::block;
  bool register_reader = true;  // appear in `shmcast stat` with lag and losses
  std::string label{};          // shown by `shmcast stat`; at most kMaxLabelBytes kept
  // While the ring is being created (or does not exist yet, if wait_for_ring) attach retries this long.
  std::chrono::milliseconds attach_timeout{2000};
  bool wait_for_ring = false;
  // While it streams through small messages (finding each one already there, records of
  // at most 512 bytes on average), the reader gives the cache lines it has finished with
  // back to memory, so that the producer, a lap later, does not have to take them back
  // from this reader's core first (bench/README.md, "Reader line give-back"). It changes no byte and nothing any process reads. Turn it off
  // when the reader shares a core's caches with the producer (SMT siblings), where there
  // is nothing to give back and the lines would be fetched from memory for nothing.
  bool give_back_lines = true;
  // Throughput over latency: while it streams and the producer keeps publishing, the reader
  // reads only messages at least this many bytes behind the producer (0: off, the default;
  // at most a quarter of the ring). A reader right behind a busy producer slows it, through
  // its polls and its prefetchers; one that keeps its distance does not (the figures are in
  // bench/README.md, "Reader stand-back"). Messages within that distance wait until the
  // producer moves on, or pauses (then they are read after at most 33 empty polls). For
  // recorders, bridges and analytics, not for a reader that wants each message as soon as
  // it is published.
  std::uint64_t stand_back_bytes = 0;
  // An archive of this ring (a directory written by `shmcast record`). When the ring no
  // longer holds the sequence the reader wants, at its start or after it was lapped, the
  // reader reads the missing range from the archive, then goes back to the ring exactly at
  // the next sequence: no duplicate, no reorder, no gap. Only what neither holds is a gap.
  // An archive that has no segment yet (its recorder just started) is opened when first
  // needed; otherwise the constructor throws if it cannot be opened. An archive of another
  // ring (the name recreated since) is not used, and archive_error() says so.
  std::string archive{};
};

// Exponential backoff for Reader::reattach(): initial, doubling up to cap; give_up = 0 never gives up.
struct Backoff {
  std::chrono::milliseconds initial{10};
  std::chrono::milliseconds cap{1000};
  std::chrono::milliseconds give_up{0};
};

class Reader {
 public:
  // Attaches to ring `name`. Throws shmcast::Error: not_found, not_ready, abandoned,
  // foreign, version_mismatch, truncated, corrupt, permission_denied, invalid_argument (a
  // bad name, or stand_back_bytes over a quarter of the ring), system (mapping failed).
  explicit Reader(std::string_view name, const ReaderOptions& options = {});
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  // Non-blocking: the next event, or ReadStatus::empty (with stand_back_bytes set, also
  // while the next message lies within that distance of a busy producer; peek likewise:
  // to drain a producer that has stopped, read until position() == head(), not until the
  // first empty; read() stands back too, but with WaitStrategy::block re-checks without
  // standing back before it sleeps).
  [[nodiscard]] ReadResult try_read() noexcept;
  // Waits by the reader's strategy up to `timeout` for the next event; empty on timeout.
  [[nodiscard]] ReadResult read(std::chrono::nanoseconds timeout) noexcept;

  // Zero-copy reads. peek() fills `out` with up to out.size() consecutive messages whose
  // payloads point into the ring, and returns how many (Batch::count). If the next event
  // is not a message, it returns none and that event instead (a gap, already counted and
  // repositioned as try_read does; a snapshot, copied; or empty).
  //
  // The bytes of a peeked message may be overwritten by the producer at any moment:
  // read them, copy or decode them, but trust nothing derived from them until confirm()
  // returns true. Lengths are already checked: each payload lies inside the ring.
  // confirm() then says whether every message of the last peek stayed intact until now:
  //  - true: they count as delivered and the reader moves past them;
  //  - false: discard everything derived from them; they never count as delivered, and
  //    the next read reports them (and whatever else was lost) as a gap.
  // confirm() answers only for the last call, if that was a peek that returned messages
  // (asked again, it gives the same answer). After anything else (try_read, read, seek,
  // reattach, another peek, or a peek that returned none) it returns false: the messages
  // of a peek given up that way were not delivered, and what was derived from them is
  // to be discarded.
  // A peek that is not confirmed is not delivered: the next peek or try_read returns the
  // same messages again.
  // Where peek cannot read in place (a reader's first message while its start may still
  // move, messages read from its archive while catching up, a record the producer
  // committed during the peek), it returns one message copied into the reader's buffer,
  // checked as try_read checks it. That one counts as delivered as it is copied;
  // confirm() says true for it, and until then the next peek or try_read returns it again.
  // Payloads stay addressable (the mapping lives as long as the Reader), but only
  // confirm() makes what was read from them trustworthy.
  struct Batch {
    std::size_t count = 0;  // messages written to `out`
    ReadResult event;       // when count == 0: the event met instead (status empty, gap or snapshot)
  };
  [[nodiscard]] Batch peek(std::span<Message> out) noexcept;
  [[nodiscard]] bool confirm() noexcept;

  // Resumes at `seq` in O(log n). True if seq is held at the moment of the call (or is head): the
  // next read delivers it unless the producer overwrites it first, which that read then
  // reports as a gap. False if seq is no longer held (older than the ring holds, or
  // inside a skipped run): the next read reports the gap. False, changing nothing, if
  // seq is later than head.
  bool seek(std::uint64_t seq) noexcept;

  [[nodiscard]] std::uint64_t position() const noexcept { return position_; }
  // Where the reader's span begins: delivered() + missed() == position() - start() (seeks
  // aside). Fixed at attach, except as StartAt explains for a start lost before the first event.
  [[nodiscard]] std::uint64_t start() const noexcept;
  [[nodiscard]] std::uint64_t delivered() const noexcept { return delivered_; }
  [[nodiscard]] std::uint64_t gaps() const noexcept { return gaps_; }
  [[nodiscard]] std::uint64_t missed() const noexcept { return missed_; }
  [[nodiscard]] std::uint64_t snapshots() const noexcept { return snapshots_; }
  // GapPolicy::snapshot: the reader lost its place and the newest snapshot is older than
  // what the ring holds, so it cannot rebuild from it: reads stay empty (the loss not yet
  // reported) until the producer publishes a newer one.
  [[nodiscard]] bool awaiting_newer_snapshot() const noexcept;

  [[nodiscard]] std::uint64_t head() const noexcept;    // producer's head, now
  // The oldest sequence safely held, now: with a sixteenth of the ring to spare while a
  // producer may write, the oldest held once the producer has closed the ring.
  [[nodiscard]] std::uint64_t oldest() const noexcept;
  [[nodiscard]] bool producer_alive() const noexcept;   // the producer's lock is held
  [[nodiscard]] pid_t producer_pid() const noexcept;    // last producer's pid (0: never had one)
  // The name no longer refers to the object this reader mapped (removed or recreated).
  [[nodiscard]] bool replaced() const noexcept;
  // After replaced(): waits with backoff until the name holds a valid ring again and
  // re-attaches this reader to it in place, with its options but starting at the oldest
  // message held (a new ring's sequences are unrelated to the old one's, so the counters
  // restart). False if it gave up or should_stop() returned true; the reader is unchanged.
  bool reattach(const Backoff& backoff = {}, const std::function<bool()>& should_stop = {});
  [[nodiscard]] bool registered() const noexcept { return entry_ != nullptr; }
  // A relay's far-side position, shown by `shmcast stat` (bridge out: last stream sequence acknowledged).
  void set_external_position(std::uint64_t position) noexcept;
  // Whether the reader is reading from its archive what the ring no longer holds, and why
  // the archive was given up, if it was (a damaged record: what it could not read is a
  // `corrupt` gap, and the reader reads on without the archive).
  [[nodiscard]] bool catching_up() const noexcept;
  [[nodiscard]] const std::string& archive_error() const noexcept;
  // Why registration failed (empty if registered or not asked for).
  [[nodiscard]] const std::string& registration_error() const noexcept;
  [[nodiscard]] const Geometry& geometry() const noexcept;
  [[nodiscard]] const std::string& name() const noexcept;
  [[nodiscard]] std::uint64_t ring_id() const noexcept;
  [[nodiscard]] std::uint64_t source_position() const noexcept;  // the producer's relay position

 private:
  struct Point {
    std::uint64_t seq;
    std::uint64_t position;
  };
  bool retake_start(std::uint64_t lost_until) noexcept;
  ReadResult read_slow_path() noexcept;
  ReadResult read_now() noexcept;  // try_read without standing back
  void drop_peek() noexcept;
  ReadResult hand_out_held_copy() noexcept;
  std::uint64_t stand_back_limit() noexcept;
  ReadResult read_record() noexcept;
  ReadResult resolve_position() noexcept;
  ReadResult on_lapped(std::uint64_t seq, std::uint64_t lost_until, std::optional<GapCause> cause = std::nullopt) noexcept;
  ReadResult report_gap(std::uint64_t first, Point next, std::optional<GapCause> cause = std::nullopt) noexcept;
  ReadResult relocate(std::uint64_t position) noexcept;
  [[nodiscard]] GapCause cause_of_loss(std::uint64_t seq) const noexcept;
  ReadResult take_snapshot(std::uint64_t from, bool at_start, std::optional<GapCause> cause = std::nullopt) noexcept;
  ReadResult deliver_pending_snapshot() noexcept;
  ReadResult wait_block(std::chrono::steady_clock::time_point deadline) noexcept;
  void open_archive(bool at_attach);
  bool enter_catch_up(std::uint64_t seq, ReadResult& first) noexcept;
  ReadResult read_catch_up() noexcept;
  void leave_catch_up(const std::string& error = {}) noexcept;
  [[nodiscard]] std::optional<Point> point_by_policy(bool latest, std::uint64_t lost_until) const noexcept;
  void deliver(std::uint64_t count, std::uint64_t next_seq, std::uint64_t next_position) noexcept;
  void publish_counters() noexcept;
  void touch_registry() noexcept;

  std::unique_ptr<detail::ReaderState> state_;
  // Hot-path pointers into state_ and the mapping (process-local: src/ring_view.hpp).
  const detail::RingView* view_ = nullptr;
  const detail::ProducerLine* line_ = nullptr;
  const detail::ReserveLine* reserve_ = nullptr;
  const detail::SequenceLine* sequence_ = nullptr;
  detail::ReaderEntry* entry_ = nullptr;
  std::byte* buffer_ = nullptr;  // the larger of max_message and snapshot capacity, in whole words, plus one word
  std::uint64_t position_ = 0;  // the next sequence
  std::uint64_t cursor_ = 0;    // where its record is (valid unless the slow path says it is to be found)
  std::uint64_t delivered_ = 0;
  std::uint64_t gaps_ = 0;
  std::uint64_t missed_ = 0;
  std::uint64_t snapshots_ = 0;
  std::uint64_t idle_polls_ = 0;
  // Line give-back (src/line_give_back.hpp): every data line below given_back_ was given
  // back or passed over; idle_polls_ as of the last delivery; the instruction (LineFlush).
  std::uint64_t given_back_ = 0;
  std::uint64_t idle_polls_at_delivery_ = 0;
  detail::LineFlush line_flush_{};
  std::uint64_t stand_back_bytes_ = 0;  // ReaderOptions::stand_back_bytes (its state is in ReaderState)
  // The last peek, until confirm(): how many, and where the chain goes on after them.
  std::uint64_t peeked_ = 0;
  std::uint64_t peeked_next_seq_ = 0;
  std::uint64_t peeked_next_position_ = 0;
  // A message the last peek returned copied (delivered already), handed out again by
  // the next peek or try_read until confirm(); it points into the reader's buffer, which
  // nothing rewrites while it is held.
  Message held_copy_{};
  bool holds_copy_ = false;
  // What confirm() answers when no in-place batch is pending: nothing to vouch for (also
  // after it said false, and after any read, seek or peek since), the held copy the last
  // peek returned (confirm() releases it), or true, said already.
  enum class Answer : std::uint8_t { none, held_copy, intact };
  Answer answer_ = Answer::none;
  GapPolicy on_gap_ = GapPolicy::oldest;
  WaitStrategy wait_ = WaitStrategy::block;
};

}  // namespace shmcast
