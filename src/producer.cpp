// The write side of the stamp protocol (DESIGN.md):
//   stamp = 2n+1 (relaxed) ; release fence ; header words and payload (relaxed atomic words) ;
//   stamp = 2n+2 (release) ; head = n+1 (release)
// The release fence keeps every payload store after the odd stamp; the release store of
// the even stamp keeps them all before it. A reader that sees 2n+2 both before and after
// its copy therefore copied message n whole.
#include <shmcast/clock.hpp>
#include <shmcast/producer.hpp>

#include "clock_internal.hpp"
#include "futex.hpp"
#include "layout.hpp"
#include "registry.hpp"
#include "segment.hpp"
#include "slot_io.hpp"
#include "test_hooks.hpp"

#include <boost/interprocess/shared_memory_object.hpp>

#include <algorithm>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace bip = boost::interprocess;

namespace shmcast {

namespace detail {

// Prefetching the slot a few ahead hides the cost of re-acquiring lines that keeping-up
// readers just read (DESIGN.md: about 4 is best; 16 hurt). `__builtin_prefetch(p, 1, 3)`
// is a plain `prefetcht0` for the generic x86-64 target (no -mprfchw). An explicit
// `prefetchw`, which asks for the line exclusive, was slower: same-run A/B on the EPYC VM,
// slower placement, K=1, three rounds: 64 B 23-27 -> 19 M msg/s, 256 B 11-16 -> 8.5 M,
// 1 KiB and up even.
inline constexpr std::uint64_t kPrefetchDistance = 4;
// Slots of up to this many lines (payloads up to 2088 bytes) are prefetched whole: every
// line a keeping-up reader holds is asked back ahead of the stores, not only the first few.
// Same-run A/B on the 2-vCPU EPYC, slower placement, K=1, three rounds, against the first 4
// lines: 1 KiB 3.2-3.9 -> 4.0-4.1 M msg/s, 2 KiB 2.17-2.18 -> 2.81-2.86 M, 64-512 B and
// round trips within the spread; with the interleaved slot order (layout.hpp) too: 1 KiB
// 5.1-5.2 -> 5.7 M, 2 KiB 2.6-2.8 -> 3.1 M. Larger slots keep kStreamPrefetchLines: the
// whole 65-line slot of a 4 KiB message, 4, 2 or 1 slot ahead, gave 1.7-1.8 M against
// 2.1-2.2 M (too many fetches in flight); their `rep movsb` stores and the hardware
// prefetcher stream.
inline constexpr std::uint32_t kWholeSlotPrefetchLines = 33;
inline constexpr std::uint32_t kStreamPrefetchLines = 4;

#ifdef SHMCAST_TEST_HOOKS
void (*g_mid_publish_hook)(std::uint64_t) = nullptr;
#endif

struct ProducerState {
  std::string name;
  Segment ring;
  std::optional<Registry> registry;
  Geometry geometry;
  std::uint64_t ring_id = 0;
  RingPrefix* prefix = nullptr;
  std::atomic<std::uint32_t> no_waiters{0};  // stands in for the wait line if there is no registry

  [[nodiscard]] SlotHeader* slot(std::uint64_t seq) const noexcept {
    return reinterpret_cast<SlotHeader*>(ring.base() + slot_offset(geometry.slot_count, geometry.slot_size, seq));
  }
};

namespace {

void claim_producer_identity(RingPrefix* prefix, bool& full_fence) {
  ProducerLine& line = prefix->producer;
  full_fence = !register_for_heavy_fence();
  line.pid.store(static_cast<std::uint32_t>(::getpid()), std::memory_order_relaxed);
  line.start_time.store(process_start_time(::getpid()), std::memory_order_relaxed);
  line.flags.store(full_fence ? kProducerFullFence : 0, std::memory_order_release);
}

// A predecessor may have died anywhere inside a publish. Committed slots at or past
// head (it died before advancing head, or inside a jump's skip records) are kept and
// head moves past them; a slot left "being written" is made vacant, so that readers
// waiting for it see "not yet" and readers of its previous lap see "overwritten".
// A ring stuck "not ready" whose producer lock nobody holds: its creator (which takes the
// lock right after creating the object) died before storing the magic.
bool creation_abandoned(std::string_view name) {
  try {
    bip::shared_memory_object object(bip::open_only, ring_object_name(name).c_str(), bip::read_only);
    return !producer_lock_held(object.get_mapping_handle().handle);
  } catch (const bip::interprocess_exception&) {
    return false;
  }
}

std::uint64_t recover_head(ProducerState& s) {
  ProducerLine& line = s.prefix->producer;
  std::uint64_t seq = std::max(line.head.load(std::memory_order_acquire),
                               s.prefix->sequence.jump_seq.load(std::memory_order_acquire));
  for (std::uint64_t i = 0; i < s.geometry.slot_count; ++i, ++seq) {
    SlotHeader* h = s.slot(seq);
    const std::uint64_t stamp = h->stamp.load(std::memory_order_acquire);
    if (stamp == stamp_committed(seq)) {
      // A skip record: the predecessor died inside a jump; finish it.
      const std::uint64_t target = h->timestamp_ns.load(std::memory_order_relaxed);
      if (h->length_type.load(std::memory_order_relaxed) == kSkipRecordLength && target > seq + 1) {
        s.prefix->sequence.jump_seq.store(target, std::memory_order_release);
        seq = target - 1;  // the loop's ++seq lands on target
      }
      continue;
    }
    if (stamp == stamp_writing(seq)) h->stamp.store(stamp_vacant(seq), std::memory_order_release);
    break;
  }
  line.head.store(seq, std::memory_order_release);
  return seq;
}

}  // namespace
}  // namespace detail

using namespace detail;

Producer::Producer(std::unique_ptr<ProducerState> state) : state_(std::move(state)) {
  RingPrefix* prefix = state_->prefix;
  slots_ = state_->ring.base() + kRingHeaderSize;
  line_ = &prefix->producer;
  armed_ = state_->registry ? &state_->registry->wait_line()->armed : &state_->no_waiters;
  const SlotOrder order = SlotOrder::of(state_->geometry.slot_count, state_->geometry.slot_size);
  mask_ = order.mask;
  lane_shift_ = order.lane_shift;
  slot_size_ = state_->geometry.slot_size;
  payload_capacity_ = state_->geometry.payload_capacity();
  head_ = line_->head.load(std::memory_order_relaxed);
  published_ = line_->published.load(std::memory_order_relaxed);
  published_bytes_ = line_->published_bytes.load(std::memory_order_relaxed);
  full_fence_ = (line_->flags.load(std::memory_order_relaxed) & kProducerFullFence) != 0;
  calibrate_clock();  // here, not in the first publish(kNow)
}

Producer::Producer(Producer&&) noexcept = default;
Producer& Producer::operator=(Producer&&) noexcept = default;
Producer::~Producer() = default;

Producer Producer::create(std::string_view name, const Geometry& geometry, const CreateOptions& options) {
  validate_name(name);
  check_geometry(geometry, name);
  if (options.replace) remove(name);
  auto s = std::make_unique<ProducerState>();
  s->name = std::string(name);
  s->geometry = geometry;
  s->ring_id = random_u64();
  const std::string object_name = ring_object_name(name);
  const std::uint64_t size = ring_size(geometry);
  // 1. create exclusively, sized and committed; 2. lock; 3. every field; 4. magic last.
  s->ring = create_object(object_name, size, options.mode, name);
  populate(s->ring, /*writable=*/true);
  try {
    if (!try_lock_producer(s->ring.fd())) throw Error(Errc::producer_active, "ring '" + s->name + "': cannot lock a ring just created");
    s->prefix = reinterpret_cast<RingPrefix*>(s->ring.base());
    RingHeader& h = s->prefix->header;
    h.version = kLayoutVersion;
    h.header_size = static_cast<std::uint32_t>(kRingHeaderSize);
    h.slot_count = geometry.slot_count;
    h.slot_size = geometry.slot_size;
    h.payload_capacity = geometry.payload_capacity();
    h.snapshot_capacity = geometry.snapshot_capacity;
    h.total_size = size;
    h.creation_time_ns = realtime_ns();
    h.ring_id = s->ring_id;
    h.slots_offset = kRingHeaderSize;
    h.snapshot_offset = geometry.snapshot_capacity ? kRingHeaderSize + geometry.slot_count * geometry.slot_size : 0;
    h.snapshot_stride = snapshot_stride(geometry.snapshot_capacity);
    bool full_fence = false;
    claim_producer_identity(s->prefix, full_fence);
    s->registry = create_registry(name, s->ring_id, options.mode);
    // Release: a reader that sees the magic sees every field above (and the registry).
    std::atomic_ref<std::uint64_t>(h.magic).store(kRingMagic, std::memory_order_release);
  } catch (...) {
    bip::shared_memory_object::remove(object_name.c_str());
    throw;
  }
  return Producer(std::move(s));
}

Producer Producer::open(std::string_view name) {
  OpenedRing opened = open_ring(name, /*writable=*/true, std::chrono::milliseconds(2000));
  auto s = std::make_unique<ProducerState>();
  s->name = std::string(name);
  s->geometry = opened.geometry;
  s->ring_id = opened.header.ring_id;
  s->ring = std::move(opened.segment);
  s->prefix = reinterpret_cast<RingPrefix*>(s->ring.base());
  if (!try_lock_producer(s->ring.fd())) {
    const auto pid = s->prefix->producer.pid.load(std::memory_order_relaxed);
    throw Error(Errc::producer_active, "ring '" + s->name + "' already has a live producer (pid " + std::to_string(pid) +
                                           "); a ring has one producer: stop that one first");
  }
  populate(s->ring, /*writable=*/true);
  recover_head(*s);
  std::string why;
  s->registry = open_registry(name, s->ring_id, /*writable=*/true, why);
  if (!s->registry) {
    struct stat st {};
    const unsigned mode = ::fstat(s->ring.fd(), &st) == 0 ? (st.st_mode & 0777) : 0600;
    s->registry = create_registry(name, s->ring_id, mode);
  }
  bool full_fence = false;
  claim_producer_identity(s->prefix, full_fence);
  s->prefix->producer.takeovers.fetch_add(1, std::memory_order_relaxed);
  return Producer(std::move(s));
}

Producer Producer::open_or_create(std::string_view name, const Geometry& geometry, const CreateOptions& options,
                                  ExistingRing existing) {
  for (int attempt = 0;; ++attempt) {
    try {
      Producer p = open(name);
      if (existing == ExistingRing::must_match && p.geometry() != geometry)
        throw Error(Errc::geometry_mismatch,
                    "ring '" + std::string(name) + "' exists with " + std::to_string(p.geometry().slot_count) + " slots of " +
                        std::to_string(p.geometry().slot_size) + " bytes (snapshot " +
                        std::to_string(p.geometry().snapshot_capacity) + "), not the geometry asked for; use it as it is or "
                        "replace it with `shmcast create --force`");
      return p;
    } catch (const Error& e) {
      if (e.code() == Errc::not_ready && creation_abandoned(name)) {
        remove(name);
      } else if (e.code() != Errc::not_found) {
        throw;
      }
    }
    try {
      return create(name, geometry, options);
    } catch (const Error& e) {
      if (e.code() != Errc::already_exists || attempt > 3) throw;  // lost a race to another creator
    }
  }
}

bool Producer::remove(std::string_view name) {
  validate_name(name);
  const bool ring = bip::shared_memory_object::remove(ring_object_name(name).c_str());
  const bool registry = bip::shared_memory_object::remove(registry_object_name(name).c_str());
  return ring || registry;
}

const Geometry& Producer::geometry() const noexcept { return state_->geometry; }
const std::string& Producer::name() const noexcept { return state_->name; }
std::uint64_t Producer::ring_id() const noexcept { return state_->ring_id; }

void Producer::throw_too_large(std::size_t size) const {
  throw Error(Errc::message_too_large, "ring '" + state_->name + "': message of " + std::to_string(size) +
                                           " bytes exceeds the slot payload capacity of " +
                                           std::to_string(payload_capacity_) +
                                           " bytes; nothing was written (recreate the ring with a larger --slot-size)");
}

// Inline: publish computes two slot addresses, one for the message and one to prefetch.
[[gnu::always_inline]] inline std::byte* Producer::slot_at(std::uint64_t seq) const noexcept {
  return slots_ + SlotOrder{mask_, lane_shift_}.index(seq) * slot_size_;
}

std::byte* Producer::begin_write(std::uint64_t seq, std::size_t size, std::uint32_t type, std::uint64_t timestamp_ns) noexcept {
  std::byte* slot = slot_at(seq);
  auto* h = reinterpret_cast<SlotHeader*>(slot);
  h->stamp.store(stamp_writing(seq), std::memory_order_relaxed);
  // No store below may become visible before the odd stamp (Boehm's writer fence).
  std::atomic_thread_fence(std::memory_order_release);
  h->length_type.store(static_cast<std::uint64_t>(size) | (static_cast<std::uint64_t>(type) << 32), std::memory_order_relaxed);
  h->timestamp_ns.store(timestamp_ns, std::memory_order_relaxed);
  return slot;
}

void Producer::end_write(std::uint64_t seq, std::size_t size, std::byte* slot) noexcept {
  auto* h = reinterpret_cast<SlotHeader*>(slot);
  h->stamp.store(stamp_committed(seq), std::memory_order_release);
  head_ = seq + 1;
  ++published_;
  published_bytes_ += size;
  line_->head.store(head_, std::memory_order_release);
  line_->published.store(published_, std::memory_order_relaxed);
  line_->published_bytes.store(published_bytes_, std::memory_order_relaxed);
  line_->last_publish_ns.store(h->timestamp_ns.load(std::memory_order_relaxed), std::memory_order_relaxed);
  // Every line of the slot, not just its first: a 64-byte message takes a 128-byte slot,
  // and its second line is re-acquired from the readers just as the first is.
  {
    const std::byte* ahead = slot_at(head_ + kPrefetchDistance);
    const std::uint32_t slot_lines = slot_size_ / kCacheLine;
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
  if (armed_->load(std::memory_order_relaxed) != 0) [[unlikely]]
    wake_readers();
}

void Producer::wake_readers() noexcept {
  // A reader that arms after this exchange makes the next publish wake it; one that armed
  // before it and loads the bumped wake word below also sees this commit (the bump is a
  // release after it), so it does not sleep on a word nobody will change.
  if (armed_->exchange(0, std::memory_order_acq_rel) == 0) return;
  line_->wake_word.fetch_add(1, std::memory_order_release);
  futex_wake_all(&line_->wake_word);
  ++wakeups_;
}

std::uint64_t Producer::publish(std::span<const std::byte> payload, std::uint32_t type, std::uint64_t timestamp_ns) {
  if (payload.size() > payload_capacity_) [[unlikely]]
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
  SequenceLine& line = state_->prefix->sequence;
  const std::uint64_t from = head_;
  if (published_ == 0) line.first_seq.store(seq, std::memory_order_relaxed);
  // One skip record, in the slot of the first skipped sequence: the one a keeping-up
  // reader waits on. It says "skipped up to seq", so that reader reports the whole run
  // as one gap; it overwrites only the oldest message, as a publish would. A reader that
  // is elsewhere inside the run finds its slot vacant with jump_seq past it: a gap too.
  std::byte* slot = begin_write(from, 0, 0, seq);
  reinterpret_cast<SlotHeader*>(slot)->length_type.store(kSkipRecordLength, std::memory_order_relaxed);
  reinterpret_cast<SlotHeader*>(slot)->stamp.store(stamp_committed(from), std::memory_order_release);
  line.skipped.fetch_add(seq - from, std::memory_order_relaxed);
  // Release: a reader that sees jump_seq > n and then a vacant slot n knows n was skipped.
  line.jump_seq.store(seq, std::memory_order_release);
  head_ = seq;
}

void Producer::skip_to(std::uint64_t seq) {
  if (seq < head_)
    throw Error(Errc::invalid_argument, "ring '" + state_->name + "': skip_to(" + std::to_string(seq) +
                                            ") is below head " + std::to_string(head_) + "; sequences only increase");
  if (seq == head_) return;
  jump_to(seq);
  line_->head.store(head_, std::memory_order_release);
  wake_if_armed();
}

std::uint64_t Producer::publish_at(std::uint64_t seq, std::span<const std::byte> payload, std::uint32_t type,
                                   std::uint64_t timestamp_ns) {
  if (seq < head_)
    throw Error(Errc::invalid_argument, "ring '" + state_->name + "': publish_at(" + std::to_string(seq) +
                                            ") is below head " + std::to_string(head_) + "; sequences only increase");
  if (payload.size() > payload_capacity_) [[unlikely]]
    throw_too_large(payload.size());
  if (seq > head_) jump_to(seq);
  return publish(payload, type, timestamp_ns);
}

Producer::Claim Producer::claim(std::size_t size, std::uint32_t type, std::uint64_t timestamp_ns) {
  if (size > payload_capacity_) [[unlikely]]
    throw_too_large(size);
  if (timestamp_ns == kNow) timestamp_ns = now_ns();
  const std::uint64_t seq = head_;
  return Claim(this, begin_write(seq, size, type, timestamp_ns), seq, size);
}

void Producer::abandon(std::uint64_t seq, std::byte* slot) noexcept {
  reinterpret_cast<SlotHeader*>(slot)->stamp.store(stamp_vacant(seq), std::memory_order_release);
}

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
  auto* h = reinterpret_cast<SlotHeader*>(slot_);
  if (length != size_) {
    const std::uint64_t type_bits = h->length_type.load(std::memory_order_relaxed) & ~std::uint64_t{0xFFFF'FFFF};
    h->length_type.store(type_bits | length, std::memory_order_relaxed);
  }
  owner->end_write(seq_, length, slot_);
  return seq_;
}

void Producer::publish_snapshot(std::span<const std::byte> state) {
  const Geometry& g = state_->geometry;
  if (g.snapshot_capacity == 0)
    throw Error(Errc::invalid_argument, "ring '" + state_->name +
                                            "' has no snapshot area; recreate it with --snapshot-size");
  if (state.size() > g.snapshot_capacity)
    throw Error(Errc::message_too_large, "ring '" + state_->name + "': snapshot of " + std::to_string(state.size()) +
                                             " bytes exceeds the snapshot capacity of " + std::to_string(g.snapshot_capacity) +
                                             " bytes; nothing was written");
  SnapshotControl& ctl = state_->prefix->snapshot;
  const std::uint64_t completed = ctl.stamp.load(std::memory_order_relaxed) / 2;
  const std::uint64_t buffer = completed & 1;  // snapshot completed+1 goes to buffer completed & 1
  ctl.stamp.store(2 * completed + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  std::byte* area = state_->ring.base() + state_->prefix->header.snapshot_offset + buffer * state_->prefix->header.snapshot_stride;
  store_words(area, state.data(), state.size());
  ctl.as_of[buffer].store(head_, std::memory_order_relaxed);
  ctl.length[buffer].store(state.size(), std::memory_order_relaxed);
  ctl.published_ns[buffer].store(now_ns(), std::memory_order_relaxed);
  ctl.stamp.store(2 * completed + 2, std::memory_order_release);
}

std::size_t Producer::reader_count() const {
  if (!state_->registry) return 0;
  std::uint32_t live = 0;
  reap_dead_entries(*state_->registry, &live);
  return live;
}

void Producer::set_source_position(std::uint64_t position) noexcept {
  line_->source_position.store(position, std::memory_order_release);
}

void Producer::set_source_status(const SourceStatus& status) noexcept {
  RelayLine& relay = state_->prefix->relay;
  relay.source_head.store(status.head, std::memory_order_relaxed);
  relay.source_gaps.store(status.gaps, std::memory_order_relaxed);
  relay.source_missed.store(status.missed, std::memory_order_relaxed);
}

SourceStatus Producer::source_status() const noexcept {
  const RelayLine& relay = state_->prefix->relay;
  return {relay.source_head.load(std::memory_order_relaxed), relay.source_gaps.load(std::memory_order_relaxed),
          relay.source_missed.load(std::memory_order_relaxed)};
}

std::uint64_t Producer::source_position() const noexcept { return line_->source_position.load(std::memory_order_relaxed); }

}  // namespace shmcast
