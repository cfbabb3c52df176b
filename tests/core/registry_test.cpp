// The reader registry: a capacity chosen at creation, and counters an observer reads
// together while their reader runs in another process.
#include <catch2/catch.hpp>

#include "names.hpp"
#include "raw_ring.hpp"
#include "registry.hpp"
#include "test_support.hpp"

#include <shmcast/clock.hpp>
#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>
#include <shmcast/producer.hpp>
#include <shmcast/reader.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <optional>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>
#include <thread>
#include <vector>

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

TEST_CASE("the registry holds as many readers as the ring was created for, and one past it reads unregistered and says why",
          "[registry]") {
  RingGuard g(unique_ring("capacity"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096}, {.max_readers = 3});
  std::vector<Reader> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back(g.name, ReaderOptions{.label = std::string(1, 'r').append(std::to_string(i))});
    CHECK(readers.back().registered());
  }
  Reader extra(g.name, {.label = "extra"});
  CHECK_FALSE(extra.registered());
  CHECK(extra.registration_error().find("all 3 reader entries") != std::string::npos);
  CHECK(extra.registration_error().find("--max-readers") != std::string::npos);
  const RingStatus st = inspect(g.name);
  CHECK(st.max_readers == 3);
  CHECK(st.live_readers == 3);
  CHECK(p.reader_count() == 3);
  // The unregistered reader still reads.
  p.publish(bytes_of("m"));
  CHECK(extra.try_read().status == ReadStatus::message);
  readers.pop_back();  // an entry comes free
  Reader again(g.name, {.label = "again"});
  CHECK(again.registered());
}

TEST_CASE("a capacity out of range is refused before anything is created", "[registry][errors]") {
  RingGuard g(unique_ring("capacity-range"));
  for (const std::uint32_t bad : {std::uint32_t{0}, kMaxReadersLimit + 1}) {
    INFO("max_readers " << bad);
    try {
      (void)Producer::create(g.name, {.ring_bytes = 4096}, {.max_readers = bad});
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::invalid_argument);
      CHECK(std::string(e.what()).find(std::to_string(kMaxReadersLimit)) != std::string::npos);
    }
    CHECK_THROWS_AS(inspect(g.name), Error);  // nothing left behind
  }
}

TEST_CASE("a registry at the largest capacity: readers register in it and the observer lists them", "[registry]") {
  RingGuard g(unique_ring("capacity-max"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096}, {.max_readers = kMaxReadersLimit});
  std::vector<Reader> readers;
  for (int i = 0; i < 40; ++i) readers.emplace_back(g.name, ReaderOptions{.label = std::string(1, 'r').append(std::to_string(i))});
  for (const Reader& r : readers) CHECK(r.registered());
  const RingStatus st = inspect(g.name);
  CHECK(st.max_readers == kMaxReadersLimit);
  CHECK(st.readers.size() == 40);
  CHECK(st.live_readers == 40);
}

namespace {

struct StopFlag {
  std::atomic<int> stop{0};
  std::atomic<int> ready{0};
};

}  // namespace

TEST_CASE("processes: an observer reads a running reader's counters at one moment: delivered + missed == position - start",
          "[registry][processes]") {
  RingGuard g(unique_ring("counters"));
  // A 4 KiB ring (about 60 records of 64 bytes) and bursts of 1000 messages: the reader is lapped in every burst, so its
  // position, delivered and missed all move while the observer samples them. Between
  // bursts the producer sleeps, leaving the two cores to the reader and the observer.
  Producer p = Producer::create(g.name, {.ring_bytes = 4096});
  auto* flag = static_cast<StopFlag*>(::mmap(nullptr, sizeof(StopFlag), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  REQUIRE(flag != MAP_FAILED);
  new (flag) StopFlag{};
  const pid_t child = test::spawn([&] {
    Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .wait = WaitStrategy::spin, .label = "busy"});
    flag->ready.store(1);
    while (flag->stop.load(std::memory_order_relaxed) == 0) (void)r.read(std::chrono::milliseconds(10));
    return 0;
  });
  while (flag->ready.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::atomic<bool> stop_producer{false};
  std::thread producer([&] {
    alignas(8) std::byte buf[40] = {};
    while (!stop_producer.load(std::memory_order_relaxed)) {
      for (int i = 0; i < 1000; ++i) p.publish(std::span<const std::byte>(buf, sizeof buf));
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  // What `stat` reads for each reader (RingObserver::sample copies each entry this way),
  // as fast as it can be read, so that reads overlap the reader's writes often.
  std::string why;
  const std::optional<detail::Registry> registry = detail::open_registry(g.name, inspect(g.name).ring_id, false, why);
  REQUIRE(registry);
  std::uint64_t samples = 0, disagree = 0, unflagged = 0, moving = 0, last_position = 0, unsettled = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < until) {
    for (int i = 0; i < 1000; ++i) {
      const detail::EntryCopy e = detail::copy_entry(*registry, 0);
      if (e.pid == 0) continue;
      ++samples;
      if (e.delivered + e.missed != e.position - e.start) {
        ++disagree;
        if (e.consistent) ++unflagged;
      }
      if (!e.consistent) ++unsettled;
      if (e.position != last_position) ++moving;
      last_position = e.position;
    }
  }
  // And through the observer, as `stat` shows it.
  const RingStatus st = inspect(g.name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].delivered + st.readers[0].missed == st.readers[0].position - st.readers[0].start);
  stop_producer.store(true);
  producer.join();
  flag->stop.store(1);
  CHECK(test::wait_exit(child) == 0);
  ::munmap(flag, sizeof(StopFlag));
  INFO(samples << " samples, " << moving << " with the reader moved on, " << disagree << " disagreeing (" << unflagged
                << " of them not flagged), " << unsettled << " read while the counters never held still");
  CHECK(samples > 100);
  CHECK(moving > 100);  // the counters were moving while sampled
  // A copy whose counters disagree says so: only an owner preempted in the middle of
  // writing them for longer than the observer waits (milliseconds) leaves one unsettled.
  CHECK(unflagged == 0);
  CHECK(disagree <= unsettled);
  CHECK(unsettled * 10000 <= samples);
}

TEST_CASE("a registry whose header claims more entries than its object holds is refused, and readers read unregistered",
          "[registry][errors]") {
  RingGuard g(unique_ring("capacity-lie"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096}, {.max_readers = 2});
  {
    const int fd = ::shm_open(test::shm_name(detail::registry_object_name(g.name)).c_str(), O_RDWR, 0);
    REQUIRE(fd >= 0);
    void* map = ::mmap(nullptr, detail::kRegistryEntriesOffset, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    REQUIRE(map != MAP_FAILED);
    static_cast<detail::RegistryHeader*>(map)->entry_count = 4096;  // the object holds 2
    ::munmap(map, detail::kRegistryEntriesOffset);
  }
  Reader r(g.name, {.label = "lied-to"});
  CHECK_FALSE(r.registered());
  CHECK(r.registration_error().find("truncated") != std::string::npos);
  const RingStatus st = inspect(g.name);
  CHECK(st.readers.empty());
  CHECK(st.registry_error.find("truncated") != std::string::npos);
  p.publish(bytes_of("still read"));
  CHECK(r.try_read().status == ReadStatus::message);
}

TEST_CASE("an entry's counter version only grows across owners, even after one killed mid-write", "[registry]") {
  RingGuard g(unique_ring("version-handover"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096}, {.max_readers = 1});
  std::string why;
  const std::optional<detail::Registry> registry = detail::open_registry(g.name, inspect(g.name).ring_id, true, why);
  REQUIRE(registry);
  detail::ReaderEntry* entry = registry->entry(0);
  { Reader first(g.name, {.label = "first"}); }
  // What an owner killed inside publish_counters leaves: an odd version, far along.
  entry->counters_version_.store(101, std::memory_order_relaxed);
  Reader second(g.name, {.label = "second"});
  REQUIRE(second.registered());
  const std::uint64_t v = entry->counters_version_.load(std::memory_order_relaxed);
  CHECK(v > 101);   // not restarted from 0: an observer holding 2 from before cannot match
  CHECK(v % 2 == 0);  // and settled: the copy below is one moment's
  const detail::EntryCopy c = detail::copy_entry(*registry, 0);
  CHECK(c.consistent);
  CHECK(c.position == second.position());
}

TEST_CASE("processes: a child forked while a Reader exists does not free its parent's entry by destroying its copy",
          "[registry][fork]") {
  RingGuard g(unique_ring("fork-entry"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096});
  Reader r(g.name, {.label = "parent"});
  REQUIRE(r.registered());
  const pid_t child = shmcast::test::spawn([&] {
    { Reader copy = std::move(r); }  // as returning from main, or a Python close(), would
    return 0;
  });
  REQUIRE(shmcast::test::wait_exit(child) == 0);
  const RingStatus st = inspect(g.name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].pid == static_cast<std::uint32_t>(::getpid()));
  // A second reader takes another entry, not the parent's.
  Reader other(g.name, {.label = "other"});
  REQUIRE(other.registered());
  CHECK(inspect(g.name).readers.size() == 2);
}

TEST_CASE("a reader's activity stamp is the clock's, not the timestamps of the messages it reads", "[registry]") {
  RingGuard g(unique_ring("activity"));
  Producer p = Producer::create(g.name, {.ring_bytes = 256 << 10});
  Reader copying(g.name, {.start = StartAt::sequence, .start_seq = 0, .label = "copying"});
  Reader in_place(g.name, {.start = StartAt::sequence, .start_seq = 0, .label = "in place"});
  const std::uint64_t t0 = now_ns();
  // Replayed messages keep their source's timestamps: here, 1 ns after the epoch.
  for (int i = 0; i < 5000; ++i) p.publish(bytes_of("old news"), 0, 1);
  std::uint64_t read = 0;
  while (copying.try_read()) ++read;
  REQUIRE(read == 5000);
  std::array<Message, 64> batch;
  read = 0;
  while (const std::size_t n = in_place.peek(batch).count) {
    REQUIRE(in_place.confirm());
    read += n;
  }
  REQUIRE(read == 5000);
  const RingStatus st = inspect(g.name);
  REQUIRE(st.readers.size() == 2);
  for (const ReaderStatus& r : st.readers) {
    INFO(r.label);
    CHECK(r.last_active_ns >= t0);  // was 1: "active 56 years ago"
  }
}

TEST_CASE("processes: a reader that exited but was not yet waited for (a zombie) is dead, and its entry is reaped",
          "[registry][fork]") {
  RingGuard g(unique_ring("zombie"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096});
  const pid_t child = shmcast::test::spawn([&] {
    static Reader r(g.name, {.label = "zombie"});  // never destroyed: _Exit leaves the entry claimed
    return r.registered() ? 0 : 1;
  });
  siginfo_t info{};
  REQUIRE(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) == 0);  // exited, not reaped
  const RingStatus st = inspect(g.name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].pid == static_cast<std::uint32_t>(child));
  CHECK_FALSE(st.readers[0].alive);  // was alive: /proc/PID/stat stays, with its start time, until the wait
  CHECK(reap_dead_readers(g.name) == 1);
  CHECK(shmcast::test::wait_exit(child) == 0);
}

namespace {
char proc_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const std::size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() ? text[paren + 2] : '\0';
}
}  // namespace

TEST_CASE("processes: a reader whose process's main thread has exited while the reading thread runs is alive",
          "[registry][fork]") {
  RingGuard g(unique_ring("zombie-leader"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096});
  auto* ready = static_cast<std::atomic<int>*>(
      ::mmap(nullptr, sizeof(std::atomic<int>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  REQUIRE(ready != MAP_FAILED);
  new (ready) std::atomic<int>(0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::alarm(60);
    std::thread([name = g.name, ready] {
      Reader r(name, {.label = "worker thread"});
      ready->store(r.registered() ? 1 : 2);
      for (;;) ::pause();
    }).detach();
    ::syscall(SYS_exit, 0);  // only the main thread ends (no unwinding): /proc shows the process as 'Z'
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((ready->load() == 0 || proc_state(child) != 'Z') && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(ready->load() == 1);
  REQUIRE(proc_state(child) == 'Z');
  const RingStatus st = inspect(g.name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].alive);  // its thread still reads
  CHECK(reap_dead_readers(g.name) == 0);
  ::kill(child, SIGKILL);
  CHECK(shmcast::test::wait_exit(child) == 128 + SIGKILL);
  ::munmap(ready, sizeof(std::atomic<int>));
}
