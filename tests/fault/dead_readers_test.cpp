// Readers that die: a registered reader SIGKILLed while reading, and one killed while
// blocked in a futex wait. Their entries are reclaimed; the producer and the other readers
// are unaffected, and a dead waiter does not leave the producer calling FUTEX_WAKE forever.
#include "fault_common.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <vector>

using namespace shmcast;
using namespace shmcast::fault;

namespace {

struct VictimBlock {
  std::atomic<int> ready{0};
  std::atomic<int> stop{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> missed{0};
  std::atomic<std::uint64_t> span{0};
  std::atomic<std::uint64_t> bad{0};
};

void publish_some(Producer& p, int n) {
  alignas(8) std::byte buf[64];
  for (int i = 0; i < n; ++i) p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 40, p.head())));
}

// A reader process: reads (spinning) until told to stop, or blocks in one long read.
pid_t reader_process(const std::string& name, VictimBlock* b, bool block_once, bool register_reader,
                     const std::string& label) {
  return test::spawn([=] {
    ::alarm(60);
    ReaderOptions options;
    options.label = label;
    options.register_reader = register_reader;
    options.wait = block_once ? WaitStrategy::block : WaitStrategy::spin_yield;
    options.start = StartAt::sequence;  // every message from the first: a loss before the first read counts
    options.start_seq = 0;
    Reader r(name, options);
    const std::uint64_t start = r.position();
    b->ready.store(1);
    if (block_once) {
      (void)r.read(50s);
      return 0;
    }
    std::uint64_t expect = start, bad = 0;
    for (;;) {
      const bool stopping = b->stop.load() != 0;
      const ReadResult e = r.read(10ms);
      if (!e) {
        if (stopping) break;
        continue;
      }
      if (e.status == ReadStatus::message) {
        if (e.message.seq != expect || !test::verify_payload(e.message.payload, e.message.seq)) ++bad;
        expect = e.message.seq + 1;
      } else if (e.status == ReadStatus::gap) {
        expect = e.gap.first + e.gap.missed;
      }
    }
    b->delivered.store(r.delivered());
    b->missed.store(r.missed());
    b->span.store(r.position() - start);
    b->bad.store(bad);
    return 0;
  });
}

const ReaderStatus* find_reader(const RingStatus& st, const std::string& label) {
  for (const ReaderStatus& r : st.readers)
    if (r.label == label) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("dead readers: a reader killed while reading is reclaimed, producer and other readers unaffected",
          "[fault][dead]") {
  test::RingGuard guard(test::unique_ring("deadreader"));
  const std::string& name = guard.name;
  Producer p = Producer::create(name, Geometry{.ring_bytes = 64 << 10});
  SharedBlock<VictimBlock> victim_b, other_b;
  ChildGuard children;
  const pid_t victim = children.add(reader_process(name, victim_b.get(), false, true, "victim"));
  const pid_t other = children.add(reader_process(name, other_b.get(), false, true, "survivor"));
  REQUIRE(eventually([&] { return victim_b->ready.load() && other_b->ready.load(); }, 10s));
  publish_some(p, 5000);
  CHECK(p.reader_count() == 2);

  ::kill(victim, SIGKILL);
  REQUIRE(test::wait_exit(victim) == 128 + SIGKILL);
  RingStatus st = inspect(name);
  REQUIRE(st.readers.size() == 2);
  const ReaderStatus* dead = find_reader(st, "victim");
  REQUIRE(dead != nullptr);
  CHECK_FALSE(dead->alive);
  CHECK(dead->pid == static_cast<std::uint32_t>(victim));
  CHECK(find_reader(st, "survivor")->alive);

  publish_some(p, 5000);  // the producer goes on as before
  CHECK(reap_dead_readers(name) == 1);
  CHECK(reap_dead_readers(name) == 0);
  st = inspect(name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].label == "survivor");
  CHECK(p.reader_count() == 1);
  publish_some(p, 5000);
  other_b->stop.store(1);
  REQUIRE(wait_exit_for(other, 30s) == 0);
  CHECK(other_b->bad.load() == 0);
  CHECK(other_b->delivered.load() + other_b->missed.load() == other_b->span.load());
  CHECK(other_b->span.load() == 15000);
  CHECK(p.wakeups() == 0);
}

TEST_CASE("dead readers: a reader killed while blocked in the futex wait stops costing wake-ups once reaped",
          "[fault][dead]") {
  test::RingGuard guard(test::unique_ring("deadwaiter"));
  const std::string& name = guard.name;
  Producer p = Producer::create(name, Geometry{.ring_bytes = 32 << 10});
  SharedBlock<VictimBlock> b;
  ChildGuard children;
  const pid_t victim = children.add(reader_process(name, b.get(), true, true, "sleeper"));
  REQUIRE(eventually([&] { return inspect(name).waiters == 1; }, 10s));
  {
    const RingStatus st = inspect(name);
    REQUIRE(st.readers.size() == 1);
    CHECK(st.readers[0].waiting);
  }
  ::kill(victim, SIGKILL);
  REQUIRE(test::wait_exit(victim) == 128 + SIGKILL);
  // The dead are not counted as blocked, reaped or not (operators read this figure); the
  // producer wakes once for the sleep the dead reader armed, and never again.
  {
    const RingStatus st = inspect(name);
    CHECK(st.waiters == 0);
    REQUIRE(st.readers.size() == 1);
    CHECK_FALSE(st.readers[0].alive);
    CHECK_FALSE(st.readers[0].waiting);
  }
  publish_some(p, 10);
  CHECK(p.wakeups() == 1);
  CHECK(reap_dead_readers(name) == 1);
  const RingStatus st = inspect(name);
  CHECK(st.waiters == 0);
  CHECK(st.readers.empty());
  const std::uint64_t w = p.wakeups();
  publish_some(p, 100000 / kSlow);
  CHECK(p.wakeups() == w);
}

// Found by this suite: a reader that does not register used to count itself in the wait
// line's `waiters` when it blocked; killed there, nothing could take its count back, and
// `stat` showed a blocked reader forever. Now only registered readers are counted. The
// producer decides to wake by the wait line's `armed` word, which it clears itself when it
// wakes, so such a death costs at most one FUTEX_WAKE.
TEST_CASE("dead readers: an unregistered reader killed while blocked leaves no count and no endless waking",
          "[fault][dead]") {
  test::RingGuard guard(test::unique_ring("deadanon"));
  const std::string& name = guard.name;
  Producer p = Producer::create(name, Geometry{.ring_bytes = 32 << 10});
  SharedBlock<VictimBlock> b;
  ChildGuard children;
  const pid_t victim = children.add(reader_process(name, b.get(), true, false, "anonymous"));
  REQUIRE(eventually([&] { return b->ready.load() != 0; }, 10s));
  REQUIRE(eventually([&] { return in_futex_call(victim); }, 10s));  // asleep on the wake word
  CHECK(inspect(name).waiters == 0);
  ::kill(victim, SIGKILL);
  REQUIRE(test::wait_exit(victim) == 128 + SIGKILL);
  reap_dead_readers(name);
  CHECK(inspect(name).waiters == 0);
  const std::uint64_t w = p.wakeups();
  publish_some(p, 1000);
  CHECK(p.wakeups() <= w + 1);  // the one wake the dead sleeper armed, then never again
  const std::uint64_t after = p.wakeups();
  publish_some(p, 1000);
  CHECK(p.wakeups() == after);
}

// Found by this suite: with every registry entry taken, a new reader reclaims a dead
// one's entry (claim_entry's second pass) and resets its flags without taking the dead
// reader's count out of the wait line, so the producer wakes forever.
TEST_CASE("dead readers: reclaiming a dead waiter's entry when the registry is full releases its wait count",
          "[fault][dead]") {
  test::RingGuard guard(test::unique_ring("deadfull"));
  const std::string& name = guard.name;
  Producer p = Producer::create(name, Geometry{.ring_bytes = 32 << 10});
  SharedBlock<VictimBlock> b;
  ChildGuard children;
  const pid_t victim = children.add(reader_process(name, b.get(), true, true, "sleeper"));
  REQUIRE(eventually([&] { return inspect(name).waiters == 1; }, 10s));
  ::kill(victim, SIGKILL);
  REQUIRE(test::wait_exit(victim) == 128 + SIGKILL);
  std::vector<std::unique_ptr<Reader>> fill;  // take every free entry: 128 in all, one dead
  for (int i = 0; i < 127; ++i) fill.push_back(std::make_unique<Reader>(name));
  REQUIRE(fill.back()->registered());
  Reader late(name);  // reclaims the dead sleeper's entry
  REQUIRE(late.registered());
  CHECK(reap_dead_readers(name) == 0);  // nothing dead is left to reap
  const std::uint64_t w = p.wakeups();
  publish_some(p, 1000);
  CHECK(inspect(name).waiters == 0);
  CHECK(p.wakeups() <= w + 1);  // at most the one wake the dead sleeper armed
  const std::uint64_t after = p.wakeups();
  publish_some(p, 1000);
  CHECK(p.wakeups() == after);
}

// Found by this suite: Reader's defaulted move operations copy the raw entry pointer
// without clearing it in the source, so the moved-from Reader's destructor releases the
// entry the new owner uses, and move assignment leaks the target's own entry.
TEST_CASE("dead readers: a moved Reader keeps its registry entry", "[fault][dead]") {
  test::RingGuard guard(test::unique_ring("movector"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 8192});
  ReaderOptions options;
  options.label = "moved";
  std::optional<Reader> a(std::in_place, guard.name, options);
  Reader b(std::move(*a));
  a.reset();  // the moved-from shell goes away
  CHECK(p.reader_count() == 1);
  const RingStatus st = inspect(guard.name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].label == "moved");
}

TEST_CASE("dead readers: a Reader overwritten by move assignment releases its old entry and keeps the new one",
          "[fault][dead]") {
  test::RingGuard guard(test::unique_ring("moveassign"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 8192});
  ReaderOptions first, second;
  first.label = "first";
  second.label = "second";
  Reader a(guard.name, first);
  a = Reader(guard.name, second);
  CHECK(p.reader_count() == 1);
  const RingStatus st = inspect(guard.name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].label == "second");
}
