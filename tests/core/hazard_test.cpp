// The hazards of a byte ring that readers may lose their place in, each under a producer
// at full speed on a tiny ring (4 KiB), across processes:
//  - livelock after a resynchronisation: readers that share one CPU with the producer
//    must still deliver a meaningful part of the stream, not only gaps;
//  - stale records after jumping to latest: a reader that starts at, or resynchronises
//    to, the latest point must never deliver a sequence at or below one it delivered, nor
//    a record of a previous lap;
//  - hostile bytes: payloads that imitate, at every 32-byte boundary, the record header a
//    lapped reader expects there must never be delivered as messages, copied or in place.
#include <catch2/catch.hpp>

#include "layout.hpp"
#include "raw_ring.hpp"
#include "test_support.hpp"

#include <array>
#include <cstdio>
#include <cstring>
#include <sched.h>
#include <sys/mman.h>
#include <thread>
#include <vector>

using namespace shmcast;
using shmcast::test::kSanitized;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

constexpr Geometry kTiny{.ring_bytes = 4096};

struct Tally {
  std::uint64_t done = 0;
  std::uint64_t delivered = 0, missed = 0, gaps = 0, span = 0, accounting_ok = 0;
  std::uint64_t corrupt = 0, disorder = 0, stale = 0, forged = 0;
  std::uint64_t confirmed = 0, refused = 0;
  std::uint64_t pinned = 0;
};

struct Shared {
  std::atomic<int> attached{0};
  std::atomic<int> go{0};
  std::atomic<std::uint64_t> final_head{UINT64_MAX};  // set by the producer when it is done
  std::array<Tally, 6> readers{};
};

bool pin_to_cpu0() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  return ::sched_setaffinity(0, sizeof set, &set) == 0;
}

// Maps a Shared block all children see.
struct SharedMapping {
  SharedMapping() {
    void* p = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    shared = new (p) Shared;
  }
  ~SharedMapping() {
    shared->~Shared();
    ::munmap(shared, sizeof(Shared));
  }
  Shared* shared = nullptr;
};

// Reads until the producer is done and the reader has caught up with its last message,
// checking every message (size, bytes, type, order) and every gap.
int checked_reader(const std::string& ring, Shared& s, Tally& t, ReaderOptions options, bool pin) {
  if (pin) t.pinned = pin_to_cpu0() ? 1 : 0;
  Reader r(ring, options);
  s.attached.fetch_add(1);
  const std::size_t max = r.geometry().message_limit();
  std::uint64_t start = r.position();
  bool first = true;
  std::uint64_t last = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (;;) {
    const std::uint64_t final_head = s.final_head.load(std::memory_order_acquire);
    if (final_head != UINT64_MAX && r.position() >= final_head) break;
    if (std::chrono::steady_clock::now() > give_up) return 3;
    const ReadResult e = r.read(std::chrono::milliseconds(50));
    if (e.status == ReadStatus::empty) continue;
    if (first) start = r.start();  // a latest/oldest start lost before the first event is taken again
    if (e.status == ReadStatus::message) {
      const std::uint64_t seq = e.message.seq;
      if (!shmcast::test::verify_sized(e.message.payload, seq, max) || e.message.type != shmcast::test::sized_type(seq))
        ++t.corrupt;
      if (!first && seq <= last) ++t.stale;
      if (seq + 1 != r.position()) ++t.disorder;
      last = seq;
      ++t.delivered;
    } else if (e.status == ReadStatus::gap) {
      if (!first && e.gap.first <= last) ++t.stale;
      if (e.gap.first + e.gap.missed != r.position() || e.gap.missed == 0) ++t.disorder;
      ++t.gaps;
      t.missed += e.gap.missed;
    } else {
      ++t.disorder;
    }
    first = false;
  }
  t.span = r.position() - start;
  t.accounting_ok = t.delivered == r.delivered() && t.missed == r.missed() && t.delivered + t.missed == t.span;
  t.done = 1;
  return 0;
}

}  // namespace

// A reader on the producer's CPU runs only while the producer does not, and each time it
// does it finds itself lapped. If resynchronising left it where the producer writes next,
// or cost more than a time slice, it would report gaps and never deliver. Every process
// here is pinned to CPU 0; the producer publishes in bursts of about two laps and yields,
// as a producer sharing a CPU with its consumers must; each reader must deliver more than
// 1% of what it moved over (on an idle machine they deliver far more), all of it intact.
TEST_CASE("hazard: livelock after a resync: readers sharing one CPU with the producer deliver a meaningful part",
          "[hazard][process]") {
  RingGuard g(unique_ring("onecpu"));
  { Producer create = Producer::create(g.name, kTiny); }
  SharedMapping m;
  Shared& s = *m.shared;
  const std::uint64_t messages = kSanitized ? 10'000 : 30'000;
  const std::array<ReaderOptions, 3> options{
      ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest, .wait = WaitStrategy::block},
      ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest, .wait = WaitStrategy::spin_yield},
      ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::latest, .wait = WaitStrategy::block},
  };
  std::vector<pid_t> readers;
  for (std::size_t i = 0; i < options.size(); ++i)
    readers.push_back(shmcast::test::spawn([&, i] { return checked_reader(g.name, s, s.readers[i], options[i], true); }));
  while (s.attached.load() < static_cast<int>(options.size())) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const pid_t producer = shmcast::test::spawn([&] {
    if (!pin_to_cpu0()) return 5;
    Producer p = Producer::open(g.name);
    std::vector<std::byte> buf(p.max_message());
    std::uint64_t burst = 0;
    for (std::uint64_t seq = 0; seq < messages; ++seq) {
      p.publish(std::span(buf.data(), shmcast::test::fill_sized(buf.data(), seq, buf.size())), shmcast::test::sized_type(seq));
      if (burst-- == 0) {
        ::sched_yield();
        burst = shmcast::test::mix64(seq) % 48;  // up to three laps of this mix of sizes
      }
    }
    s.final_head.store(p.head(), std::memory_order_release);
    return 0;
  });
  CHECK(shmcast::test::wait_exit(producer) == 0);
  for (std::size_t i = 0; i < readers.size(); ++i) {
    CHECK(shmcast::test::wait_exit(readers[i]) == 0);
    const Tally& t = s.readers[i];
    std::printf("  one CPU, reader %zu: delivered %llu of %llu (%.1f%%), missed %llu in %llu gaps\n", i,
                static_cast<unsigned long long>(t.delivered), static_cast<unsigned long long>(t.span),
                t.span != 0 ? 100.0 * static_cast<double>(t.delivered) / static_cast<double>(t.span) : 0.0,
                static_cast<unsigned long long>(t.missed), static_cast<unsigned long long>(t.gaps));
    INFO("reader " << i << ": delivered " << t.delivered << ", missed " << t.missed << " in " << t.gaps << " gaps, span "
                   << t.span);
    CHECK(t.pinned == 1);
    CHECK(t.done == 1);
    CHECK(t.corrupt == 0);
    CHECK(t.stale == 0);
    CHECK(t.disorder == 0);
    CHECK(t.accounting_ok == 1);
    CHECK(t.span == messages);
    CHECK(t.delivered * 100 > t.span);
  }
}

namespace {

// Reader processes for the two tests below: each one reads with its own policy and
// stalls now and then (a busy wait of up to 20 us, or a 200 us sleep), so that the
// producer laps it at every place in the records, in the middle of one as often as not.
void stall_sometimes(std::uint64_t& x) {
  x = shmcast::test::mix64(x);
  if (x % 16 != 0) return;
  if ((x >> 8) % 64 == 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds((x >> 16) % 20'000);
  while (std::chrono::steady_clock::now() < until) {
  }
}

// The producer of the two tests below publishes in bursts of up to 48 messages (up to
// three laps of this mix of sizes) and pauses up to 10 us between them: a reader on
// another core catches up in a pause and is lapped in a long burst, in the middle of
// whatever it was reading. (At full speed a 4 KiB ring, which stays in the producer's L1
// cache, is lapped in less time than another core takes to fetch one record: no reader
// could deliver anything, and a latest reader would only ever be lapped.)
struct Pacer {
  std::uint64_t burst = 0;
  void after(std::uint64_t seq) {
    if (burst-- != 0) return;
    const std::uint64_t r = shmcast::test::mix64(seq ^ 0xFACE);
    burst = r % 48;
    const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds((r >> 8) % 10'000);
    while (std::chrono::steady_clock::now() < until) {
    }
  }
};

struct Verifier {
  // True if `m` is exactly message m.seq of the stream.
  virtual bool operator()(const Message& m) const = 0;
  virtual ~Verifier() = default;
};

// Reads with try_read or with peek/confirm (`in_place`) until the producer is done and it
// has caught up; counts what breaks a promise.
int stalling_reader(const std::string& ring, Shared& s, Tally& t, const ReaderOptions& options, bool in_place,
                    const Verifier& verify) {
  Reader r(ring, options);
  s.attached.fetch_add(1);
  while (s.go.load() == 0) std::this_thread::yield();
  std::uint64_t start = r.position();
  bool first = true;
  std::uint64_t last = 0;
  std::uint64_t x = static_cast<std::uint64_t>(::getpid()) * 7919;
  std::array<Message, 8> out{};
  std::uint64_t idle = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  const auto delivered_one = [&](const Message& m) {
    if (!first && m.seq <= last) ++t.stale;
    last = m.seq;
    first = false;
  };
  for (;;) {
    const std::uint64_t final_head = s.final_head.load(std::memory_order_acquire);
    if (final_head != UINT64_MAX && r.position() >= final_head) break;
    if (std::chrono::steady_clock::now() > give_up) return 3;
    ReadResult e;
    if (in_place) {
      // Poll as read() does: a reader that gave the CPU away after every empty read would
      // be lapped before it looked again, every time.
      const std::uint64_t at = r.position();
      const Reader::Batch b = r.peek(std::span(out.data(), 1 + x % out.size()));
      if (b.count != 0) {
        if (first) start = r.start();
        std::uint64_t bad = 0;
        for (std::size_t i = 0; i < b.count; ++i) {
          // (A first event may come from a start taken again: only its order is checked.)
          if (out[i].seq != (first ? out[0].seq : at) + i) ++t.disorder;
          if (!verify(out[i])) ++bad;
        }
        stall_sometimes(x);
        if (r.confirm()) {
          ++t.confirmed;
          t.corrupt += bad;
          for (std::size_t i = 0; i < b.count; ++i) delivered_one(out[i]);
          t.delivered += b.count;
        } else {
          ++t.refused;
          t.forged += bad;  // torn or forged bytes that confirm refused: as it must
        }
        continue;
      }
      e = b.event;
      if (e.status == ReadStatus::empty) {
        if (++idle % 1024 == 0) std::this_thread::yield();
        continue;
      }
    } else {
      e = r.read(std::chrono::milliseconds(1));
      if (e.status == ReadStatus::empty) continue;
    }
    idle = 0;
    if (first) start = r.start();
    if (e.status == ReadStatus::message) {
      if (!verify(e.message)) ++t.corrupt;
      if (e.message.seq + 1 != r.position()) ++t.disorder;
      delivered_one(e.message);
      ++t.delivered;
      stall_sometimes(x);
    } else if (e.status == ReadStatus::gap) {
      if (!first && e.gap.first <= last) ++t.stale;
      if (e.gap.first + e.gap.missed != r.position() || e.gap.missed == 0) ++t.disorder;
      first = false;
      ++t.gaps;
      t.missed += e.gap.missed;
    } else {
      ++t.disorder;
    }
  }
  if (first) start = r.start();  // no event at all: a latest start taken again and again
  t.span = r.position() - start;
  t.accounting_ok = t.delivered == r.delivered() && t.missed == r.missed() && t.delivered + t.missed == t.span;
  t.done = 1;
  return 0;
}

struct SizedVerifier final : Verifier {
  std::size_t max;
  explicit SizedVerifier(std::size_t m) : max(m) {}
  bool operator()(const Message& m) const override {
    return shmcast::test::verify_sized(m.payload, m.seq, max) && m.type == shmcast::test::sized_type(m.seq);
  }
};

void report(const char* what, std::size_t i, const Tally& t) {
  std::printf("  %s, reader %zu: delivered %llu of %llu, missed %llu in %llu gaps; in place: %llu confirmed, %llu refused "
              "(%llu torn or forged messages in them)\n",
              what, i, static_cast<unsigned long long>(t.delivered), static_cast<unsigned long long>(t.span),
              static_cast<unsigned long long>(t.missed), static_cast<unsigned long long>(t.gaps),
              static_cast<unsigned long long>(t.confirmed), static_cast<unsigned long long>(t.refused),
              static_cast<unsigned long long>(t.forged));
}

// `must_deliver`: readers that resume at the oldest record held must deliver something;
// a latest reader on a ring lapped in less time than a stall may not.
void check_tally(const Tally& t, std::uint64_t messages, bool whole_span, bool must_deliver = true) {
  INFO("delivered " << t.delivered << ", missed " << t.missed << " in " << t.gaps << " gaps, span " << t.span
                    << "; stale " << t.stale << ", disorder " << t.disorder << ", corrupt " << t.corrupt);
  CHECK(t.done == 1);
  CHECK(t.corrupt == 0);
  CHECK(t.stale == 0);
  CHECK(t.disorder == 0);
  CHECK(t.accounting_ok == 1);
  if (whole_span) CHECK(t.span == messages);
  if (must_deliver) CHECK(t.delivered > 0);
}

}  // namespace

// The latest point is found through the index entry of the newest record; the producer
// may have gone round the index since, or overwritten that record, and a reader that
// trusted a stale entry would deliver an old lap's record, or go back in sequence. Readers
// with GapPolicy::latest (copying and in place) are lapped again and again; another process
// attaches fresh latest readers over and over, each of which must start at or after the
// head it saw before attaching.
TEST_CASE("hazard: stale records after jumping to latest: sequences only increase, every record is its own",
          "[hazard][process]") {
  RingGuard g(unique_ring("latest"));
  { Producer create = Producer::create(g.name, kTiny); }
  SharedMapping m;
  Shared& s = *m.shared;
  const std::uint64_t messages = kSanitized ? 50'000 : 300'000;
  constexpr std::uint64_t kSlowTail = 200;
  const SizedVerifier verify(kTiny.message_limit());
  const ReaderOptions latest{.start = StartAt::latest, .on_gap = GapPolicy::latest, .wait = WaitStrategy::spin_yield};
  std::vector<pid_t> readers;
  readers.push_back(shmcast::test::spawn([&] { return stalling_reader(g.name, s, s.readers[0], latest, false, verify); }));
  readers.push_back(shmcast::test::spawn([&] { return stalling_reader(g.name, s, s.readers[1], latest, true, verify); }));
  // Fresh latest readers, one after another, for as long as the producer runs.
  readers.push_back(shmcast::test::spawn([&] {
    Tally& t = s.readers[2];
    Reader probe(g.name, {.register_reader = false});
    s.attached.fetch_add(1);
    while (s.go.load() == 0) std::this_thread::yield();
    std::uint64_t attaches = 0;
    while (s.final_head.load(std::memory_order_acquire) == UINT64_MAX) {
      const std::uint64_t head_before = probe.head();
      Reader r(g.name, {.start = StartAt::latest, .on_gap = GapPolicy::latest, .register_reader = false});
      ++attaches;
      if (r.position() < head_before) ++t.stale;
      std::uint64_t last = 0;
      bool first = true;
      for (int i = 0, empty = 0; i < 16 && empty < 2; ++i) {
        const ReadResult e = r.read(std::chrono::microseconds(500));
        empty = e ? 0 : empty + 1;
        if (e.status == ReadStatus::message) {
          if (!verify(e.message)) ++t.corrupt;
          if (e.message.seq < head_before || (!first && e.message.seq <= last)) ++t.stale;
          last = e.message.seq;
          first = false;
          ++t.delivered;
        } else if (e.status == ReadStatus::gap) {
          if (e.gap.first < head_before || (!first && e.gap.first <= last)) ++t.stale;
          ++t.gaps;
        }
      }
      if (r.delivered() + r.missed() != r.position() - r.start()) ++t.disorder;
    }
    t.span = attaches;
    t.accounting_ok = 1;
    t.done = 1;
    return 0;
  }));
  while (s.attached.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const pid_t producer = shmcast::test::spawn([&] {
    Producer p = Producer::open(g.name);
    std::vector<std::byte> buf(p.max_message());
    Pacer pace;
    s.go.store(1);
    for (std::uint64_t seq = 0; seq < messages; ++seq) {
      p.publish(std::span(buf.data(), shmcast::test::fill_sized(buf.data(), seq, buf.size())), shmcast::test::sized_type(seq));
      if (seq + kSlowTail < messages) {
        pace.after(seq);
      } else {
        // The last ones slowly: a latest reader waiting at the head gets them even on a
        // loaded machine, so the checks above always check something.
        std::this_thread::sleep_for(std::chrono::microseconds(300));
      }
    }
    s.final_head.store(p.head(), std::memory_order_release);
    return 0;
  });
  CHECK(shmcast::test::wait_exit(producer) == 0);
  for (std::size_t i = 0; i < readers.size(); ++i) {
    CHECK(shmcast::test::wait_exit(readers[i]) == 0);
    report(i == 2 ? "fresh latest readers" : "latest", i, s.readers[i]);
    INFO("reader " << i);
    check_tally(s.readers[i], messages, false, false);
  }
  CHECK(s.readers[2].span > 0);  // attached (over and over) while the producer ran
  // Between them the latest readers delivered, so the checks above checked something.
  CHECK(s.readers[0].delivered + s.readers[1].delivered + s.readers[2].delivered > 0);
}

namespace {

// The stream of the hostile test: message seq has 40 + mix64(seq) % (max - 39) bytes.
// Bytes 0-7 hold mix64(seq) ^ fnv1a(bytes 8..), so a reader checks a message without
// knowing where it lay. At every 32-byte boundary of the data its payload covers, it
// holds the header a reader lapped there expects: the stamp of the record that began at
// that place in the producer's previous pass, a length of 8, the type that record would
// have, and 8 payload bytes that are not that record's.
std::size_t hostile_length(std::uint64_t seq, std::size_t max) { return 40 + shmcast::test::mix64(seq ^ 0xBAD) % (max - 39); }

bool verify_hostile(const Message& m, std::size_t max) {
  if (m.payload.size() != hostile_length(m.seq, max) || m.type != shmcast::test::sized_type(m.seq)) return false;
  std::uint64_t head = 0;
  std::memcpy(&head, m.payload.data(), 8);
  return head == (shmcast::test::mix64(m.seq) ^ shmcast::test::fnv1a(m.payload.data() + 8, m.payload.size() - 8));
}

struct HostileVerifier final : Verifier {
  std::size_t max;
  explicit HostileVerifier(std::size_t m) : max(m) {}
  bool operator()(const Message& m) const override { return verify_hostile(m, max); }
};

}  // namespace

TEST_CASE("hazard: hostile bytes: payloads that imitate the headers a lapped reader expects are never delivered",
          "[hazard][hostile][process]") {
  RingGuard g(unique_ring("hostile"));
  { Producer create = Producer::create(g.name, kTiny); }
  SharedMapping m;
  Shared& s = *m.shared;
  const std::uint64_t messages = kSanitized ? 50'000 : 300'000;
  const std::size_t max = kTiny.message_limit();
  const HostileVerifier verify(max);
  const std::array<ReaderOptions, 4> options{
      ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest, .wait = WaitStrategy::spin_yield},
      ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest, .wait = WaitStrategy::spin_yield},
      ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::latest, .wait = WaitStrategy::spin_yield},
      ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest, .wait = WaitStrategy::spin_yield},
  };
  std::vector<pid_t> readers;
  for (std::size_t i = 0; i < options.size(); ++i)
    readers.push_back(shmcast::test::spawn([&, i] {
      return stalling_reader(g.name, s, s.readers[i], options[i], /*in_place=*/i % 2 == 1, verify);
    }));
  while (s.attached.load() < static_cast<int>(options.size())) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const pid_t producer = shmcast::test::spawn([&] {
    Producer p = Producer::open(g.name);
    const test::RawRing raw(g.name, /*writable=*/false);  // where the next record goes: the producer's own tail
    const std::uint64_t ring = kTiny.ring_bytes;
    std::vector<std::uint64_t> began(ring / kRecordAlign, 0);  // the sequence whose record last began at each place
    std::vector<std::byte> buf(max);
    Pacer pace;
    s.go.store(1);
    for (std::uint64_t seq = 0; seq < messages; ++seq) {
      const std::size_t size = hostile_length(seq, max);
      std::uint64_t at = raw.producer().tail();
      if (ring - at % ring < record_bytes(size)) at += ring - at % ring;  // it will go to the data's start
      for (std::size_t i = 8; i < size; ++i) buf[i] = static_cast<std::byte>(shmcast::test::mix64(seq + i));
      for (std::size_t i = 8; i + kRecordAlign <= size; i += kRecordAlign) {
        const std::uint64_t place = (at + kRecordHeaderBytes + i) % ring;  // a 32-byte boundary of the data
        const std::uint64_t expected = began[place / kRecordAlign];
        const std::uint64_t stamp = detail::record_stamp(expected);
        const std::uint64_t length_type = 8 | (std::uint64_t{shmcast::test::sized_type(expected)} << 32);
        const std::uint64_t ts = 1'700'000'000'000'000'000ull + expected;
        std::memcpy(buf.data() + i, &stamp, 8);
        std::memcpy(buf.data() + i + 8, &length_type, 8);
        std::memcpy(buf.data() + i + 16, &ts, 8);
      }
      const std::uint64_t check = shmcast::test::mix64(seq) ^ shmcast::test::fnv1a(buf.data() + 8, size - 8);
      std::memcpy(buf.data(), &check, 8);
      p.publish(std::span(buf.data(), size), shmcast::test::sized_type(seq));
      began[(at % ring) / kRecordAlign] = seq;
      pace.after(seq);
    }
    s.final_head.store(p.head(), std::memory_order_release);
    return 0;
  });
  CHECK(shmcast::test::wait_exit(producer) == 0);
  for (std::size_t i = 0; i < readers.size(); ++i) {
    CHECK(shmcast::test::wait_exit(readers[i]) == 0);
    report(i % 2 == 1 ? "hostile, in place" : "hostile, copying", i, s.readers[i]);
    INFO("reader " << i);
    check_tally(s.readers[i], messages, true, options[i].on_gap == GapPolicy::oldest);
    CHECK(s.readers[i].gaps > 0);  // lapped, again and again
  }
}
