// The producer, reader, ping and echo loops, written once against the Tx/Rx interface of
// transports.hpp and instantiated per transport (and per spsc size class). Every payload
// carries its sequence at both ends, so that a torn or misplaced copy is counted.
#include "roles.hpp"

#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>

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
inline bool payload_ok(const Got& g, std::size_t size) noexcept {
  if (g.len != size) return false;
  u64 first = 0;
  std::memcpy(&first, g.data, 8);
  if (first != g.seq) return false;
  if (size >= 16) {
    u64 last = 0;
    std::memcpy(&last, g.data + (size / 8 - 1) * 8, 8);
    if (last != ~g.seq) return false;
  }
  return true;
}

// How each transport's Tx and Rx are made from a Setup: channel `ch` (0, or 1 for the echo
// of rtt), with `queues` readers on it.
struct RingKind {
  static std::unique_ptr<RingTx> tx(const Spec& spec, const Setup& s, Control& c, int ch, std::size_t) {
    auto t = std::make_unique<RingTx>(s.ring_name[ch], s.geometry, spec.size);
    c.ring_ready[ch].store(1, std::memory_order_release);
    return t;
  }
  static std::unique_ptr<RingRx> rx(const Spec& spec, const Setup& s, Control& c, int ch, std::size_t, std::size_t) {
    if (!wait_flag(c.ring_ready[ch], 1, 30)) throw std::runtime_error("ring was never created");
    return std::make_unique<RingRx>(s.ring_name[ch], spec.wait);
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

template <class Kind>
struct Roles {
  static int producer(const Spec& spec, const Setup& s, Control& c) {
    auto tx = Kind::tx(spec, s, c, 0, static_cast<std::size_t>(spec.readers));
    if (!wait_flag(c.readers_ready, static_cast<std::uint32_t>(spec.readers), 30))
      throw std::runtime_error("readers did not attach");
    std::byte* buf = tx->buffer();
    std::memset(buf, 0x5a, spec.size);
    u64 seq = 0;
    c.started.store(1, std::memory_order_release);
    const u64 t0 = mono_ns(), cpu0 = thread_cpu_ns();
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
    c.producer_cpu_ns = thread_cpu_ns() - cpu0;
    c.elapsed_ns = mono_ns() - t0;
    c.published = seq;
    c.producer_done.store(1, std::memory_order_release);
    tx->finish();
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
        while ((p = rx->poll(g)) != Poll::empty)
          if (p == Poll::message) on_message(g);
        break;
      }
      if (rx->wait(g, std::chrono::milliseconds(1)) == Poll::message) on_message(g);
    }
    slot.delivered = delivered;
    slot.missed = rx->missed();
    slot.corrupt = corrupt;
    slot.reordered = reordered;
    slot.negative = negative;
    return corrupt != 0 || reordered != 0 ? 3 : 0;
  }

  // Round trip: publish on A, wait for the echo on B, one message in flight.
  static int ping(const Spec& spec, const Setup& s, Control& c) {
    auto tx = Kind::tx(spec, s, c, 0, 1);
    if (!wait_flag(c.readers_ready, 1, 30)) throw std::runtime_error("echo did not attach");
    auto rx = Kind::rx(spec, s, c, 1, 1, 0);
    ReaderSlot& slot = c.readers[0];
    const double tick_ns = c.ns_per_tick;
    std::byte* buf = tx->buffer();
    std::memset(buf, 0x5a, spec.size);
    c.started.store(1, std::memory_order_release);
    const u64 t0 = mono_ns();
    const u64 cap = t0 + static_cast<u64>(spec.cap_s * 1e9);
    u64 seq = 0;
    Got g;
    for (; seq < spec.samples && c.stop.load(std::memory_order_relaxed) == 0; ++seq) {
      if ((seq & 1023) == 0 && mono_ns() > cap) break;
      stamp_payload(buf, spec.size, seq);
      const u64 ts = tsc();
      tx->send(spec.size, ts);
      Poll p = rx->poll(g);
      if (p == Poll::empty) p = rx->wait(g, std::chrono::seconds(2));
      if (p != Poll::message) throw std::runtime_error("echo lost (no reply within 2 s)");
      const u64 now = tsc_after_loads();
      slot.hist.record(static_cast<u64>(static_cast<double>(now - ts) * tick_ns / 2));
      if (!payload_ok(g, spec.size) || g.ts != ts) ++slot.corrupt;
      ++slot.delivered;
    }
    c.elapsed_ns = mono_ns() - t0;
    c.published = seq;
    c.producer_done.store(1, std::memory_order_release);
    tx->finish();
    return slot.corrupt != 0 ? 3 : 0;
  }

  static int echo(const Spec& spec, const Setup& s, Control& c) {
    auto rx = Kind::rx(spec, s, c, 0, 1, 0);
    auto tx = Kind::tx(spec, s, c, 1, 1);
    c.readers_ready.fetch_add(1, std::memory_order_acq_rel);
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
    return 0;
  }
};

template <class Kind>
int run_role(Role role, const Spec& spec, const Setup& s, Control& c, int index) {
  switch (role) {
    case Role::producer: return Roles<Kind>::producer(spec, s, c);
    case Role::reader: return Roles<Kind>::reader(spec, s, c, index);
    case Role::ping: return Roles<Kind>::ping(spec, s, c);
    case Role::echo: return Roles<Kind>::echo(spec, s, c);
  }
  return 1;
}

}  // namespace

int dispatch(Role role, const Spec& spec, const Setup& s, Control& c, int index) {
  switch (spec.transport) {
    case Transport::ring: return run_role<RingKind>(role, spec, s, c, index);
    case Transport::mutex: return run_role<MutexKind>(role, spec, s, c, index);
    case Transport::spsc:
      return with_spsc_class(spec.size, [&]<std::size_t S>() { return run_role<SpscKind<S>>(role, spec, s, c, index); });
  }
  return 1;
}

}  // namespace shmcast::bench
