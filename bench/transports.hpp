// The transports the harness compares, the first three in POSIX shared memory, behind one small
// interface that the producer/reader loops in roles.cpp are written against:
//
//   Tx: std::byte* buffer()                  where the producer builds the next payload
//       void send(size_t len, u64 ts)        publish it to every reader
//       void finish()                        after the last send (wake sleeping readers)
//   Rx: Poll poll(Got&)                      non-blocking: a message, nothing, or a gap
//       Poll wait(Got&, nanoseconds)         by the wait strategy, up to a timeout
//       u64 missed()                         messages this reader will never see
//
//   Optional, for transports with queues of their own between the processes (zmq); the
//   roles call them where a transport has them (roles.cpp: await_subscribers, await_end, drain):
//   Tx: std::uint64_t wakeups()              FUTEX_WAKE calls made (the ring), reported with the point
//   Tx: void warm_up()                       before the run, until every reader has one
//       void end_marker()                    after the last send, until every reader has one
//   Rx: bool joined()  bool ended()          a warm-up / the end marker has arrived
//   Rx: bool caught_up()                     read up to the producer's head: for a reader
//                                            that may answer "nothing" while messages remain
//                                            (the ring's, standing back), the drain reads on
//                                            until it says so
//
// 1. ring:        shmcast itself (Producer / Reader), the reader copying each message out
//                 (Reader::try_read).
//    ring-inplace: the same ring, the reader reading in place: Reader::peek of up to 64
//                 messages, the checks on the payloads where they lie, then Reader::confirm
//                 (RingInplaceRx; its loops are in roles.cpp, InplaceRoles).
// 2. mutex:       the broadcast ring people write by hand: as many messages as the ring holds
//                 (ring_capacity), guarded by a
//                 Boost.Interprocess mutex, with a condition variable for sleeping readers.
//                 Each reader keeps its own cursor; the producer overwrites the oldest.
//                 Written as well as we could: readers peek at an atomic head before taking
//                 the lock, and the producer signals only when someone sleeps.
// 3. spsc-fanout: one boost::lockfree::spsc_queue per reader; the producer pushes every
//                 message into every queue and counts a drop when one is full.
// 4. iceoryx and 5. zmq, where they were found at build time: transport_iceoryx.hpp and
//                 transport_zmq.hpp, each in a header of its own.
#pragma once

#include "tsc.hpp"

#include <shmcast/shmcast.hpp>

#include <boost/interprocess/sync/interprocess_condition.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <sched.h>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace shmcast::bench {

namespace bip = boost::interprocess;

enum class Wait { spin, yield, block };
enum class Poll { message, empty, gap };

struct Got {
  std::uint64_t seq = 0;
  std::uint64_t ts = 0;
  const std::byte* data = nullptr;
  std::size_t len = 0;
};

// Polls the same way Reader::read does for spin and spin_yield: pause between empty
// polls, and after 2048 of them yield the CPU on every further poll. `block` (for a
// transport without a blocking primitive) yields after only a few polls, which is what
// readers sharing a CPU need.
template <class PollFn>
Poll poll_until(PollFn&& poll_once, Got& g, Wait wait, std::chrono::nanoseconds timeout) {
  const std::uint64_t deadline = mono_ns() + static_cast<std::uint64_t>(timeout.count());
  const std::uint64_t spin_polls = wait == Wait::block ? 16 : 2048;
  for (std::uint64_t polls = 0;; ++polls) {
    const Poll p = poll_once(g);
    if (p != Poll::empty) return p;
    if (wait != Wait::spin && polls >= spin_polls) ::sched_yield();
    else cpu_relax();
    if ((polls & 255) == 255 && mono_ns() >= deadline) return Poll::empty;
  }
}

// ---------------------------------------------------------------- capacities

// How much every transport may hold for payloads of `payload` bytes. The ring gets the byte
// budget it had before layout version 3 (4096 slots of the payload and a 24-byte header in
// 64-byte multiples, halved until the ring is at most 8 MiB), rounded down to a power of two:
// 256 KiB for 8 B, 512 KiB for 64 B, 1 MiB for 256 B, 4 MiB from 1 KiB. The peers hold as
// many messages as that ring holds of the point's size (ring_capacity): the mutex ring's
// slots, the spsc queues, zmq's high-water marks and iceoryx's queues (up to its build's
// limit). bench/README.md, "Layout version 3".
constexpr std::uint64_t ring_bytes_for(std::size_t payload) noexcept {
  const std::uint64_t old_slot = (payload + 24 + 63) / 64 * 64;
  std::uint64_t n = 4096;
  while (n > 64 && n * old_slot > (std::uint64_t{8} << 20)) n /= 2;
  return std::bit_floor(n * old_slot);
}
constexpr std::uint64_t ring_capacity(std::size_t payload) noexcept { return ring_bytes_for(payload) / record_bytes(payload); }

// ---------------------------------------------------------------- 1. ring (shmcast)

class RingTx {
 public:
  // The registry holds `readers` registered readers at least (the fan-out sweep's K).
  RingTx(const std::string& name, const Geometry& geometry, std::size_t size, std::uint32_t readers)
      : producer_(Producer::create(name, geometry,
                                   {.mode = 0600, .replace = true, .max_readers = std::max(kDefaultMaxReaders, readers)})),
        buffer_(size / 8 + 1) {}
  std::byte* buffer() noexcept { return reinterpret_cast<std::byte*>(buffer_.data()); }
  void send(std::size_t len, std::uint64_t ts) { producer_.publish({buffer(), len}, 0, ts); }
  void finish() noexcept {}
  // FUTEX_WAKE calls the producer made for readers that went to sleep (Wait::block).
  [[nodiscard]] std::uint64_t wakeups() const noexcept { return producer_.wakeups(); }

 private:
  Producer producer_;
  std::vector<std::uint64_t> buffer_;
};

// Registered, as the readers of a real deployment are (they show in `shmcast stat`), from
// sequence 0: a reader the producer laps before its first read counts that loss
// (StartAt::oldest would take its start again).
inline ReaderOptions ring_reader_options(Wait wait, bool give_back, std::uint64_t stand_back) {
  ReaderOptions o;
  o.start = StartAt::sequence;
  o.start_seq = 0;
  o.on_gap = GapPolicy::oldest;
  o.wait = wait == Wait::spin ? WaitStrategy::spin : wait == Wait::yield ? WaitStrategy::spin_yield : WaitStrategy::block;
  o.label = "shmcast-bench";
  o.give_back_lines = give_back;
  o.stand_back_bytes = stand_back;
  return o;
}

class RingRx {
 public:
  // A reader the registry could not take fails the point rather than read on unregistered.
  RingRx(const std::string& name, Wait wait, bool give_back, std::uint64_t stand_back)
      : reader_(name, ring_reader_options(wait, give_back, stand_back)) {
    if (!reader_.registered()) throw std::runtime_error("ring reader not registered: " + reader_.registration_error());
  }
  Poll poll(Got& g) noexcept { return take(reader_.try_read(), g); }
  Poll wait(Got& g, std::chrono::nanoseconds timeout) noexcept { return take(reader_.read(timeout), g); }
  [[nodiscard]] std::uint64_t missed() const noexcept { return reader_.missed(); }
  // Standing back, try_read answers "nothing" for up to 33 polls while the last messages
  // lie within the distance (stand_back.hpp): "empty" alone does not end a drain.
  [[nodiscard]] bool caught_up() const noexcept { return reader_.position() >= reader_.head(); }

 private:
  static Poll take(const ReadResult& r, Got& g) noexcept {
    if (r.status == ReadStatus::message) {
      g = Got{r.message.seq, r.message.timestamp_ns, r.message.payload.data(), r.message.payload.size()};
      return Poll::message;
    }
    return r.status == ReadStatus::empty ? Poll::empty : Poll::gap;
  }
  Reader reader_;
};

// The ring read in place: peek() hands over up to kBatch messages whose payloads lie in the
// ring; the caller looks at them, keeping what it derives tentative, and confirm() says
// whether they stayed intact (true: delivered; false: discarded, and the next peek reports
// them as a gap). Its roles (reader, ping, echo) are InplaceRoles in roles.cpp.
class RingInplaceRx {
 public:
  static constexpr std::size_t kBatch = 64;

  RingInplaceRx(const std::string& name, Wait wait, bool give_back, std::uint64_t stand_back)
      : reader_(name, ring_reader_options(wait, give_back, stand_back)), wait_(wait) {
    if (!reader_.registered()) throw std::runtime_error("ring reader not registered: " + reader_.registration_error());
  }
  // Non-blocking: the messages there now (up to kBatch; then messages() holds them), or 0
  // and `p` says empty or gap.
  std::size_t peek(Poll& p) noexcept {
    read_copied_ = false;
    const Reader::Batch b = reader_.peek(batch_);
    p = b.count != 0 ? Poll::message : b.event.status == ReadStatus::empty ? Poll::empty : Poll::gap;
    return b.count;
  }
  // By the wait strategy, up to `timeout`. spin and yield poll peek() as poll_until polls the
  // other transports; block sleeps in Reader::read, whose one message (copied, and already
  // delivered: this confirm() is then true without asking the reader) comes back as a
  // batch of one.
  std::size_t wait(Poll& p, std::chrono::nanoseconds timeout) noexcept {
    if (wait_ != Wait::block) {
      std::size_t n = 0;
      Got unused;
      p = poll_until([&](Got&) { Poll q; n = peek(q); return q; }, unused, wait_, timeout);
      return n;
    }
    const ReadResult r = reader_.read(timeout);
    if (r.status == ReadStatus::message) {
      batch_[0] = r.message;
      read_copied_ = true;
      p = Poll::message;
      return 1;
    }
    p = r.status == ReadStatus::empty ? Poll::empty : Poll::gap;
    return 0;
  }
  [[nodiscard]] std::span<const Message> messages(std::size_t n) const noexcept { return {batch_.data(), n}; }
  [[nodiscard]] bool confirm() noexcept { return std::exchange(read_copied_, false) || reader_.confirm(); }
  [[nodiscard]] std::uint64_t missed() const noexcept { return reader_.missed(); }
  [[nodiscard]] bool caught_up() const noexcept { return reader_.position() >= reader_.head(); }  // as RingRx's
  // Where the reader is, for an error message.
  [[nodiscard]] std::string where() const {
    return "position " + std::to_string(reader_.position()) + ", head " + std::to_string(reader_.head()) + ", oldest " +
           std::to_string(reader_.oldest()) + ", delivered " + std::to_string(reader_.delivered()) + ", missed " +
           std::to_string(reader_.missed());
  }

 private:
  Reader reader_;
  Wait wait_;
  bool read_copied_ = false;  // the batch of one came from Reader::read: delivered already
  std::array<Message, kBatch> batch_{};
};

// ---------------------------------------------------------------- 2. mutex ring

// The shared part. `capacity` slots follow the header at slots_offset(): message n is in
// slot n mod capacity as [seq u64][ts u64][len u32][pad u32][payload], `stride` bytes each:
// a ring record's header and room (record_bytes), as many as the ring holds.
struct MutexRing {
  static constexpr std::size_t kSlotHeader = 24;
  bip::interprocess_mutex mutex;
  bip::interprocess_condition cond;
  alignas(64) std::atomic<std::uint64_t> head{0};  // stored under the mutex; readers peek at it without
  alignas(64) std::uint32_t waiters = 0;           // readers in cond.wait (under the mutex)
  std::uint32_t done = 0;                          // the producer has finished (under the mutex)
  std::uint64_t capacity = 0;                      // messages held
  std::uint64_t stride = 0;                        // bytes a slot takes

  static std::size_t slots_offset() noexcept { return (sizeof(MutexRing) + 63) / 64 * 64; }
  static std::size_t bytes(std::uint64_t capacity, std::uint64_t stride) noexcept { return slots_offset() + capacity * stride; }
  std::byte* slot(std::uint64_t index) noexcept { return reinterpret_cast<std::byte*>(this) + slots_offset() + index * stride; }
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "only lock-free atomics are address-free");

class MutexTx {
 public:
  MutexTx(MutexRing* ring, std::size_t size) : ring_(ring), buffer_(size / 8 + 1) {}
  std::byte* buffer() noexcept { return reinterpret_cast<std::byte*>(buffer_.data()); }
  void send(std::size_t len, std::uint64_t ts) {
    bool wake = false;
    {
      bip::scoped_lock<bip::interprocess_mutex> lock(ring_->mutex);
      const std::uint64_t seq = ring_->head.load(std::memory_order_relaxed);
      std::byte* s = ring_->slot(next_);
      const auto len32 = static_cast<std::uint32_t>(len);
      std::memcpy(s, &seq, 8);
      std::memcpy(s + 8, &ts, 8);
      std::memcpy(s + 16, &len32, 4);
      std::memcpy(s + MutexRing::kSlotHeader, buffer(), len);
      ring_->head.store(seq + 1, std::memory_order_release);
      wake = ring_->waiters != 0;
    }
    if (++next_ == ring_->capacity) next_ = 0;
    if (wake) ring_->cond.notify_all();
  }
  void finish() {
    {
      bip::scoped_lock<bip::interprocess_mutex> lock(ring_->mutex);
      ring_->done = 1;
    }
    ring_->cond.notify_all();
  }

 private:
  MutexRing* ring_;
  std::vector<std::uint64_t> buffer_;
  std::uint64_t next_ = 0;  // the slot of message head (the producer's alone)
};

class MutexRx {
 public:
  MutexRx(MutexRing* ring, Wait wait) : ring_(ring), wait_(wait), buffer_(ring->stride / 8 + 1) {}

  Poll poll(Got& g) {
    if (ring_->head.load(std::memory_order_acquire) == cursor_) return Poll::empty;  // no lock while idle
    bip::scoped_lock<bip::interprocess_mutex> lock(ring_->mutex);
    return copy_locked(g);
  }
  Poll wait(Got& g, std::chrono::nanoseconds timeout) {
    if (wait_ != Wait::block) return poll_until([this](Got& x) { return poll(x); }, g, wait_, timeout);
    bip::scoped_lock<bip::interprocess_mutex> lock(ring_->mutex);
    while (ring_->head.load(std::memory_order_relaxed) == cursor_ && ring_->done == 0) {
      ++ring_->waiters;
      ring_->cond.wait(lock);
      --ring_->waiters;
    }
    if (ring_->head.load(std::memory_order_relaxed) == cursor_) return Poll::empty;
    return copy_locked(g);
  }
  [[nodiscard]] std::uint64_t missed() const noexcept { return missed_; }

 private:
  Poll copy_locked(Got& g) {
    const std::uint64_t head = ring_->head.load(std::memory_order_relaxed);
    const std::uint64_t capacity = ring_->capacity;
    if (head - cursor_ > capacity) [[unlikely]] {  // lapped: continue at the oldest still held
      missed_ += head - capacity - cursor_;
      cursor_ = head - capacity;
      slot_ = cursor_ % capacity;
    }
    const std::byte* s = ring_->slot(slot_);
    std::uint32_t len = 0;
    std::memcpy(&g.seq, s, 8);
    std::memcpy(&g.ts, s + 8, 8);
    std::memcpy(&len, s + 16, 4);
    std::memcpy(buffer_.data(), s + MutexRing::kSlotHeader, len);
    g.data = reinterpret_cast<const std::byte*>(buffer_.data());
    g.len = len;
    ++cursor_;
    if (++slot_ == capacity) slot_ = 0;
    return Poll::message;
  }

  MutexRing* ring_;
  Wait wait_;
  std::vector<std::uint64_t> buffer_;
  std::uint64_t cursor_ = 0;
  std::uint64_t slot_ = 0;  // cursor_'s slot
  std::uint64_t missed_ = 0;
};

// ---------------------------------------------------------------- 3. spsc fan-out

// spsc_queue<T, capacity<N>> is a compile-time sized ring: two atomic indices and an
// in-place array of N+1 elements, no pointers and no allocator, so it works at any
// address and can be placed in shared memory with placement new. Its message type is
// fixed-size, so each payload size class gets its own instantiation.
template <std::size_t S>
struct SpscMsg {
  std::uint64_t seq;
  std::uint64_t ts;
  std::uint32_t len;
  std::uint32_t pad;
  std::byte data[S];
};

// As many messages as the ring holds of the size class's payloads (ring_capacity): the
// same count as the ring at the default sizes, which are all powers of two. The queue's
// capacity is a compile-time constant, so a size between two classes gets its class's.
template <std::size_t S>
using SpscQueue = boost::lockfree::spsc_queue<SpscMsg<S>, boost::lockfree::capacity<ring_capacity(S)>>;

// The shared part: the queues, then one drop counter per queue (written by the producer only).
template <std::size_t S>
struct SpscFanout {
  static std::size_t queue_stride() noexcept { return (sizeof(SpscQueue<S>) + 63) / 64 * 64; }
  static std::size_t bytes(std::size_t queues) noexcept { return queues * (queue_stride() + 64); }
  static SpscQueue<S>* queue(void* base, std::size_t i) noexcept {
    return reinterpret_cast<SpscQueue<S>*>(static_cast<std::byte*>(base) + i * queue_stride());
  }
  static std::atomic<std::uint64_t>* drops(void* base, std::size_t queues, std::size_t i) noexcept {
    return reinterpret_cast<std::atomic<std::uint64_t>*>(static_cast<std::byte*>(base) + queues * queue_stride() + i * 64);
  }
  static void construct(void* base, std::size_t queues) {
    for (std::size_t i = 0; i < queues; ++i) {
      new (queue(base, i)) SpscQueue<S>();
      new (drops(base, queues, i)) std::atomic<std::uint64_t>(0);
    }
  }
};

template <std::size_t S>
class SpscTx {
 public:
  SpscTx(void* base, std::size_t queues) : base_(base), queues_(queues), msg_(std::make_unique<SpscMsg<S>>()) {
    for (std::size_t i = 0; i < queues; ++i) drop_counts_.push_back(0);
  }
  std::byte* buffer() noexcept {
    // The harness writes through this pointer with run-time sizes that never exceed S;
    // hiding its provenance keeps GCC from warning about size classes it cannot rule out.
    std::byte* p = msg_->data;
    asm("" : "+r"(p));
    return p;
  }
  void send(std::size_t len, std::uint64_t ts) {
    msg_->seq = seq_++;
    msg_->ts = ts;
    msg_->len = static_cast<std::uint32_t>(len);
    for (std::size_t i = 0; i < queues_; ++i) {
      if (!SpscFanout<S>::queue(base_, i)->push(*msg_)) [[unlikely]]
        SpscFanout<S>::drops(base_, queues_, i)->store(++drop_counts_[i], std::memory_order_relaxed);
    }
  }
  void finish() noexcept {}

 private:
  void* base_;
  std::size_t queues_;
  std::unique_ptr<SpscMsg<S>> msg_;
  std::vector<std::uint64_t> drop_counts_;
  std::uint64_t seq_ = 0;
};

template <std::size_t S>
class SpscRx {
 public:
  SpscRx(void* base, std::size_t queues, std::size_t index, Wait wait)
      : queue_(SpscFanout<S>::queue(base, index)), drops_(SpscFanout<S>::drops(base, queues, index)), wait_(wait),
        msg_(std::make_unique<SpscMsg<S>>()) {}
  Poll poll(Got& g) {
    if (!queue_->pop(*msg_)) return Poll::empty;
    g = Got{msg_->seq, msg_->ts, msg_->data, msg_->len};
    return Poll::message;
  }
  // No blocking primitive: `block` yields after a few empty polls.
  Poll wait(Got& g, std::chrono::nanoseconds timeout) {
    return poll_until([this](Got& x) { return poll(x); }, g, wait_, timeout);
  }
  // Valid once the producer has finished.
  [[nodiscard]] std::uint64_t missed() const noexcept { return drops_->load(std::memory_order_acquire); }

 private:
  SpscQueue<S>* queue_;
  const std::atomic<std::uint64_t>* drops_;
  Wait wait_;
  std::unique_ptr<SpscMsg<S>> msg_;
};

}  // namespace shmcast::bench
