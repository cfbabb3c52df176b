// The read side of the stamp protocol (DESIGN.md). Expecting message n in its slot:
//   s1 = stamp (acquire)
//   s1 <  2n+1  not yet published, unless the producer jumped past n (then: a gap)
//   s1 == 2n+1  being written: nothing new yet
//   s1 == 2n+2  copy header and payload (relaxed atomic words) ; acquire fence ;
//               s2 = stamp (relaxed) ; s2 == s1: deliver ; else overwritten while copying: a gap
//   s1 >  2n+2  overwritten by a later lap: a gap
// The acquire fence keeps every copy load before the re-check, so an unchanged stamp
// proves no store of a later lap reached the words we copied.
#include <shmcast/clock.hpp>
#include <shmcast/reader.hpp>

#include "clock_internal.hpp"
#include "futex.hpp"
#include "layout.hpp"
#include "registry.hpp"
#include "segment.hpp"
#include "slot_io.hpp"
#include "test_hooks.hpp"

#include <sched.h>
#include <sys/stat.h>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SHMCAST_PAUSE() _mm_pause()
#else
#define SHMCAST_PAUSE() std::atomic_signal_fence(std::memory_order_seq_cst)
#endif

namespace shmcast {

namespace detail {

#ifdef SHMCAST_TEST_HOOKS
void (*g_mid_copy_hook)(std::uint64_t) = nullptr;
#endif

struct ReaderState {
  // The registry entry is released here, before the registry mapping below goes away,
  // and only by the state that owns it: a moved-from Reader has no state, so moving a
  // Reader (as reattach() does) keeps the new owner's entry claimed.
  ~ReaderState() {
    if (entry != nullptr) release_entry(entry);
  }
  std::string name;
  ReaderOptions options;
  Segment ring;
  std::optional<Registry> registry;
  ReaderEntry* entry = nullptr;  // Reader::entry_ caches it for the hot path
  Geometry geometry;
  RingHeader header{};
  std::string registration_error;
  std::vector<std::uint64_t> buffer;  // word-aligned copy target for payloads and snapshots
  const SnapshotControl* snapshot = nullptr;
  const std::byte* snapshot_area = nullptr;
  std::uint64_t stale_snapshot_stamp = 0;  // the stamp of a snapshot already found too old
  dev_t device = 0;
  ino_t inode = 0;
  bool want_snapshot = false;  // StartAt::snapshot, not yet served
  // A snapshot copied into the buffer whose gap has been reported: delivered next.
  bool snapshot_pending = false;
  std::uint64_t pending_as_of = 0;
  std::uint64_t pending_length = 0;
};

// A copy of the newest snapshot, valid if its stamp stayed below 2k+3 while copying.
struct SnapshotCopy {
  std::uint64_t stamp = 0;
  std::uint64_t as_of = 0;
  std::uint64_t length = 0;
};

namespace {

inline constexpr std::uint64_t kEventsPerActivityStamp = 4096;
inline constexpr std::uint64_t kIdlePollsPerActivityStamp = 1024;

// Re-positioning "oldest" keeps this many slots between the reader and the producer
// so that a reader that just fell behind does not land on the slot being overwritten.
std::uint64_t safety_margin(std::uint64_t slot_count) noexcept { return std::max<std::uint64_t>(1, slot_count / 16); }

std::optional<SnapshotCopy> copy_snapshot(const ReaderState& s, std::byte* buffer) noexcept {
  if (s.snapshot == nullptr) return std::nullopt;
  for (int attempt = 0; attempt < 64; ++attempt) {
    const std::uint64_t s1 = s.snapshot->stamp.load(std::memory_order_acquire);
    const std::uint64_t k = s1 / 2;
    if (k == 0) return std::nullopt;
    const std::uint64_t b = (k - 1) & 1;
    SnapshotCopy c{s1, s.snapshot->as_of[b].load(std::memory_order_relaxed),
                   s.snapshot->length[b].load(std::memory_order_relaxed)};
    if (c.length > s.geometry.snapshot_capacity) return std::nullopt;  // corrupt: never read past the area
    load_words(buffer, s.snapshot_area + b * s.header.snapshot_stride, c.length);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.snapshot->stamp.load(std::memory_order_relaxed) < 2 * k + 3) return c;
  }
  return std::nullopt;
}

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
  populate(s.ring, /*writable=*/false);
  struct stat st {};
  if (::fstat(s.ring.fd(), &st) == 0) {
    s.device = st.st_dev;
    s.inode = st.st_ino;
  }
  const std::uint64_t words = (std::max<std::uint64_t>(s.geometry.payload_capacity(), s.geometry.snapshot_capacity) + 7) / 8 + 1;
  s.buffer.assign(words, 0);
  buffer_ = reinterpret_cast<std::byte*>(s.buffer.data());

  const auto* prefix = reinterpret_cast<const RingPrefix*>(s.ring.base());
  slots_ = s.ring.base() + kRingHeaderSize;
  line_ = &prefix->producer;
  sequence_ = &prefix->sequence;
  if (s.geometry.snapshot_capacity != 0) {
    s.snapshot = &prefix->snapshot;
    s.snapshot_area = s.ring.base() + s.header.snapshot_offset;
  }
  slot_count_ = s.geometry.slot_count;
  const SlotOrder order = SlotOrder::of(slot_count_, s.geometry.slot_size);
  mask_ = order.mask;
  lane_shift_ = order.lane_shift;
  slot_size_ = s.geometry.slot_size;
  payload_capacity_ = s.geometry.payload_capacity();
  on_gap_ = options.on_gap;
  wait_ = options.wait;

  switch (options.start) {
    case StartAt::latest: position_ = head(); break;
    case StartAt::oldest: position_ = oldest(); break;
    case StartAt::sequence: position_ = options.start_seq; break;
    case StartAt::snapshot:
      position_ = oldest();
      s.want_snapshot = true;
      break;
  }

  // The registry serves blocking waits even for a reader that does not register.
  s.registry = open_registry(name, s.header.ring_id, /*writable=*/true, s.registration_error);
  if (s.registry && options.register_reader) {
    entry_ = s.entry = claim_entry(*s.registry, options.label, position_);
    if (entry_ == nullptr) s.registration_error = "all " + std::to_string(kRegistryEntries) + " reader entries are in use";
  }
  if (!options.register_reader) s.registration_error.clear();
  calibrate_clock();  // here, not in the first idle activity stamp (touch_registry)
}

Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

Reader::~Reader() = default;

std::uint64_t Reader::head() const noexcept { return line_->head.load(std::memory_order_acquire); }

std::uint64_t Reader::oldest() const noexcept {
  const std::uint64_t h = head();
  const std::uint64_t margin = safety_margin(slot_count_);
  const std::uint64_t by_window = h + margin > slot_count_ ? h + margin - slot_count_ : 0;
  return std::max(by_window, sequence_->first_seq.load(std::memory_order_relaxed));
}

bool Reader::producer_alive() const noexcept { return producer_lock_held(state_->ring.fd()); }
pid_t Reader::producer_pid() const noexcept { return static_cast<pid_t>(line_->pid.load(std::memory_order_relaxed)); }
const std::string& Reader::registration_error() const noexcept { return state_->registration_error; }
const Geometry& Reader::geometry() const noexcept { return state_->geometry; }
const std::string& Reader::name() const noexcept { return state_->name; }
std::uint64_t Reader::ring_id() const noexcept { return state_->header.ring_id; }
std::uint64_t Reader::source_position() const noexcept { return line_->source_position.load(std::memory_order_acquire); }

bool Reader::replaced() const noexcept {
  struct stat st {};
  if (::stat(object_path(ring_object_name(state_->name)).c_str(), &st) != 0) return true;
  return st.st_ino != state_->inode || st.st_dev != state_->device;
}

void Reader::set_external_position(std::uint64_t position) noexcept {
  if (entry_ != nullptr) entry_->external_position.store(position, std::memory_order_relaxed);
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
    } catch (const Error& e) {
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
  state_->want_snapshot = false;
  state_->snapshot_pending = false;
  publish_counters();
  return seq >= oldest() || seq == h;
}

void Reader::publish_counters() noexcept {
  if (entry_ == nullptr) return;
  entry_->position.store(position_, std::memory_order_relaxed);
  entry_->delivered.store(delivered_, std::memory_order_relaxed);
  entry_->gaps.store(gaps_, std::memory_order_relaxed);
  entry_->missed.store(missed_, std::memory_order_relaxed);
  entry_->snapshots.store(snapshots_, std::memory_order_relaxed);
}

void Reader::touch_registry() noexcept {
  if (entry_ == nullptr) return;
  publish_counters();
  entry_->last_active_ns.store(now_ns(), std::memory_order_relaxed);
}

[[gnu::always_inline]] inline const std::byte* Reader::slot_at(std::uint64_t seq) const noexcept {
  return slots_ + SlotOrder{mask_, lane_shift_}.index(seq) * slot_size_;
}

ReadResult Reader::try_read() noexcept {
  if (state_->want_snapshot || state_->snapshot_pending) [[unlikely]] {
    if (state_->snapshot_pending) return deliver_pending_snapshot();
    state_->want_snapshot = false;
    ReadResult r = take_snapshot(position_, /*at_start=*/true);
    if (r) return r;
  }
  const std::uint64_t seq = position_;
  const std::byte* slot = slot_at(seq);
  const auto* h = reinterpret_cast<const SlotHeader*>(slot);
  const std::uint64_t s1 = h->stamp.load(std::memory_order_acquire);
  if (s1 == stamp_committed(seq)) [[likely]] {
    const std::uint64_t length_type = h->length_type.load(std::memory_order_relaxed);
    const std::uint64_t timestamp = h->timestamp_ns.load(std::memory_order_relaxed);
    const auto length = static_cast<std::uint32_t>(length_type);
    // Bounded by the slot's capacity whatever the slot says: never read past it.
    const std::size_t copy = length <= payload_capacity_ ? length : 0;
    load_payload(buffer_, slot + kSlotHeaderSize, copy);
    SHMCAST_MID_COPY_HOOK(seq);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (h->stamp.load(std::memory_order_relaxed) != s1) return on_lapped(seq);  // overwritten while copying
    if (length > payload_capacity_) [[unlikely]] {
      // A skip record: [seq, target) were skipped by a producer that jumped ahead.
      if (length == kSkipRecordLength && timestamp > seq) return report_gap(seq, timestamp);
      return report_gap(seq, seq + 1);  // a slot claiming more than it holds is corrupt: drop it, counted
    }
    position_ = seq + 1;
    ++delivered_;
    if (entry_ != nullptr) {
      entry_->position.store(position_, std::memory_order_relaxed);
      entry_->delivered.store(delivered_, std::memory_order_relaxed);
      if (delivered_ % kEventsPerActivityStamp == 0) entry_->last_active_ns.store(timestamp, std::memory_order_relaxed);
    }
    ReadResult r;
    r.status = ReadStatus::message;
    r.message = Message{seq, static_cast<std::uint32_t>(length_type >> 32), timestamp, {buffer_, copy}};
    return r;
  }
  if (s1 <= stamp_writing(seq)) {
    // Waiting for message seq. A two-line slot (41-104 byte payloads) has its second line
    // written before its stamp commits: asking for that line while polling lets its
    // transfer overlap the stamp line's instead of following it (same-run rtt/2 p50 at
    // 64 B: 283-287 -> 221-225 ns). With more lines per slot it made the tail worse
    // (p99 at 256 B: 0.6 -> 4.2 us). A prefetch only starts a fetch; it never waits or faults.
    if (slot_size_ == 128) __builtin_prefetch(slot + 64, 0, 3);
    return s1 == stamp_writing(seq) ? ReadResult{} : on_vacant(seq);
  }
  return on_lapped(seq);
}

ReadResult Reader::on_vacant(std::uint64_t seq) noexcept {
  if (++idle_polls_ % kIdlePollsPerActivityStamp == 0) touch_registry();
  // The common idle path: the producer has not jumped past seq, so it is simply not yet published.
  if (sequence_->jump_seq.load(std::memory_order_acquire) <= seq) return {};
  // The producer jumped past seq. The first sequence of a jump carries a skip record; a
  // slot still vacant after the acquire above lies inside a skipped run (a reader that
  // sought there) or was skipped a lap ago: a gap, repositioned by the policy.
  const auto* h = reinterpret_cast<const SlotHeader*>(slot_at(seq));
  if (h->stamp.load(std::memory_order_acquire) >= stamp_writing(seq)) return {};  // it arrived meanwhile
  return on_lapped(seq);
}

ReadResult Reader::on_lapped(std::uint64_t seq) noexcept {
  if (on_gap_ == GapPolicy::snapshot && state_->snapshot != nullptr &&
      state_->snapshot->stamp.load(std::memory_order_acquire) != 0) {
    return take_snapshot(seq, /*at_start=*/false);
  }
  std::uint64_t next = on_gap_ == GapPolicy::latest ? head() : oldest();
  if (next <= seq) next = seq + 1;
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
// messages after it are still held: a lapped reader first gets the gap (the sequences
// the snapshot covers were not delivered one by one, so they count as missed and
// delivered + missed == span still holds), then the snapshot, then the messages from
// its as_of on. A reader starting from a snapshot gets it with no gap: its span starts
// there. A snapshot already overwritten is not delivered: the reader waits (reads stay
// empty) for the next one.
ReadResult Reader::take_snapshot(std::uint64_t from, bool at_start) noexcept {
  ReaderState& s = *state_;
  const std::uint64_t stamp = s.snapshot ? s.snapshot->stamp.load(std::memory_order_acquire) : 0;
  if (stamp == 0) {  // no snapshot published yet: behave as `oldest`
    const std::uint64_t next = std::max(oldest(), from);
    if (next == from) return {};
    return report_gap(from, next);
  }
  if (stamp == s.stale_snapshot_stamp) return {};
  const std::optional<SnapshotCopy> copy = copy_snapshot(s, buffer_);
  if (!copy) return {};  // being rewritten faster than we copy: try again on the next read
  if ((!at_start && copy->as_of < from) || copy->as_of < oldest()) {
    s.stale_snapshot_stamp = copy->stamp;
    return {};
  }
  s.pending_as_of = copy->as_of;
  s.pending_length = copy->length;
  s.snapshot_pending = true;
  if (at_start || copy->as_of == from) {
    position_ = copy->as_of;
    return deliver_pending_snapshot();
  }
  return report_gap(from, copy->as_of);
}

ReadResult Reader::deliver_pending_snapshot() noexcept {
  ReaderState& s = *state_;
  s.snapshot_pending = false;
  ++snapshots_;
  publish_counters();
  ReadResult r;
  r.status = ReadStatus::snapshot;
  r.snapshot = Snapshot{s.pending_as_of, {buffer_, static_cast<std::size_t>(s.pending_length)}};
  return r;
}

ReadResult Reader::read(std::chrono::nanoseconds timeout) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  constexpr int kSpinPolls = 256;
  // A blocking reader spins briefly before it sleeps, and yields the CPU every 32 polls of
  // that spin. Readers sharing its CPU cannot run while it spins, and with messages coming
  // faster than the spin lasts it would never sleep: they would wait out the scheduler's
  // time slice (2 and 4 blocking readers on one CPU, a message every 2 us: p50 55 and
  // 290 us; with the yields 6 and 19 us). Alone on its CPU the yield returns at once but
  // is a syscall inside the spin: paced p50 there went from 0.3 to 1 us, which a reader
  // that chose to sleep can afford. Detecting a shared CPU instead (preemption gaps, a
  // count of waiters) was tried: it either missed the starvation or fired on housekeeping.
  constexpr int kPollsPerYield = 32;
  for (std::uint64_t polls = 0;; ++polls) {
    if (ReadResult r = try_read()) return r;
    if (wait_ == WaitStrategy::block && polls >= kSpinPolls) return wait_block(deadline);
    const bool yield = wait_ == WaitStrategy::spin_yield ? polls >= kSpinPolls * 8
                                                         : wait_ == WaitStrategy::block && polls % kPollsPerYield == kPollsPerYield - 1;
    if (yield) ::sched_yield();
    else SHMCAST_PAUSE();
    if (polls % 256 == 255 && std::chrono::steady_clock::now() >= deadline) return {};
  }
}

ReadResult Reader::wait_block(std::chrono::steady_clock::time_point deadline) noexcept {
  ReaderState& s = *state_;
  // No wait line to announce ourselves on: poll gently instead. A reader without a
  // registry entry still sleeps on the futex: the producer clears `armed` when it wakes,
  // so one that dies asleep costs one FUTEX_WAKE, not one per publish. It is not counted
  // in `waiters`, though: nothing could take a dead one's count back (a registered
  // reader's is taken back when its entry is reaped or reclaimed), and `stat` does not
  // list unregistered readers either.
  if (!s.registry) {
    for (;;) {
      if (ReadResult r = try_read()) return r;
      if (std::chrono::steady_clock::now() >= deadline) return {};
      timespec pause{0, 50'000};
      ::nanosleep(&pause, nullptr);
    }
  }
  auto& waiters = s.registry->wait_line()->waiters;
  for (;;) {
    // The reader's half of the sleep/wake handshake (futex.hpp).
    if (entry_ != nullptr) {
      waiters.fetch_add(1, std::memory_order_relaxed);
      entry_->flags.fetch_or(kReaderWaiting, std::memory_order_relaxed);
    }
    s.registry->wait_line()->armed.store(1, std::memory_order_seq_cst);
    heavy_fence((line_->flags.load(std::memory_order_relaxed) & kProducerFullFence) != 0);
    const std::uint32_t word = line_->wake_word.load(std::memory_order_acquire);
    ReadResult r = try_read();
    if (!r) {
      const auto now = std::chrono::steady_clock::now();
      if (now < deadline) {
        // Capped so that a wake lost to a failing membarrier costs at most this much.
        const auto slice = std::min<std::chrono::nanoseconds>(deadline - now, std::chrono::milliseconds(100));
        timespec ts{static_cast<time_t>(slice.count() / 1'000'000'000), static_cast<long>(slice.count() % 1'000'000'000)};
        futex_wait(&line_->wake_word, word, &ts);
      }
    }
    if (entry_ != nullptr) {
      entry_->flags.fetch_and(~kReaderWaiting, std::memory_order_relaxed);
      waiters.fetch_sub(1, std::memory_order_relaxed);
    }
    if (r) return r;
    if (ReadResult again = try_read()) return again;
    if (std::chrono::steady_clock::now() >= deadline) {
      touch_registry();
      return {};
    }
  }
}

}  // namespace shmcast
