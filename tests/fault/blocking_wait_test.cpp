// Waiting strategies across processes: a reader blocked on the shared futex wakes on
// publish and times out when nothing comes; the producer makes no FUTEX_WAKE call while no
// reader is blocked; spin and spin_yield readers deliver too.
#include "fault_common.hpp"

#include <catch2/catch.hpp>

#include <cinttypes>
#include <cstdio>
#include <optional>
#include <thread>

using namespace shmcast;
using namespace shmcast::fault;

namespace {

struct WakeBlock {
  std::atomic<int> ready{0};
  std::atomic<int> stop{0};
  std::atomic<int> status{-1};        // ReadStatus of the read, as int
  std::atomic<std::uint64_t> seq{0};
  std::atomic<std::uint64_t> returned_ns{0};  // CLOCK_MONOTONIC when read() returned
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> missed{0};
  std::atomic<std::uint64_t> bad{0};
};

// A child that attaches with `wait`, says it is ready, and makes one read(timeout).
pid_t one_read_child(const std::string& name, WakeBlock* b, WaitStrategy wait, std::chrono::milliseconds timeout) {
  return test::spawn([=] {
    ::alarm(60);
    ReaderOptions options;
    options.wait = wait;
    options.label = "one-read";
    Reader r(name, options);
    b->ready.store(1);
    const ReadResult e = r.read(timeout);
    b->returned_ns.store(mono_ns());
    b->status.store(static_cast<int>(e.status));
    if (e.status == ReadStatus::message) b->seq.store(e.message.seq);
    return 0;
  });
}

// A child that reads continuously with `wait` until told to stop, then drains.
pid_t streaming_child(const std::string& name, WakeBlock* b, WaitStrategy wait) {
  return test::spawn([=] {
    ::alarm(120);
    ReaderOptions options;
    options.wait = wait;
    options.label = "streaming";
    Reader r(name, options);
    r.seek(r.position());  // fixes the start: a loss before the first read is a gap, not a new start
    b->ready.store(1);
    std::uint64_t expect = r.position(), delivered = 0, bad = 0;
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
        ++delivered;
      } else if (e.status == ReadStatus::gap) {
        expect = e.gap.first + e.gap.missed;
      }
    }
    b->delivered.store(r.delivered());
    b->missed.store(r.missed());
    b->bad.store(bad + (delivered != r.delivered() ? 1 : 0));
    return 0;
  });
}

void publish_checked(Producer& p) {
  alignas(8) std::byte buf[64];
  p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 32, p.head())));
}

// Waits until the ring's registry shows `n` blocked readers.
bool waiters_become(const std::string& name, std::uint32_t n) {
  return eventually([&] { return inspect(name).waiters == n; }, 10s);
}

}  // namespace

TEST_CASE("blocking wait: a reader blocked in another process wakes on publish, far below its timeout",
          "[fault][wait]") {
  test::RingGuard guard(test::unique_ring("wake"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 32 << 10});
  SharedBlock<WakeBlock> b;
  ChildGuard children;
  const pid_t child = children.add(one_read_child(guard.name, b.get(), WaitStrategy::block, 10s));
  REQUIRE(eventually([&] { return b->ready.load() != 0; }, 10s));
  REQUIRE(waiters_become(guard.name, 1));  // it is inside the futex wait now
  sleep_ms(50);
  const RingStatus st = inspect(guard.name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].waiting);
  CHECK(p.wakeups() == 0);
  const std::uint64_t published_at = mono_ns();
  publish_checked(p);
  CHECK(p.wakeups() >= 1);
  REQUIRE(wait_exit_for(child, 30s) == 0);
  CHECK(b->status.load() == static_cast<int>(ReadStatus::message));
  CHECK(b->seq.load() == 0);
  const double wake_ms = static_cast<double>(b->returned_ns.load() - published_at) / 1e6;
  std::printf("blocking wait: cross-process wake-up %.3f ms after publish (timeout 10 s)\n", wake_ms);
  CHECK(wake_ms < 5000.0);  // woken (wakeups() above), not timed out after 10 s; no finer bound on a loaded machine
  // Nobody blocked any more: the producer is back to no system call per publish.
  REQUIRE(waiters_become(guard.name, 0));
  const std::uint64_t w = p.wakeups();
  for (int i = 0; i < 10000; ++i) publish_checked(p);
  CHECK(p.wakeups() == w);
}

TEST_CASE("blocking wait: a snapshot wakes a reader asleep, as a message does", "[fault][wait][snapshot]") {
  test::RingGuard guard(test::unique_ring("snapwake"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 32 << 10, .snapshot_capacity = 64});
  SharedBlock<WakeBlock> b;
  ChildGuard children;
  const pid_t child = children.add(one_read_child(guard.name, b.get(), WaitStrategy::block, 10s));
  REQUIRE(eventually([&] { return b->ready.load() != 0; }, 10s));
  REQUIRE(waiters_become(guard.name, 1));
  CHECK(p.wakeups() == 0);
  // A reader waiting out a stale snapshot waits for the next one: the producer owes it a wake.
  const std::uint64_t state = 42;
  p.publish_snapshot(std::as_bytes(std::span(&state, 1)));
  CHECK(p.wakeups() == 1);
  publish_checked(p);
  REQUIRE(wait_exit_for(child, 30s) == 0);
  CHECK(b->status.load() == static_cast<int>(ReadStatus::message));
}

// A predecessor may have died between a commit and the wake it owed: its successor wakes
// whoever is asleep as it takes the ring, before it publishes anything.
TEST_CASE("blocking wait: a producer taking the ring over wakes readers asleep on it", "[fault][wait]") {
  test::RingGuard guard(test::unique_ring("takewake"));
  { Producer first = Producer::create(guard.name, Geometry{.ring_bytes = 32 << 10}); }
  SharedBlock<WakeBlock> b;
  ChildGuard children;
  const pid_t child = children.add(one_read_child(guard.name, b.get(), WaitStrategy::block, 10s));
  REQUIRE(eventually([&] { return b->ready.load() != 0; }, 10s));
  REQUIRE(waiters_become(guard.name, 1));
  sleep_ms(50);  // past the arming that follows the waiting mark
  Producer p = Producer::open(guard.name);
  CHECK(p.wakeups() == 1);
  publish_checked(p);
  REQUIRE(wait_exit_for(child, 30s) == 0);
  CHECK(b->status.load() == static_cast<int>(ReadStatus::message));
  CHECK(b->seq.load() == 0);
}

TEST_CASE("timeouts too long to add to the clock mean forever, not already past", "[fault][wait]") {
  test::RingGuard guard(test::unique_ring("maxwait"));
  SECTION("read(nanoseconds::max())") {
    Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 32 << 10});
    for (const WaitStrategy wait : {WaitStrategy::block, WaitStrategy::spin_yield}) {
      Reader r(guard.name, {.wait = wait});
      const std::uint64_t next = p.head();
      std::thread later([&] {
        sleep_ms(50);
        publish_checked(p);
      });
      const ReadResult e = r.read(std::chrono::nanoseconds::max());
      later.join();
      REQUIRE(e.status == ReadStatus::message);
      CHECK(e.message.seq == next);
    }
  }
  SECTION("attach_timeout milliseconds::max() with wait_for_ring") {
    std::thread later([&] {
      sleep_ms(50);
      Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 32 << 10});
    });
    std::optional<std::uint64_t> id;
    try {
      Reader r(guard.name, {.attach_timeout = std::chrono::milliseconds::max(), .wait_for_ring = true});
      id = r.ring_id();
    } catch (const Error&) {
    }
    later.join();
    CHECK(id.has_value());
  }
}

TEST_CASE("blocking wait: read(timeout) returns empty after about the timeout when nothing comes", "[fault][wait]") {
  test::RingGuard guard(test::unique_ring("timeout"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 32 << 10});
  SharedBlock<WakeBlock> b;
  ChildGuard children;
  for (const WaitStrategy wait : {WaitStrategy::block, WaitStrategy::spin, WaitStrategy::spin_yield}) {
    b->ready.store(0);
    const std::uint64_t started = mono_ns();
    const pid_t child = children.add(one_read_child(guard.name, b.get(), wait, 300ms));
    REQUIRE(wait_exit_for(child, 30s) == 0);
    CHECK(b->status.load() == static_cast<int>(ReadStatus::empty));
    const double elapsed_ms = static_cast<double>(b->returned_ns.load() - started) / 1e6;
    INFO("strategy " << static_cast<int>(wait) << " returned after " << elapsed_ms << " ms");
    // It waited, and it came back: how promptly is the benchmark's business, not a test's
    // on a loaded machine (the bound only catches a hang).
    CHECK(elapsed_ms >= 300.0);
    CHECK(elapsed_ms < 300.0 + 20'000.0);
  }
  // In-process too, where the timing is not blurred by fork.
  Reader r(guard.name);
  const auto t0 = Clock::now();
  CHECK(r.read(200ms).status == ReadStatus::empty);
  const auto waited = Clock::now() - t0;
  CHECK(waited >= 200ms);
  CHECK(waited < 200ms + 20s);
  CHECK(p.wakeups() == 0);  // blocked readers that time out are never woken
}

TEST_CASE("blocking wait: no FUTEX_WAKE over a million publishes while no reader blocks", "[fault][wait]") {
  test::RingGuard guard(test::unique_ring("nowake"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 256 << 10});
  const std::uint64_t n = kSanitized ? 100'000 : 1'000'000;
  // No reader at all.
  for (std::uint64_t i = 0; i < n; ++i) publish_checked(p);
  CHECK(p.wakeups() == 0);
  // A registered reader that never reads, and a spinning and a yielding reader in other processes.
  Reader idle(guard.name);
  SharedBlock<WakeBlock> spin_b, yield_b;
  ChildGuard children;
  const pid_t spinner = children.add(streaming_child(guard.name, spin_b.get(), WaitStrategy::spin));
  const pid_t yielder = children.add(streaming_child(guard.name, yield_b.get(), WaitStrategy::spin_yield));
  REQUIRE(eventually([&] { return spin_b->ready.load() != 0 && yield_b->ready.load() != 0; }, 10s));
  for (std::uint64_t i = 0; i < n; ++i) publish_checked(p);
  CHECK(p.wakeups() == 0);
  CHECK(inspect(guard.name).waiters == 0);
  spin_b->stop.store(1);
  yield_b->stop.store(1);
  REQUIRE(wait_exit_for(spinner, 60s) == 0);
  REQUIRE(wait_exit_for(yielder, 60s) == 0);
  for (const WakeBlock* b : {spin_b.get(), yield_b.get()}) {
    CHECK(b->bad.load() == 0);
    CHECK(b->delivered.load() > 0);
    CHECK(b->delivered.load() + b->missed.load() == n);
  }
  CHECK(p.wakeups() == 0);
  std::printf("blocking wait: %" PRIu64 " publishes with no reader and %" PRIu64
              " with spinning/yielding readers: %" PRIu64 " FUTEX_WAKE calls\n",
              n, n, p.wakeups());

  // Once a reader blocks, the producer does wake it.
  SharedBlock<WakeBlock> b;
  const pid_t blocker = children.add(one_read_child(guard.name, b.get(), WaitStrategy::block, 10s));
  REQUIRE(waiters_become(guard.name, 1));
  publish_checked(p);
  REQUIRE(wait_exit_for(blocker, 30s) == 0);
  CHECK(b->status.load() == static_cast<int>(ReadStatus::message));
  CHECK(p.wakeups() > 0);
}

TEST_CASE("waiting strategies: block, spin and spin_yield readers in other processes all deliver every message",
          "[fault][wait]") {
  test::RingGuard guard(test::unique_ring("strategies"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 4 << 20});
  const std::uint64_t n = kSanitized ? 20'000 : 50'000;  // less than a lap: nobody may miss anything
  for (const WaitStrategy wait : {WaitStrategy::block, WaitStrategy::spin, WaitStrategy::spin_yield}) {
    SharedBlock<WakeBlock> b;
    ChildGuard children;
    const std::uint64_t base = p.head();
    const pid_t child = children.add(streaming_child(guard.name, b.get(), wait));
    REQUIRE(eventually([&] { return b->ready.load() != 0; }, 10s));
    for (std::uint64_t i = 0; i < n; ++i) {
      publish_checked(p);
      if (i % 1000 == 999) sleep_ms(1);  // let a blocking reader fall asleep now and then
    }
    b->stop.store(1);
    REQUIRE(wait_exit_for(child, 60s) == 0);
    INFO("strategy " << static_cast<int>(wait));
    CHECK(b->bad.load() == 0);
    CHECK(b->delivered.load() == n);
    CHECK(b->missed.load() == 0);
    (void)base;
  }
  // And a single wake-up through each strategy: one message, read long before the timeout.
  for (const WaitStrategy wait : {WaitStrategy::spin, WaitStrategy::spin_yield}) {
    SharedBlock<WakeBlock> b;
    ChildGuard children;
    const pid_t child = children.add(one_read_child(guard.name, b.get(), wait, 10s));
    REQUIRE(eventually([&] { return b->ready.load() != 0; }, 10s));
    sleep_ms(20);
    const std::uint64_t published_at = mono_ns();
    publish_checked(p);
    REQUIRE(wait_exit_for(child, 30s) == 0);
    CHECK(b->status.load() == static_cast<int>(ReadStatus::message));
    CHECK(static_cast<double>(b->returned_ns.load() - published_at) / 1e6 < 500.0);
  }
}
