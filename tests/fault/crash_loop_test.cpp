// Crash loop and restart continuity, against the library built with test hooks: the
// producer is killed inside publish (after the payload, before the commit stamp) and at
// random moments from outside, then restarted with Producer::open, many times. Readers
// run throughout and must never hang, crash, see a duplicate or a torn payload, and their
// accounting must be exact.
#include "fault_common.hpp"
#include "layout.hpp"
#include "raw_ring.hpp"
#include "test_hooks.hpp"

#include <catch2/catch.hpp>

#include <cinttypes>
#include <cstdio>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <vector>

using namespace shmcast;
using namespace shmcast::fault;

namespace {

std::uint64_t g_kill_at = UINT64_MAX;

void kill_self_at(std::uint64_t seq) {
  if (seq == g_kill_at) ::raise(SIGKILL);
}

// Whether the record where the producer's next one goes holds message `seq` half-written
// by a producer killed by the hook: header words and payload stored, no commit stamp.
bool half_written(const test::RawRing& raw, std::uint64_t seq) {
  const std::uint64_t at = raw.next_position();
  const std::size_t max = std::min<std::size_t>(raw.header().max_message, kMaxTestMessage);
  const detail::RecordMeta meta = raw.record(at).meta();
  return raw.record(at).stamp() == detail::kNothingYet && meta.length == test::sized_length(seq, max) &&
         meta.type == test::sized_type(seq) && test::check_pattern({raw.payload(at), meta.length}, seq);
}

struct LoopBlock {
  std::atomic<int> stop_readers{0};
  std::atomic<std::uint64_t> opened_head[512];  // head() each producer found after takeover
  std::atomic<int> producer_ready{0};
  ReaderReport readers[4];
};

// Child body: take the ring over and publish at full speed; with `kill_after` set, the
// hook SIGKILLs the process inside the publish of sequence head + kill_after.
int producer_child(const std::string& name, LoopBlock* block, int cycle, std::uint64_t kill_after, std::uint64_t limit,
                   std::uint64_t seed) {
  ::alarm(120);
  Producer p = [&] {
    try {
      return Producer::open(name);
    } catch (const Error& e) {
      std::fprintf(stderr, "cycle %d: Producer::open failed: %s\n", cycle, e.what());
      std::_Exit(3);
    }
  }();
  block->opened_head[cycle].store(p.head());
  if (kill_after != UINT64_MAX) {
    g_kill_at = p.head() + kill_after;
    detail::g_mid_publish_hook = &kill_self_at;
  }
  block->producer_ready.store(cycle + 1);
  Rng rng(seed);
  run_random_producer(p, rng, nullptr, limit);
  return 0;
}

}  // namespace

TEST_CASE("crash loop: producer killed mid-publish and at random, restarted, readers stay exact", "[fault][crash]") {
  test::RingGuard guard(test::unique_ring("crashloop"));
  const std::string& name = guard.name;
  create_ring(name, Geometry{.ring_bytes = 4096, .max_message = 512});
  SharedBlock<LoopBlock> block;
  ChildGuard children;
  const int cycles = kSanitized ? 20 : 50;

  const WaitStrategy waits[3] = {WaitStrategy::block, WaitStrategy::spin_yield, WaitStrategy::block};
  const StartAt starts[3] = {StartAt::latest, StartAt::oldest, StartAt::oldest};
  std::vector<pid_t> readers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(children.add(test::spawn([&, i] {
      ::alarm(300);
      return run_checked_reader(name, &block->readers[i], &block->stop_readers, waits[i], starts[i],
                                "crash-" + std::to_string(i));
    })));
    REQUIRE(eventually([&] { return block->readers[i].ready.load() != 0; }, 10s));
  }

  Rng rng(0xBADC0DEu ^ static_cast<std::uint64_t>(::getpid()));
  int hook_kills = 0, timed_kills = 0, odd_stamps = 0;
  std::uint64_t head_before = 0;
  std::uint64_t expect_next = UINT64_MAX;  // head a successor must find after a hook kill
  int exact_takeovers = 0;
  auto check_takeover = [&](int cycle) {
    const std::uint64_t opened = block->opened_head[cycle].load();
    if (expect_next != UINT64_MAX) {
      CHECK(opened == expect_next);  // takes over exactly at the half-written message
      ++exact_takeovers;
    }
    CHECK(opened >= head_before);  // never behind its predecessor
    head_before = opened;
    expect_next = UINT64_MAX;
  };
  for (int cycle = 0; cycle < cycles; ++cycle) {
    const bool by_hook = rng.below(2) == 0;
    const std::uint64_t kill_after = by_hook ? rng.below(kSanitized ? 3000 : 30000) : UINT64_MAX;
    const std::uint64_t seed = rng.next();
    const pid_t pid = children.add(
        test::spawn([&] { return producer_child(name, block.get(), cycle, kill_after, 50'000'000, seed); }));
    if (by_hook) {
      REQUIRE(wait_exit_for(pid, 120s) == 128 + SIGKILL);
      ++hook_kills;
      // The dead producer left message head half-written: its header words and payload
      // where the next record goes, still stamped "nothing yet"; head not advanced.
      const test::RawRing raw(name, /*writable=*/false);
      const std::uint64_t h = raw.producer().head();
      CHECK(h == block->opened_head[cycle].load() + kill_after);
      if (half_written(raw, h)) ++odd_stamps;
      check_takeover(cycle);
      expect_next = h;
    } else {
      REQUIRE(eventually([&] { return block->producer_ready.load() == cycle + 1; }, 30s));
      sleep_ms(static_cast<long>(rng.below(30)));
      ::kill(pid, SIGKILL);
      REQUIRE(wait_exit_for(pid, 60s) == 128 + SIGKILL);
      ++timed_kills;
      check_takeover(cycle);
    }
  }
  CHECK(odd_stamps == hook_kills);  // every hook kill left its record half-written

  // A last producer publishes a known tail and exits cleanly; readers drain to its head.
  const pid_t last = children.add(test::spawn([&] { return producer_child(name, block.get(), cycles, UINT64_MAX, 5000, 1); }));
  REQUIRE(wait_exit_for(last, 120s) == 0);
  check_takeover(cycles);
  const RingStatus ring = inspect(name);
  CHECK(ring.takeovers == static_cast<std::uint32_t>(cycles));  // every successor of a killed producer; not the first, after the clean create
  CHECK_FALSE(ring.producer_alive);
  CHECK(ring.published == ring.head);  // every message counted once, whatever store a kill fell after
  block->stop_readers.store(1);
  for (pid_t pid : readers) REQUIRE(wait_exit_for(pid, 120s) == 0);

  std::uint64_t corrupt = 0, delivered = 0;
  for (int i = 0; i < 3; ++i) {
    const ReaderReport& r = block->readers[i];
    INFO("reader " << i << " start " << r.start << " end " << r.end << " delivered " << r.delivered << " missed "
                   << r.missed << " gaps " << r.gaps << " corrupt " << r.corrupt << " disorder " << r.disorder);
    REQUIRE(r.finished.load() == 1);
    CHECK(r.delivered + r.missed == r.end - r.start);
    CHECK(r.lib_delivered.load() == r.delivered.load());
    CHECK(r.lib_missed.load() == r.missed.load());
    CHECK(r.corrupt.load() == 0);
    CHECK(r.disorder.load() == 0);
    CHECK(r.unexpected.load() == 0);
    CHECK(r.end.load() == ring.head);
    corrupt += r.corrupt;
    delivered += r.delivered;
  }
  std::printf("crash loop: %d cycles (%d killed mid-publish by the hook, %d SIGKILLed from outside), head %" PRIu64
              ", %d exact takeovers checked, delivered %" PRIu64 " over 3 readers, corruptions %" PRIu64 "\n",
              cycles, hook_kills, timed_kills, ring.head, exact_takeovers, delivered, corrupt);
  std::fflush(stdout);
}

TEST_CASE("restart continuity: a producer killed mid-publish leaves its record uncommitted, its successor continues without a gap",
          "[fault][crash]") {
  test::RingGuard guard(test::unique_ring("restart"));
  const std::string& name = guard.name;
  create_ring(name, Geometry{.ring_bytes = 1 << 20, .max_message = 104});
  SharedBlock<LoopBlock> block;
  ChildGuard children;
  constexpr std::uint64_t kFirst = 1000, kSecond = 1000;

  // A reader in another process blocked across the crash, keeping up (the ring holds everything).
  const pid_t watcher = children.add(test::spawn([&] {
    ::alarm(120);
    return run_checked_reader(name, &block->readers[0], &block->stop_readers, WaitStrategy::block, StartAt::oldest,
                              "restart-watcher");
  }));
  REQUIRE(eventually([&] { return block->readers[0].ready.load() != 0; }, 10s));
  ReaderOptions options;
  options.start = StartAt::oldest;
  Reader here(name, options);

  const pid_t first = children.add(test::spawn([&] { return producer_child(name, block.get(), 0, kFirst, UINT64_MAX, 7); }));
  REQUIRE(wait_exit_for(first, 60s) == 128 + SIGKILL);
  {
    const test::RawRing raw(name, /*writable=*/false);
    CHECK(raw.producer().head() == kFirst);
    CHECK(half_written(raw, kFirst));  // the half-written record
  }
  // Everything before the crash is there; the half-written message is not delivered.
  for (std::uint64_t i = 0; i < kFirst; ++i) {
    const ReadResult e = here.try_read();
    REQUIRE(e.status == ReadStatus::message);
    REQUIRE(e.message.seq == i);
    REQUIRE(test::verify_sized(e.message.payload, i, 104));
  }
  CHECK(here.try_read().status == ReadStatus::empty);
  CHECK_FALSE(here.producer_alive());

  const pid_t second = children.add(test::spawn([&] { return producer_child(name, block.get(), 1, UINT64_MAX, kSecond, 8); }));
  REQUIRE(wait_exit_for(second, 60s) == 0);
  CHECK(block->opened_head[1].load() == kFirst);  // took over at head: no skipped, no repeated sequence
  for (std::uint64_t i = kFirst; i < kFirst + kSecond; ++i) {
    const ReadResult e = here.try_read();
    REQUIRE(e.status == ReadStatus::message);
    REQUIRE(e.message.seq == i);
    REQUIRE(test::verify_sized(e.message.payload, i, 104));
  }
  CHECK(here.try_read().status == ReadStatus::empty);
  CHECK(here.delivered() == kFirst + kSecond);
  CHECK(here.missed() == 0);
  CHECK(here.gaps() == 0);

  block->stop_readers.store(1);
  REQUIRE(wait_exit_for(watcher, 60s) == 0);
  const ReaderReport& r = block->readers[0];
  CHECK(r.delivered.load() == kFirst + kSecond);
  CHECK(r.missed.load() == 0);
  CHECK(r.gaps.load() == 0);
  CHECK(r.corrupt.load() == 0);
  CHECK(r.disorder.load() == 0);
  CHECK(inspect(name).takeovers == 1);  // the second, after the kill; the first followed a clean create
}

TEST_CASE("restart continuity: a predecessor that committed but died before storing head, records and tail",
          "[fault][crash]") {
  test::RingGuard guard(test::unique_ring("restart-commit"));
  const std::string& name = guard.name;
  alignas(8) std::byte buf[104];
  const bool across_the_end = GENERATE(false, true);
  INFO((across_the_end ? "the record wrapped to the data's start" : "the record at the tail"));
  const std::uint64_t count = across_the_end ? 63 : 20;  // 63 records of 64 bytes: 64 bytes left before the end
  {
    Producer p = Producer::create(name, Geometry{.ring_bytes = 4096, .max_message = 104});
    for (std::uint64_t i = 0; i < count; ++i) p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 40, i)));
  }
  ReaderOptions options;
  options.start = StartAt::sequence;
  options.start_seq = count - 2;
  Reader r(name, options);
  const std::uint64_t published = inspect(name).published;
  {
    // Message `count` committed, head, records and tail still as before it: the
    // predecessor died right after its commit stamp.
    test::RawRing raw(name);
    std::uint64_t at = raw.producer().tail();
    const std::size_t n = test::fill_payload(buf, across_the_end ? 100 : 40, count);
    if (across_the_end) {
      REQUIRE(at == 4032);
      raw.reserve().reserve(4096 + 256);
      raw.record(4096).mark_nothing_yet();
      raw.record(at).commit_padding();
      at = 4096;
    }
    raw.commit_message(raw.producer().records(), at, count, std::span<const std::byte>(buf, n));
    REQUIRE(raw.producer().head() == count);
  }
  Producer p = Producer::open(name);
  CHECK(p.head() == count + 1);  // kept, not overwritten nor republished
  CHECK(inspect(name).published == published + 1);  // and counted: it stands like any other message
  p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 40, count + 1)));
  for (std::uint64_t i = count - 2; i < count + 2; ++i) {
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == i);
    CHECK(test::verify_payload(e.message.payload, i));
  }
  CHECK(r.try_read().status == ReadStatus::empty);
  CHECK(r.missed() == 0);
}

// A publish stores its totals after the head, and a jump its skipped run before it:
// whichever store the predecessor died after, its successor counts each message and each
// skipped sequence once (published + skipped == head), and a reader sees the same sequences.
TEST_CASE("restart continuity: the successor counts a step its predecessor died inside exactly once", "[fault][crash]") {
  test::RingGuard guard(test::unique_ring("restart-count"));
  const std::string& name = guard.name;
  alignas(8) std::byte buf[104];
  constexpr std::uint64_t kCount = 20, kTarget = 50;
  {
    Producer p = Producer::create(name, Geometry{.ring_bytes = 4096, .max_message = 104});
    for (std::uint64_t i = 0; i < kCount; ++i) p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 40, i)));
  }
  const RingStatus before = inspect(name);
  REQUIRE(before.published == kCount);
  const int step = GENERATE(0, 1, 2, 3);
  static constexpr const char* kSteps[] = {
      "a message committed; totals, head, records and tail not stored",
      "a message committed, head, records and tail stored; totals not",
      "a jump committed; its run not counted, head, records and tail not stored",
      "a jump committed and its run counted; head, records and tail not stored"};
  INFO(kSteps[step]);
  std::uint64_t head_after = 0, published_after = 0, bytes_after = 0, skipped_after = 0;
  {
    test::RawRing raw(name);
    const std::uint64_t at = raw.producer().tail();
    const std::uint64_t record = raw.producer().records();
    if (step <= 1) {
      const std::size_t n = test::fill_payload(buf, 40, kCount);
      raw.commit_message(record, at, kCount, std::span<const std::byte>(buf, n));
      if (step == 1) raw.producer().publish_position(kCount + 1, record + 1, at + record_bytes(n));
      head_after = kCount + 1;
      published_after = kCount + 1;
      bytes_after = before.published_bytes + n;
    } else {
      raw.commit_skip(record, at, kCount, kTarget);
      if (step == 3) raw.sequence().add_skipped(kTarget - kCount);
      head_after = kTarget;
      published_after = kCount;
      bytes_after = before.published_bytes;
      skipped_after = kTarget - kCount;
    }
  }
  Producer p = Producer::open(name);
  const RingStatus after = inspect(name);
  CHECK(after.head == head_after);
  CHECK(after.published == published_after);
  CHECK(after.published_bytes == bytes_after);
  CHECK(after.skipped == skipped_after);
  CHECK(after.published + after.skipped == after.head);
  // Another step after the takeover is counted once as well.
  p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 40, head_after)));
  const RingStatus next = inspect(name);
  CHECK(next.published == published_after + 1);
  CHECK(next.published + next.skipped == next.head);
}

TEST_CASE("restart continuity: counts that claim more than the head are brought back to it, once", "[fault][crash]") {
  test::RingGuard guard(test::unique_ring("restart-garbage"));
  const std::string& name = guard.name;
  alignas(8) std::byte buf[64];
  {
    Producer p = Producer::create(name, Geometry{.ring_bytes = 4096, .max_message = 64});
    for (std::uint64_t i = 0; i < 10; ++i) p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 40, i)));
  }
  {
    test::RawRing raw(name);
    raw.producer().publish_totals(1000, 400, 0);  // 990 more than were ever published
  }
  for (int takeover = 0; takeover < 2; ++takeover) {
    Producer p = Producer::open(name);
    const RingStatus st = inspect(name);
    CHECK(st.head == 10 + static_cast<std::uint64_t>(takeover));
    CHECK(st.published + st.skipped == st.head);
    p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 40, p.head())));
  }
}

TEST_CASE("restart continuity: a half-written record is never exposed, to a reader waiting for it or one a lap behind",
          "[fault][crash]") {
  test::RingGuard guard(test::unique_ring("restart-half"));
  const std::string& name = guard.name;
  alignas(8) std::byte buf[64];
  {
    Producer p = Producer::create(name, Geometry{.ring_bytes = 4096, .max_message = 104});
    for (std::uint64_t i = 0; i < 100; ++i) p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 40, i)));
  }
  ReaderOptions at;
  at.start = StartAt::sequence;
  at.start_seq = 100;
  Reader waiting(name, at);  // waits for message 100
  at.start_seq = 4;
  Reader lapped(name, at);  // still expects message 4, overwritten long ago (100 records of 64 bytes)
  CHECK(waiting.try_read().status == ReadStatus::empty);
  {
    test::RawRing raw(name);
    std::vector<std::byte> torn(40, std::byte{0xAB});  // a torn payload the successor must never expose
    raw.write_unstamped(raw.next_position(), torn, 0, 0);
  }
  CHECK(waiting.try_read().status == ReadStatus::empty);
  Producer p = Producer::open(name);
  CHECK(p.head() == 100);
  CHECK(waiting.try_read().status == ReadStatus::empty);  // "not yet", not a torn message
  const ReadResult g = lapped.try_read();
  REQUIRE(g.status == ReadStatus::gap);  // message 4 is gone: overwritten, not "not yet"
  CHECK(g.gap.first == 4);
  p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 40, 100)));
  const ReadResult e = waiting.try_read();
  REQUIRE(e.status == ReadStatus::message);
  CHECK(e.message.seq == 100);
  CHECK(test::verify_payload(e.message.payload, 100));
  CHECK(waiting.missed() == 0);
  CHECK(inspect(name).takeovers == 0);  // the last producer closed the ring: a restart, not a takeover
}
