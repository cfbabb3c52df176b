// The producer, reader, ping and echo loops, written once against the Tx/Rx interface of
// transports.hpp and instantiated per transport (and per spsc size class). Every payload
// carries its sequence at both ends, so that a torn or misplaced copy is counted.
#include "roles.hpp"

#include "transport_iceoryx.hpp"
#include "transport_zmq.hpp"

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <sched.h>
#include <stdexcept>
#include <thread>

namespace shmcast::bench {
namespace {

// Word 0 carries the sequence and the last word its complement, so that a copy that
// mixed two laps, or a message delivered under the wrong sequence, is caught.
inline void stamp_payload(std::byte* p, std::size_t size, u64 seq) noexcept {
  std::memcpy(p, &seq, 8);
  if (size >= 16) {
    const u64 inv = ~seq;
    std::memcpy(p + (size / 8 - 1) * 8, &inv, 8);
  }
}
inline bool payload_ok(u64 seq, const std::byte* data, std::size_t len, std::size_t size) noexcept {
  if (len != size) return false;
  u64 first = 0;
  std::memcpy(&first, data, 8);
  if (first != seq) return false;
  if (size >= 16) {
    u64 last = 0;
    std::memcpy(&last, data + (size / 8 - 1) * 8, 8);
    if (last != ~seq) return false;
  }
  return true;
}
inline bool payload_ok(const Got& g, std::size_t size) noexcept { return payload_ok(g.seq, g.data, g.len, size); }
inline bool payload_ok(const Message& m, std::size_t size) noexcept {
  return payload_ok(m.seq, m.payload.data(), m.payload.size(), size);
}

// How each transport's Tx and Rx are made from a Setup: channel `ch` (0, or 1 for the echo
// of rtt), with `queues` readers on it.
struct RingKind {
  static std::unique_ptr<RingTx> tx(const Spec& spec, const Setup& s, Control& c, int ch, std::size_t queues) {
    auto t = std::make_unique<RingTx>(s.ring_name[ch], s.geometry, spec.size, static_cast<std::uint32_t>(queues));
    c.ring_ready[ch].store(1, std::memory_order_release);
    return t;
  }
  static std::unique_ptr<RingRx> rx(const Spec& spec, const Setup& s, Control& c, int ch, std::size_t, std::size_t) {
    if (!wait_flag(c.ring_ready[ch], 1, attach_timeout_s(spec.readers))) throw std::runtime_error("ring was never created");
    return std::make_unique<RingRx>(s.ring_name[ch], spec.wait, spec.give_back, spec.stand_back);
  }
};

// The same ring, read in place: its producer is RingKind's; reader, ping and echo are
// InplaceRoles' (run_role picks them by kInPlace).
struct RingInplaceKind {
  static constexpr bool kInPlace = true;
  static std::unique_ptr<RingTx> tx(const Spec& spec, const Setup& s, Control& c, int ch, std::size_t queues) {
    return RingKind::tx(spec, s, c, ch, queues);
  }
  static std::unique_ptr<RingInplaceRx> rx(const Spec& spec, const Setup& s, Control& c, int ch, std::size_t, std::size_t) {
    if (!wait_flag(c.ring_ready[ch], 1, attach_timeout_s(spec.readers))) throw std::runtime_error("ring was never created");
    return std::make_unique<RingInplaceRx>(s.ring_name[ch], spec.wait, spec.give_back, spec.stand_back);
  }
};

struct MutexKind {
  static std::unique_ptr<MutexTx> tx(const Spec& spec, const Setup& s, Control&, int ch, std::size_t) {
    return std::make_unique<MutexTx>(static_cast<MutexRing*>(s.region[ch]), spec.size);
  }
  static std::unique_ptr<MutexRx> rx(const Spec& spec, const Setup& s, Control&, int ch, std::size_t, std::size_t) {
    return std::make_unique<MutexRx>(static_cast<MutexRing*>(s.region[ch]), spec.wait);
  }
};

template <std::size_t S>
struct SpscKind {
  static std::unique_ptr<SpscTx<S>> tx(const Spec&, const Setup& s, Control&, int ch, std::size_t queues) {
    return std::make_unique<SpscTx<S>>(s.region[ch], queues);
  }
  static std::unique_ptr<SpscRx<S>> rx(const Spec& spec, const Setup& s, Control&, int ch, std::size_t queues,
                                       std::size_t index) {
    return std::make_unique<SpscRx<S>>(s.region[ch], queues, index, spec.wait);
  }
};

#if SHMCAST_BENCH_ICEORYX
// Each process registers with the point's RouDi under the name setup.cpp chose for the
// first endpoint it opens: the producer or ping by its channel-0 publisher, reader i or the
// echo by its channel-0 subscriber.
struct IoxKind {
  static std::unique_ptr<IoxTx> tx(const Spec& spec, const Setup& s, Control&, int ch, std::size_t) {
    iox_runtime(s.iox_names.at(0));
    return std::make_unique<IoxTx>(iox_service(s.tag, ch), spec.size);
  }
  static std::unique_ptr<IoxRx> rx(const Spec& spec, const Setup& s, Control&, int ch, std::size_t, std::size_t index) {
    iox_runtime(s.iox_names.at(1 + index));
    return std::make_unique<IoxRx>(iox_service(s.tag, ch), s.capacity, spec.wait);
  }
};
#endif

#if SHMCAST_BENCH_ZMQ
// High-water marks of the messages the ring holds (ring_capacity), on both sides.
struct ZmqKind {
  static std::unique_ptr<ZmqTx> tx(const Spec& spec, const Setup& s, Control&, int ch, std::size_t) {
    return std::make_unique<ZmqTx>(s.endpoint[ch], static_cast<int>(s.capacity), spec.size);
  }
  static std::unique_ptr<ZmqRx> rx(const Spec& spec, const Setup& s, Control& c, int ch, std::size_t, std::size_t) {
    return std::make_unique<ZmqRx>(s.endpoint[ch], static_cast<int>(s.capacity), spec.wait, &c.joined[ch], &c.ended);
  }
};
#endif

// Subscribers that join asynchronously (zmq: a SUB's subscription reaches the PUB some time
// after it connects, and the PUB drops what it sends before) are proven connected before
// the measured run: the sender repeats a warm-up message until all `readers` of channel
// `ch` have counted themselves in c.joined[ch] (their Rx does, on the first one it sees).
// Transports whose readers are connected once their Rx exists have no warm_up: no-op.
template <class Tx>
void await_subscribers(Tx& tx, Control& c, int ch, std::uint32_t readers) {
  if constexpr (requires { tx.warm_up(); }) {
    const u64 deadline = mono_ns() + static_cast<u64>(attach_timeout_s(static_cast<int>(readers)) * 1e9);
    while (c.joined[ch].load(std::memory_order_acquire) < readers) {
      if (mono_ns() > deadline) throw std::runtime_error("readers never received the warm-up message");
      tx.warm_up();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
}

// After the last message, for the same transports: the producer repeats an end marker until
// all `readers` have received one (each counts itself in c.ended), because the transport
// may drop it like any other message at a full queue. Everything sent before the marker is
// ahead of it in each reader's queue; the readers' drain waits for it. 10 s at most.
template <class Tx>
void await_end(Tx& tx, Control& c, std::uint32_t readers) {
  if constexpr (requires { tx.end_marker(); }) {
    const u64 deadline = mono_ns() + 10'000'000'000ull;
    do {
      tx.end_marker();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    } while (c.ended.load(std::memory_order_acquire) < readers && mono_ns() < deadline);
  }
}

// The other side of await_subscribers, for a process that is not yet polling its Rx (ping,
// whose echo channel must be joined before the first ping): polls until a warm-up arrived.
template <class Rx>
void await_warm_up(Rx& rx) {
  if constexpr (requires { rx.joined(); }) {
    const u64 deadline = mono_ns() + 30'000'000'000ull;
    Got g;
    while (!rx.joined()) {
      if (mono_ns() > deadline) throw std::runtime_error("no warm-up message within 30 s");
      rx.wait(g, std::chrono::milliseconds(1));
    }
  }
}

// Whether a drain that found nothing may stop: at once, or, for a reader that may answer
// "nothing" while messages remain (the ring's, standing back), once it has read up to the
// producer's head (or until `deadline`: a reader that never gets there leaves the
// accounting short, and the point fails).
template <class Rx>
bool drained(const Rx& rx, u64 deadline) {
  if constexpr (requires { rx.caught_up(); }) return rx.caught_up() || mono_ns() > deadline;
  return true;
}

// After the producer says it is done: read until empty. A transport that delivers through
// queues of its own (zmq) may still hold messages then; it says when its producer's end
// marker has arrived, and the drain waits for that first (10 s at most: a marker that never
// comes leaves the accounting short, and the point fails).
template <class Rx, class OnMessage>
void drain(Rx& rx, OnMessage&& on_message) {
  Got g;
  Poll p;
  const u64 deadline = mono_ns() + 10'000'000'000ull;
  if constexpr (requires { rx.ended(); }) {
    while (!rx.ended() && mono_ns() < deadline)
      if (rx.wait(g, std::chrono::milliseconds(1)) == Poll::message) on_message(g);
  }
  while ((p = rx.poll(g)) != Poll::empty || !drained(rx, deadline))
    if (p == Poll::message) on_message(g);
}

// The ping side of a round trip, whichever way the echo is read: publish on `tx` with
// the payload stamped and the TSC as timestamp, one message in flight; `await_echo(ts, now)`
// waits for the echo, sets `now` once it has been read and says whether it matched. Half
// of each round trip goes into reader slot 0's histogram.
template <class Tx, class AwaitEcho>
int ping_loop(const Spec& spec, Control& c, Tx& tx, AwaitEcho&& await_echo) {
  ReaderSlot& slot = c.readers[0];
  const double tick_ns = c.ns_per_tick;
  std::byte* buf = tx.buffer();
  std::memset(buf, 0x5a, spec.size);
  c.started.store(1, std::memory_order_release);
  const u64 t0 = mono_ns();
  const u64 cap = t0 + static_cast<u64>(spec.cap_s * 1e9);
  u64 seq = 0;
  for (; seq < spec.samples && c.stop.load(std::memory_order_relaxed) == 0; ++seq) {
    if ((seq & 1023) == 0 && mono_ns() > cap) break;
    stamp_payload(buf, spec.size, seq);
    const u64 ts = tsc();
    tx.send(spec.size, ts);
    u64 now = 0;
    const bool ok = await_echo(ts, now);
    slot.hist.record(static_cast<u64>(static_cast<double>(now - ts) * tick_ns / 2));
    if (!ok) ++slot.corrupt;
    ++slot.delivered;
  }
  c.elapsed_ns = mono_ns() - t0;
  c.published = seq;
  c.producer_cpu_seen = ::sched_getcpu();
  c.producer_done.store(1, std::memory_order_release);
  tx.finish();
  return slot.corrupt != 0 ? 3 : 0;
}

template <class Kind>
struct Roles {
  static int producer(const Spec& spec, const Setup& s, Control& c) {
    auto tx = Kind::tx(spec, s, c, 0, static_cast<std::size_t>(spec.readers));
    if (!wait_flag(c.readers_ready, static_cast<std::uint32_t>(spec.readers), attach_timeout_s(spec.readers)))
      throw std::runtime_error("readers did not attach");
    await_subscribers(*tx, c, 0, static_cast<std::uint32_t>(spec.readers));
    std::byte* buf = tx->buffer();
    std::memset(buf, 0x5a, spec.size);
    u64 seq = 0;
    c.started.store(1, std::memory_order_release);
    const u64 t0 = mono_ns(), cpu0 = process_cpu_ns();
    if (spec.workload == Workload::throughput) {
      // The timestamp is caller-supplied (the sequence): what a producer that already has
      // its source's timestamp pays. The microbenchmark measures the kNow variant.
      while (c.stop.load(std::memory_order_relaxed) == 0) {
        stamp_payload(buf, spec.size, seq);
        tx->send(spec.size, seq);
        ++seq;
      }
    } else {
      const double tick_ns = c.ns_per_tick;
      const auto interval = static_cast<u64>(static_cast<double>(spec.interval_ns) / tick_ns);
      const u64 cap = tsc() + static_cast<u64>(spec.cap_s * 1e9 / tick_ns);
      u64 next = tsc();
      while (seq < spec.samples && c.stop.load(std::memory_order_relaxed) == 0) {
        u64 now = tsc();
        while (now < next) {
          cpu_relax();
          now = tsc();
        }
        if (now > cap) break;
        stamp_payload(buf, spec.size, seq);
        tx->send(spec.size, tsc());
        ++seq;
        next += interval;
        if (next < now) next = now;
      }
    }
    c.producer_cpu_ns = process_cpu_ns() - cpu0;
    if constexpr (requires { tx->wakeups(); }) c.producer_wakeups = static_cast<std::int64_t>(tx->wakeups());
    c.elapsed_ns = mono_ns() - t0;
    c.published = seq;
    c.producer_cpu_seen = ::sched_getcpu();
    c.producer_done.store(1, std::memory_order_release);
    tx->finish();
    await_end(*tx, c, static_cast<std::uint32_t>(spec.readers));
    return 0;
  }

  static int reader(const Spec& spec, const Setup& s, Control& c, int index) {
    auto rx = Kind::rx(spec, s, c, 0, static_cast<std::size_t>(spec.readers), static_cast<std::size_t>(index));
    ReaderSlot& slot = c.readers[index];
    const bool latency = spec.workload == Workload::latency;
    const double tick_ns = c.ns_per_tick;
    u64 delivered = 0, corrupt = 0, reordered = 0, negative = 0, next = 0;
    auto on_message = [&](const Got& g) {
      if (latency) {
        const u64 now = tsc_after_loads();
        if (now >= g.ts) slot.hist.record(static_cast<u64>(static_cast<double>(now - g.ts) * tick_ns));
        else ++negative, slot.hist.record(0);
      }
      if (!payload_ok(g, spec.size)) [[unlikely]]
        ++corrupt;
      if (g.seq < next) [[unlikely]]
        ++reordered;
      next = g.seq + 1;
      ++delivered;
    };
    c.readers_ready.fetch_add(1, std::memory_order_acq_rel);
    Got g;
    for (;;) {
      Poll p = rx->poll(g);
      if (p == Poll::message) {
        on_message(g);
        continue;
      }
      if (p == Poll::gap) continue;
      // Drain: read the stop condition first, then probe until empty, so that nothing
      // published before the producer said it was done is left unread.
      if (c.producer_done.load(std::memory_order_acquire) != 0) {
        drain(*rx, on_message);
        break;
      }
      if (rx->wait(g, std::chrono::milliseconds(1)) == Poll::message) on_message(g);
    }
    slot.delivered = delivered;
    slot.missed = rx->missed();
    slot.corrupt = corrupt;
    slot.reordered = reordered;
    slot.negative = negative;
    slot.cpu = ::sched_getcpu();
    return corrupt != 0 || reordered != 0 ? 3 : 0;
  }

  // Round trip: publish on A, wait for the echo on B, one message in flight.
  static int ping(const Spec& spec, const Setup& s, Control& c) {
    auto tx = Kind::tx(spec, s, c, 0, 1);
    if (!wait_flag(c.readers_ready, 1, 30)) throw std::runtime_error("echo did not attach");
    auto rx = Kind::rx(spec, s, c, 1, 1, 0);
    // The echo warms channel B up (below) until this Rx has seen it; then this warms up A.
    await_warm_up(*rx);
    await_subscribers(*tx, c, 0, 1);
    Got g;
    return ping_loop(spec, c, *tx, [&](u64 ts, u64& now) {
      Poll p = rx->poll(g);
      if (p == Poll::empty) p = rx->wait(g, std::chrono::seconds(2));
      if (p != Poll::message) throw std::runtime_error("echo lost (no reply within 2 s)");
      now = tsc_after_loads();
      return payload_ok(g, spec.size) && g.ts == ts;
    });
  }

  static int echo(const Spec& spec, const Setup& s, Control& c) {
    auto rx = Kind::rx(spec, s, c, 0, 1, 0);
    auto tx = Kind::tx(spec, s, c, 1, 1);
    c.readers_ready.fetch_add(1, std::memory_order_acq_rel);
    await_subscribers(*tx, c, 1, 1);
    Got g;
    for (;;) {
      Poll p = rx->poll(g);
      if (p == Poll::empty) {
        if (c.producer_done.load(std::memory_order_acquire) != 0) break;
        p = rx->wait(g, std::chrono::milliseconds(1));
      }
      if (p != Poll::message) continue;
      std::memcpy(tx->buffer(), g.data, g.len);
      tx->send(g.len, g.ts);
    }
    c.readers[0].cpu = ::sched_getcpu();  // after ping's slot.delivered etc.: ping has ended
    return 0;
  }
};

// Reader, ping and echo for the ring read in place (RingInplaceKind). A batch of up to
// RingInplaceRx::kBatch messages is looked at where it lies: the checks read the payload's
// first and last words (its sequence and complement), and where the workload measures
// latency a TSC reading is taken per message, after its checks, as the other readers take
// theirs per copied message. What the batch gives is tentative until confirm(): a batch
// confirmed counts (delivered, latencies, corrupt and misordered payloads); one that is not
// counts for nothing, and the next peek reports its messages as a gap (missed).
template <class Kind>
struct InplaceRoles {
  static int reader(const Spec& spec, const Setup& s, Control& c, int index) {
    auto rx = Kind::rx(spec, s, c, 0, static_cast<std::size_t>(spec.readers), static_cast<std::size_t>(index));
    ReaderSlot& slot = c.readers[index];
    const bool latency = spec.workload == Workload::latency;
    const double tick_ns = c.ns_per_tick;
    u64 delivered = 0, corrupt = 0, reordered = 0, negative = 0, next = 0, unconfirmed = 0;
    std::array<u64, RingInplaceRx::kBatch> seen{};  // the TSC at each message of the batch
    auto on_batch = [&](std::span<const Message> batch) {
      u64 bad = 0, back = 0, expect = next;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const Message& m = batch[i];
        if (!payload_ok(m, spec.size)) [[unlikely]]
          ++bad;
        if (m.seq < expect) [[unlikely]]
          ++back;
        expect = m.seq + 1;
        if (latency) seen[i] = tsc_after_loads();
      }
      if (!rx->confirm()) [[unlikely]] {
        ++unconfirmed;  // overwritten while looked at: the next peek reports the gap
        return;
      }
      if (latency)
        for (std::size_t i = 0; i < batch.size(); ++i) {
          const u64 ts = batch[i].timestamp_ns;
          if (seen[i] >= ts) slot.hist.record(static_cast<u64>(static_cast<double>(seen[i] - ts) * tick_ns));
          else ++negative, slot.hist.record(0);
        }
      delivered += batch.size();
      corrupt += bad;
      reordered += back;
      next = expect;
    };
    c.readers_ready.fetch_add(1, std::memory_order_acq_rel);
    Poll p = Poll::empty;
    for (;;) {
      if (const std::size_t n = rx->peek(p); n != 0) {
        on_batch(rx->messages(n));
        continue;
      }
      if (p == Poll::gap) continue;
      // Drain: read the stop condition first, then peek until empty, so that nothing
      // published before the producer said it was done is left unread.
      if (c.producer_done.load(std::memory_order_acquire) != 0) {
        const u64 deadline = mono_ns() + 10'000'000'000ull;
        for (;;) {
          if (const std::size_t n = rx->peek(p); n != 0) on_batch(rx->messages(n));
          else if (p != Poll::gap && drained(*rx, deadline)) break;
        }
        break;
      }
      if (const std::size_t n = rx->wait(p, std::chrono::milliseconds(1)); n != 0) on_batch(rx->messages(n));
    }
    slot.delivered = delivered;
    slot.missed = rx->missed();
    slot.corrupt = corrupt;
    slot.reordered = reordered;
    slot.negative = negative;
    slot.unconfirmed = unconfirmed;
    slot.cpu = ::sched_getcpu();
    return corrupt != 0 || reordered != 0 ? 3 : 0;
  }

  // Waits up to 2 s for the one message in flight; throws if none comes.
  static std::span<const Message> await_one(RingInplaceRx& rx) {
    Poll p = Poll::empty;
    std::size_t n = rx.peek(p);
    if (n == 0) n = rx.wait(p, std::chrono::seconds(2));
    if (n == 0)
      throw std::runtime_error(std::string("echo lost (") + (p == Poll::gap ? "a gap" : "no reply within 2 s") + "; " + rx.where() + ")");
    return rx.messages(n);
  }

  // Round trip, as Roles::ping, the echo read in place.
  static int ping(const Spec& spec, const Setup& s, Control& c) {
    auto tx = Kind::tx(spec, s, c, 0, 1);
    if (!wait_flag(c.readers_ready, 1, 30)) throw std::runtime_error("echo did not attach");
    auto rx = Kind::rx(spec, s, c, 1, 1, 0);
    return ping_loop(spec, c, *tx, [&](u64 ts, u64& now) {
      const std::span<const Message> echo = await_one(*rx);
      const bool ok = echo.size() == 1 && payload_ok(echo[0], spec.size) && echo[0].timestamp_ns == ts;
      now = tsc_after_loads();
      if (!rx->confirm()) throw std::runtime_error("echo overwritten while read in place (" + rx->where() + ")");
      return ok;
    });
  }

  // Republishes each message from where it lies in ring A: one copy (into the producer's
  // buffer), then publish once confirm() says it was intact.
  static int echo(const Spec& spec, const Setup& s, Control& c) {
    auto rx = Kind::rx(spec, s, c, 0, 1, 0);
    auto tx = Kind::tx(spec, s, c, 1, 1);
    c.readers_ready.fetch_add(1, std::memory_order_acq_rel);
    Poll p = Poll::empty;
    for (;;) {
      std::size_t n = rx->peek(p);
      if (n == 0 && p == Poll::empty) {
        if (c.producer_done.load(std::memory_order_acquire) != 0) break;
        n = rx->wait(p, std::chrono::milliseconds(1));
      }
      if (n == 0) continue;
      const std::span<const Message> batch = rx->messages(n);
      std::memcpy(tx->buffer(), batch[0].payload.data(), batch[0].payload.size());
      // Ping sends one at a time: more than one, or one overwritten, is not echoed, and ping
      // fails on the echo it never gets.
      const std::uint64_t seq = batch[0].seq;
      if (rx->confirm() && n == 1) tx->send(batch[0].payload.size(), batch[0].timestamp_ns);
      else set_error(c, "echo: " + std::to_string(n) + " message(s) from " + std::to_string(seq) + " not echoed (" + rx->where() + ")");
    }
    c.readers[0].cpu = ::sched_getcpu();  // after ping's slot.delivered etc.: ping has ended
    return 0;
  }
};

template <class Kind>
int run_role(Role role, const Spec& spec, const Setup& s, Control& c, int index) {
  if constexpr (requires { Kind::kInPlace; }) {
    switch (role) {
      case Role::producer: return Roles<Kind>::producer(spec, s, c);
      case Role::reader: return InplaceRoles<Kind>::reader(spec, s, c, index);
      case Role::ping: return InplaceRoles<Kind>::ping(spec, s, c);
      case Role::echo: return InplaceRoles<Kind>::echo(spec, s, c);
    }
  } else {
    switch (role) {
      case Role::producer: return Roles<Kind>::producer(spec, s, c);
      case Role::reader: return Roles<Kind>::reader(spec, s, c, index);
      case Role::ping: return Roles<Kind>::ping(spec, s, c);
      case Role::echo: return Roles<Kind>::echo(spec, s, c);
    }
  }
  return 1;
}

}  // namespace

int dispatch(Role role, const Spec& spec, const Setup& s, Control& c, int index) {
  switch (spec.transport) {
    case Transport::ring: return run_role<RingKind>(role, spec, s, c, index);
    case Transport::ring_inplace: return run_role<RingInplaceKind>(role, spec, s, c, index);
    case Transport::mutex: return run_role<MutexKind>(role, spec, s, c, index);
    case Transport::spsc:
      return with_spsc_class(spec.size, [&]<std::size_t S>() { return run_role<SpscKind<S>>(role, spec, s, c, index); });
    case Transport::iceoryx: {
#if SHMCAST_BENCH_ICEORYX
      // The role's publisher and subscriber are gone when it returns; exit() then runs the
      // iceoryx runtime's static destructor, which deregisters from RouDi (spawn's _exit
      // would not). Failures are reported as spawn would, but from here, for the same reason.
      int rc = 2;
      try {
        rc = run_role<IoxKind>(role, spec, s, c, index);
      } catch (const std::exception& e) {
        set_error(c, e.what());
      }
      std::fflush(nullptr);
      std::exit(rc);
#else
      throw std::runtime_error("iceoryx: not built");
#endif
    }
    case Transport::zmq:
#if SHMCAST_BENCH_ZMQ
      return run_role<ZmqKind>(role, spec, s, c, index);
#else
      throw std::runtime_error("zmq: not built");
#endif
  }
  return 1;
}

}  // namespace shmcast::bench
