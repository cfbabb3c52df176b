// Producer liveness (an OFD lock test, not a pid guess) and ring replacement with
// reattach-with-backoff.
#include "fault_common.hpp"
#include "raw_ring.hpp"

#include <catch2/catch.hpp>

using namespace shmcast;
using namespace shmcast::fault;

namespace {

struct ProducerBlock {
  std::atomic<int> ready{0};
  std::atomic<std::uint64_t> ring_id{0};
};

// A child that becomes the ring's producer (creating it if asked), publishes `messages`,
// says so, and then sleeps until it is killed.
pid_t producer_process(const std::string& name, ProducerBlock* b, bool create, int messages, long delay_ms = 0) {
  return test::spawn([=]() -> int {
    ::alarm(60);
    if (delay_ms > 0) sleep_ms(delay_ms);
    Producer p = create ? Producer::create(name, Geometry{.ring_bytes = 8192}) : Producer::open(name);
    for (int i = 0; i < messages; ++i) p.publish(bytes_of("hello " + std::to_string(i)));
    b->ring_id.store(p.ring_id());
    b->ready.store(1);
    for (;;) ::pause();
  });
}

}  // namespace

TEST_CASE("producer death is visible: producer_alive() follows the producer's lock", "[fault][liveness]") {
  test::RingGuard guard(test::unique_ring("alive"));
  const std::string& name = guard.name;
  create_ring(name, Geometry{.ring_bytes = 8192});
  Reader r(name);
  CHECK_FALSE(r.producer_alive());  // the creator has let go
  CHECK_FALSE(inspect(name).producer_alive);

  SharedBlock<ProducerBlock> b;
  ChildGuard children;
  const pid_t first = children.add(producer_process(name, b.get(), false, 3));
  REQUIRE(eventually([&] { return b->ready.load() != 0; }, 10s));
  CHECK(r.producer_alive());
  CHECK(r.producer_pid() == first);
  RingStatus st = inspect(name);
  CHECK(st.producer_alive);
  CHECK(st.producer_pid == static_cast<std::uint32_t>(first));
  // A second producer is refused while the first lives, naming it.
  try {
    Producer second = Producer::open(name);
    FAIL("a second producer was let in");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::producer_active);
    CHECK_THAT(e.what(), Catch::Contains(std::to_string(first)));
  }

  ::kill(first, SIGKILL);
  REQUIRE(test::wait_exit(first) == 128 + SIGKILL);
  CHECK_FALSE(r.producer_alive());
  CHECK(r.producer_pid() == first);  // the pid stays as a record; liveness comes from the lock
  CHECK_FALSE(inspect(name).producer_alive);

  b->ready.store(0);
  const pid_t next = children.add(producer_process(name, b.get(), false, 2));
  REQUIRE(eventually([&] { return b->ready.load() != 0; }, 10s));
  CHECK(r.producer_alive());
  CHECK(r.producer_pid() == next);
  st = inspect(name);
  CHECK(st.producer_alive);
  CHECK(st.takeovers == 1);  // `next` took over from the killed `first`; `first` followed a clean create
  // The reader kept reading across the change of producer: 5 messages, in order, no gap.
  std::uint64_t delivered = 0;
  while (const ReadResult e = r.try_read()) {
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == delivered);
    ++delivered;
  }
  CHECK(delivered == 5);
  CHECK(r.missed() == 0);

  ::kill(next, SIGKILL);
  REQUIRE(test::wait_exit(next) == 128 + SIGKILL);
  CHECK_FALSE(r.producer_alive());
  CHECK_FALSE(inspect(name).producer_alive);
}

TEST_CASE("ring replaced: replaced() turns true and reattach() follows the new ring", "[fault][replace]") {
  test::RingGuard guard(test::unique_ring("replace"));
  const std::string& name = guard.name;
  create_ring(name, Geometry{.ring_bytes = 8192});
  ReaderOptions options;
  options.label = "follower";
  Reader r(name, options);
  const std::uint64_t old_id = r.ring_id();
  CHECK_FALSE(r.replaced());

  // Recreated in place (another geometry, new id): noticed and followed at once.
  std::uint64_t new_id = 0;
  {
    Producer p = Producer::create(name, Geometry{.ring_bytes = 32 << 10, .max_message = 256}, CreateOptions{0600, true});
    new_id = p.ring_id();
    p.publish(bytes_of("on the new ring"));
    CHECK(r.replaced());
    CHECK(r.reattach(Backoff{1ms, 10ms, 1000ms}));
    CHECK_FALSE(r.replaced());
    CHECK(r.ring_id() == new_id);
    CHECK(new_id != old_id);
    CHECK(r.geometry() == Geometry{.ring_bytes = 32 << 10, .max_message = 256});
    const ReadResult e = r.read(1s);
    REQUIRE(e.status == ReadStatus::message);
    CHECK(text_of(e.message.payload) == "on the new ring");
  }

  // Removed, then created again 300 ms later by another process: reattach waits for it.
  Producer::remove(name);
  CHECK(r.replaced());
  SharedBlock<ProducerBlock> b;
  ChildGuard children;
  children.add(producer_process(name, b.get(), true, 1, 300));
  const auto t0 = Clock::now();
  CHECK(r.reattach(Backoff{5ms, 50ms, 0ms}));
  const auto waited = Clock::now() - t0;
  CHECK(waited >= 250ms);
  CHECK(waited < 300ms + 20s);  // a hang detector: timing belongs to the benchmark
  REQUIRE(eventually([&] { return b->ready.load() != 0; }, 10s));
  CHECK(r.ring_id() == b->ring_id.load());
  const ReadResult e = r.read(2s);
  REQUIRE(e.status == ReadStatus::message);
  CHECK(text_of(e.message.payload) == "hello 0");
}

TEST_CASE("ring replaced: a reader that began at latest reattaches at the oldest, and takes a lost start again there",
          "[fault][replace]") {
  test::RingGuard guard(test::unique_ring("replace-latest"));
  const std::string& name = guard.name;
  create_ring(name, Geometry{.ring_bytes = 4096});
  Reader r(name, ReaderOptions{.start = StartAt::latest});
  Producer p = Producer::create(name, Geometry{.ring_bytes = 4096}, CreateOptions{0600, true});
  for (int i = 0; i < 64; ++i) p.publish(bytes_of("m"));  // half the ring (32-byte records)
  REQUIRE(r.replaced());
  REQUIRE(r.reattach(Backoff{1ms, 10ms, 1000ms}));
  CHECK(r.position() == 0);
  for (int i = 0; i < 128; ++i) p.publish(bytes_of("m"));  // a ring more: the start is overwritten before the first read
  const std::uint64_t oldest = r.oldest();
  REQUIRE(oldest > 0);
  const ReadResult e = r.try_read();
  REQUIRE(e.status == ReadStatus::message);  // was empty, at head: the start taken again by `latest`
  CHECK(e.message.seq == oldest);
  CHECK(r.start() == oldest);
}

TEST_CASE("ring replaced: with give_up and no ring, reattach returns false after about give_up", "[fault][replace]") {
  test::RingGuard guard(test::unique_ring("giveup"));
  const std::string& name = guard.name;
  create_ring(name, Geometry{.ring_bytes = 8192});
  Reader r(name);
  const std::uint64_t id = r.ring_id();
  Producer::remove(name);
  CHECK(r.replaced());
  const auto t0 = Clock::now();
  CHECK_FALSE(r.reattach(Backoff{5ms, 40ms, 300ms}));
  const auto waited = Clock::now() - t0;
  CHECK(waited >= 300ms);
  CHECK(waited < 300ms + 20s);  // a hang detector: timing belongs to the benchmark
  CHECK(r.ring_id() == id);  // unchanged
  // A should_stop callback ends the wait too.
  int calls = 0;
  CHECK_FALSE(r.reattach(Backoff{1ms, 5ms, 0ms}, [&] { return ++calls >= 3; }));
  CHECK(calls == 3);
}

// Found by this suite (see the report): reattach() moves a fresh Reader into *this, and
// the fresh one's destructor then releases the registry entry *this now uses, so the
// reattached reader vanishes from `shmcast stat` while it goes on writing into a free entry.
TEST_CASE("ring replaced: a reattached reader stays registered in the new ring's registry",
          "[fault][replace]") {
  test::RingGuard guard(test::unique_ring("replace-reg"));
  create_ring(guard.name, Geometry{.ring_bytes = 8192});
  ReaderOptions options;
  options.label = "follower";
  Reader r(guard.name, options);
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 32 << 10, .max_message = 256}, CreateOptions{0600, true});
  REQUIRE(r.reattach(Backoff{1ms, 10ms, 1000ms}));
  CHECK(r.registered());
  const RingStatus st = inspect(guard.name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].label == "follower");
  CHECK(p.reader_count() == 1);
}

TEST_CASE("processes: a worker forked by a producer without exec holds its ring's lock until it exits, no longer",
          "[fault][liveness][fork]") {
  // Documented (docs/DESIGN.md, "Processes, faults and permissions"): the worker's copy of
  // the ring's mapping refers to the locked open file description.
  test::RingGuard guard(test::unique_ring("fork-lock"));
  const std::string& name = guard.name;
  SharedBlock<std::atomic<pid_t>> worker;
  const pid_t producer = test::spawn([&] {
    Producer p = Producer::create(name, Geometry{.ring_bytes = 4096});
    p.publish(bytes_of("before"));
    worker->store(test::spawn([]() -> int {
      ::alarm(60);
      for (;;) ::pause();
    }));
    ::raise(SIGKILL);
    return 0;
  });
  REQUIRE(test::wait_exit(producer) == 128 + SIGKILL);
  REQUIRE(worker->load() > 0);
  CHECK(inspect(name).producer_alive);
  ::kill(worker->load(), SIGKILL);  // the producer's child, not ours: init reaps it
  REQUIRE(eventually([&] { return !inspect(name).producer_alive; }, 10s));
  Producer successor = Producer::open(name);
  CHECK(successor.head() == 1);
}

TEST_CASE("processes: a child forked while a Producer exists does not mark its ring closed by destroying its copy",
          "[fault][liveness][fork]") {
  test::RingGuard guard(test::unique_ring("fork-close"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 4096});
  const pid_t child = test::spawn([&] {
    { Producer copy = std::move(p); }  // as returning from main would
    return 0;
  });
  REQUIRE(test::wait_exit(child) == 0);
  CHECK_FALSE(test::RawRing(guard.name).reserve().closed());  // a takeover after this producer's death must count
  CHECK(inspect(guard.name).producer_alive);
  p.publish(bytes_of("still mine"));
}

TEST_CASE("processes: a child that goes on producing (a daemon) marks the ring closed when it stops", "[fault][liveness][fork]") {
  test::RingGuard guard(test::unique_ring("fork-daemon"));
  const std::string& name = guard.name;
  const pid_t parent = test::spawn([&]() -> int {
    Producer p = Producer::create(name, Geometry{.ring_bytes = 4096});
    const pid_t daemon = test::spawn([&] {
      for (int i = 0; i < 20; ++i) p.publish(bytes_of("from the daemon"));  // past a horizon step (256 bytes)
      { Producer mine = std::move(p); }  // a clean stop
      return 0;
    });
    std::_Exit(test::wait_exit(daemon));  // as daemon(3)'s parent: no destructors
  });
  REQUIRE(test::wait_exit(parent) == 0);
  CHECK(test::RawRing(name).reserve().closed());  // was not: the next producer would count a takeover
  Producer next = Producer::open(name);
  CHECK(next.head() == 20);
  CHECK(inspect(name).takeovers == 0);
}

TEST_CASE("processes: the parent of a daemon that goes on producing does not mark the ring closed when it exits",
          "[fault][liveness][fork]") {
  test::RingGuard guard(test::unique_ring("fork-daemon-parent"));
  const std::string& name = guard.name;
  SharedBlock<std::atomic<int>> parent_gone;
  const pid_t parent = test::spawn([&]() -> int {
    Producer p = Producer::create(name, Geometry{.ring_bytes = 4096});
    (void)test::spawn([&]() -> int {  // the daemon: not waited for by anyone but init
      ::alarm(60);
      for (int i = 0; i < 20; ++i) p.publish(bytes_of("from the daemon"));
      while (parent_gone->load() == 0) ::usleep(1000);
      p.publish(bytes_of("last"));
      { Producer mine = std::move(p); }  // a clean stop
      return 0;
    });
    while (Reader(name, {.start = StartAt::oldest}).head() < 20) ::usleep(1000);
    return 0;  // the parent's copy destroyed: it did not write the newest record
  });
  REQUIRE(test::wait_exit(parent) == 0);
  CHECK_FALSE(test::RawRing(name).reserve().closed());  // was marked: a crash of the daemon would not count
  parent_gone->store(1);
  CHECK(eventually([&] { return test::RawRing(name).reserve().closed(); }, 20s));
}
