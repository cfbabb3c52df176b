// Torture: a producer process at full speed with random sizes and checksummed payloads,
// several reader processes that are stopped and continued at random, one killed and
// replaced. Every surviving reader's accounting must be exact, with no corrupt payload
// and strictly increasing sequences. SHMCAST_SOAK_SECONDS=N runs it for N seconds.
#include "fault_common.hpp"

#include <catch2/catch.hpp>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace shmcast;
using namespace shmcast::fault;

namespace {

constexpr int kMaxReaders = 8;

struct TortureBlock {
  std::atomic<int> stop_producer{0};
  std::atomic<int> stop_readers{0};
  std::atomic<std::uint64_t> published{0};
  ReaderReport readers[kMaxReaders];
};

long torture_seconds() {
  if (const char* env = std::getenv("SHMCAST_SOAK_SECONDS")) {
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0) return v;
  }
  return kSanitized ? 6 : 12;
}

}  // namespace

TEST_CASE("torture: full-speed producer, stopped, killed and replaced readers, exact accounting", "[fault][torture]") {
  test::RingGuard guard(test::unique_ring("torture"));
  const std::string& name = guard.name;
  const Geometry geometry{.ring_bytes = 8192, .max_message = 1024};
  create_ring(name, geometry);
  SharedBlock<TortureBlock> block;
  const long seconds = torture_seconds();
  const auto limit = std::chrono::milliseconds((seconds + 120) * 1000);

  ChildGuard children;
  const pid_t producer = children.add(test::spawn([&] {
    ::alarm(static_cast<unsigned>(seconds + 120));
    Producer p = Producer::open(name);
    Rng rng(static_cast<std::uint64_t>(::getpid()) * 7919u);
    run_random_producer(p, rng, &block->stop_producer, UINT64_MAX, &block->published);
    return 0;
  }));

  struct Child {
    pid_t pid;
    int report;
    bool stoppable;
    bool alive;
  };
  std::vector<Child> readers;
  int next_report = 0;
  auto start_reader = [&](WaitStrategy wait, StartAt start, bool stoppable) {
    const int slot = next_report++;
    const pid_t pid = children.add(test::spawn([&, slot, wait, start] {
      ::alarm(static_cast<unsigned>(seconds + 120));
      return run_checked_reader(name, &block->readers[slot], &block->stop_readers, wait, start,
                                "torture-" + std::to_string(slot));
    }));
    readers.push_back({pid, slot, stoppable, true});
    REQUIRE(eventually([&] { return block->readers[slot].ready.load() != 0; }, 10s));
  };
  start_reader(WaitStrategy::block, StartAt::latest, false);
  start_reader(WaitStrategy::spin_yield, StartAt::oldest, true);
  start_reader(WaitStrategy::block, StartAt::oldest, true);
  start_reader(WaitStrategy::spin, StartAt::latest, true);  // the one to be killed

  Rng rng(0xC0FFEEu ^ static_cast<std::uint64_t>(::getpid()));
  std::uint64_t stops = 0, kills = 0;
  const auto started = Clock::now();
  const auto end = started + std::chrono::seconds(seconds);
  bool replaced = false;
  while (Clock::now() < end) {
    if (!replaced && Clock::now() >= started + std::chrono::seconds(seconds) / 2) {
      Child& victim = readers[3];
      ::kill(victim.pid, SIGKILL);
      REQUIRE(test::wait_exit(victim.pid) == 128 + SIGKILL);
      victim.alive = false;
      ++kills;
      start_reader(WaitStrategy::block, StartAt::oldest, true);
      replaced = true;
    }
    std::vector<Child*> candidates;
    for (Child& c : readers)
      if (c.alive && c.stoppable) candidates.push_back(&c);
    Child* c = candidates[rng.below(candidates.size())];
    ::kill(c->pid, SIGSTOP);
    ++stops;
    sleep_ms(1 + static_cast<long>(rng.below(40)));
    ::kill(c->pid, SIGCONT);
    sleep_ms(1 + static_cast<long>(rng.below(20)));
  }
  for (Child& c : readers)
    if (c.alive) ::kill(c.pid, SIGCONT);

  block->stop_producer.store(1);
  REQUIRE(wait_exit_for(producer, limit) == 0);
  const RingStatus ring = inspect(name);
  block->stop_readers.store(1);
  for (Child& c : readers)
    if (c.alive) REQUIRE(wait_exit_for(c.pid, limit) == 0);

  std::uint64_t corrupt = 0, delivered_total = 0, missed_total = 0, gaps_total = 0;
  for (const Child& c : readers) {
    if (!c.alive) continue;
    const ReaderReport& r = block->readers[c.report];
    INFO("reader " << c.report << " start " << r.start << " end " << r.end << " delivered " << r.delivered
                   << " missed " << r.missed << " gaps " << r.gaps << " corrupt " << r.corrupt << " disorder "
                   << r.disorder);
    REQUIRE(r.finished.load() == 1);
    CHECK(r.delivered + r.missed == r.end - r.start);
    CHECK(r.lib_delivered.load() == r.delivered.load());
    CHECK(r.lib_missed.load() == r.missed.load());
    CHECK(r.lib_gaps.load() == r.gaps.load());
    CHECK(r.corrupt.load() == 0);
    CHECK(r.disorder.load() == 0);
    CHECK(r.unexpected.load() == 0);
    CHECK(r.end.load() == ring.head);  // drained to the producer's last message
    CHECK(r.delivered.load() > 0);
    corrupt += r.corrupt;
    delivered_total += r.delivered;
    missed_total += r.missed;
    gaps_total += r.gaps;
  }
  CHECK(ring.head == block->published.load());
  // The killed reader's entry is reclaimable; the live ones have already detached.
  CHECK(reap_dead_readers(name) == 1);
  std::printf("torture: %ld s, messages %" PRIu64 ", readers %zu (%zu surviving), stops %" PRIu64 ", kills %" PRIu64
              ", delivered %" PRIu64 ", missed %" PRIu64 " in %" PRIu64 " gaps, corruptions %" PRIu64 "%s\n",
              seconds, ring.head, readers.size(), readers.size() - kills, stops, kills, delivered_total, missed_total,
              gaps_total, corrupt, kSanitized ? " (sanitized build)" : "");
  std::fflush(stdout);
}
