// Things that change hands between processes, caught in the middle by test hooks
// (src/test_hooks.hpp): a registry entry being claimed while another process reaps dead
// entries; a ring found abandoned by one process while another creates it anew; and a
// takeover after a first jump that died before its commit.
#include "fault_common.hpp"
#include "layout.hpp"
#include "liveness.hpp"
#include "registry.hpp"
#include "names.hpp"
#include "raw_ring.hpp"
#include "test_hooks.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

using namespace shmcast;
using namespace shmcast::fault;

namespace {

struct VictimBlock {
  std::atomic<int> ready{0};
};

// A registered reader in a child process, SIGKILLed once it has its entry.
void register_and_die(const std::string& name) {
  SharedBlock<VictimBlock> b;
  const pid_t child = test::spawn([&]() -> int {
    ::alarm(60);
    Reader r(name, {.label = "victim"});
    b->ready.store(r.registration_error().empty() ? 1 : 2);
    for (;;) ::pause();
  });
  REQUIRE(eventually([&] { return b->ready.load() != 0; }, 10s));
  REQUIRE(b->ready.load() == 1);
  ::kill(child, SIGKILL);
  REQUIRE(test::wait_exit(child) == 128 + SIGKILL);
}

std::size_t g_reaped_mid_claim = 0;
int g_claim_hook_calls = 0;
std::string g_claim_ring;
void reap_mid_claim() {
  ++g_claim_hook_calls;
  g_reaped_mid_claim += reap_dead_readers(g_claim_ring);
}

}  // namespace

TEST_CASE("registry: a claim in progress never looks dead to a reaper", "[fault][registry][hooked]") {
  test::RingGuard g(test::unique_ring("midclaim"));
  const bool one_entry = GENERATE(false, true);
  CAPTURE(one_entry);
  Producer p = Producer::create(g.name, Geometry{.ring_bytes = 64 << 10},
                                CreateOptions{.max_readers = one_entry ? 1u : kDefaultMaxReaders});
  register_and_die(g.name);
  // With many entries, the reaper frees the dead one first and the next reader takes it as
  // a free entry (the first pass of a claim); with one, the next reader takes it from its
  // dead owner (the second pass). Either way, a reaper that looks at the entry between the
  // taking and the new owner's start time must see a live owner.
  if (!one_entry) REQUIRE(reap_dead_readers(g.name) == 1);
  g_claim_ring = g.name;
  g_reaped_mid_claim = 0;
  g_claim_hook_calls = 0;
  detail::g_mid_claim_hook = &reap_mid_claim;
  Reader r(g.name, {.label = "claimer"});
  detail::g_mid_claim_hook = nullptr;
  CHECK(g_claim_hook_calls == 1);
  CHECK(g_reaped_mid_claim == 0);
  CHECK(r.registration_error().empty());
  const RingStatus st = inspect(g.name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].pid == static_cast<std::uint32_t>(::getpid()));
  CHECK(st.readers[0].alive);
  CHECK(st.readers[0].label == "claimer");
  CHECK(reap_dead_readers(g.name) == 0);
}

namespace {

// Between a reaper's load of an entry's (dead) owner and of its start time, another reader
// takes the entry: a child process that stays registered until killed.
std::string g_owner_ring;
pid_t g_reaper_pid = 0;
pid_t g_new_owner = 0;
VictimBlock* g_new_owner_block = nullptr;
void hand_over_between_loads() {
  if (::getpid() != g_reaper_pid || g_new_owner != 0) return;  // the reaper's first look only
  g_new_owner = test::spawn([]() -> int {
    ::alarm(60);
    Reader r(g_owner_ring, {.label = "new owner"});
    g_new_owner_block->ready.store(r.registration_error().empty() ? 1 : 2);
    for (;;) ::pause();
  });
  // No REQUIRE here: this runs inside the library's noexcept owner_of. The test checks ready.
  (void)eventually([] { return g_new_owner_block->ready.load() != 0; }, 10s);
}

}  // namespace

TEST_CASE("registry: a reaper never judges an entry's earlier owner by the next owner's start time",
          "[fault][registry][hooked]") {
  test::RingGuard g(test::unique_ring("ownerpair"));
  Producer p = Producer::create(g.name, Geometry{.ring_bytes = 64 << 10}, CreateOptions{.max_readers = 1});
  register_and_die(g.name);
  SharedBlock<VictimBlock> b;
  g_owner_ring = g.name;
  g_reaper_pid = ::getpid();
  g_new_owner = 0;
  g_new_owner_block = b.get();
  detail::g_owner_seen_hook = &hand_over_between_loads;
  const std::size_t reaped = reap_dead_readers(g.name);
  detail::g_owner_seen_hook = nullptr;
  REQUIRE(g_new_owner != 0);
  REQUIRE(b->ready.load() == 1);
  CHECK(reaped == 0);  // the dead owner's entry was the new owner's by then
  std::string why;
  const std::optional<detail::Registry> registry = detail::open_registry(g.name, p.ring_id(), false, why);
  REQUIRE(registry);
  const detail::EntryCopy entry = detail::copy_entry(*registry, 0);
  CHECK(entry.pid == static_cast<std::uint32_t>(g_new_owner));
  CHECK(entry.start_time != 0);  // was cleared: the dead owner's pid paired with this start time
  CHECK(entry.start_time == detail::process_start_time(g_new_owner));
  ::kill(g_new_owner, SIGKILL);
  CHECK(test::wait_exit(g_new_owner) == 128 + SIGKILL);
}

namespace {

struct CreatorBlock {
  std::atomic<int> created{0};
  std::atomic<int> stop{0};
  std::atomic<std::uint64_t> ring_id{0};
};

CreatorBlock* g_creator = nullptr;
std::string g_abandoned_ring;
pid_t g_creator_pid = 0;

// Another process got there first: it removed the abandoned object and created the ring,
// and keeps producing.
void create_elsewhere() {
  if (g_creator_pid != 0) return;
  g_creator_pid = test::spawn([] {
    ::alarm(60);
    (void)Producer::remove(g_abandoned_ring);
    Producer p = Producer::create(g_abandoned_ring, Geometry{.ring_bytes = 64 << 10});
    g_creator->ring_id.store(p.ring_id());
    g_creator->created.store(1);
    while (g_creator->stop.load() == 0) ::usleep(1000);
    return 0;
  });
  REQUIRE(eventually([] { return g_creator->created.load() != 0; }, 10s));
}

}  // namespace

TEST_CASE("open_or_create never removes a ring another process created after it found the name abandoned",
          "[fault][liveness][hooked]") {
  test::RingGuard g(test::unique_ring("abandonrace"));
  {
    // What a creator killed before sizing the object leaves: an empty object nobody locks.
    const int fd = ::shm_open(test::shm_name(detail::ring_object_name(g.name)).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    REQUIRE(fd >= 0);
    ::close(fd);
  }
  SharedBlock<CreatorBlock> block;
  g_creator = block.get();
  g_abandoned_ring = g.name;
  g_creator_pid = 0;
  detail::g_abandoned_hook = &create_elsewhere;
  std::optional<Errc> code;
  try {
    (void)Producer::open_or_create(g.name, Geometry{.ring_bytes = 64 << 10});
  } catch (const Error& e) {
    code = e.code();
  }
  detail::g_abandoned_hook = nullptr;
  REQUIRE(g_creator_pid != 0);
  // The ring the other process created stands, with its producer: this one was refused.
  CHECK(code == Errc::producer_active);
  {
    Reader r(g.name);
    CHECK(r.ring_id() == block->ring_id.load());
    CHECK(r.producer_alive());
    CHECK(r.registration_error().empty());  // its registry stands too
  }
  block->stop.store(1);
  CHECK(wait_exit_for(g_creator_pid, 30s) == 0);
}

TEST_CASE("takeover: a first jump that died before its commit leaves the oldest messages readable",
          "[fault][takeover][hooked]") {
  test::RingGuard g(test::unique_ring("firstjump"));
  { Producer p = Producer::create(g.name, Geometry{.ring_bytes = 4096}); }
  {
    // publish_at(1000) on the fresh ring, killed after storing the first sequence and before
    // committing its skip record: nothing else of it is visible.
    test::RawRing raw(g.name);
    raw.sequence().set_first_seq(1000);
  }
  Producer p = Producer::open(g.name);
  CHECK(p.head() == 0);
  alignas(8) std::byte buf[8] = {};
  for (int i = 0; i < 300; ++i) (void)p.publish(std::span<const std::byte>(buf, 8));
  // 300 32-byte records through 4 KiB: the ring holds the newest hundred or so.
  Reader oldest(g.name, {.start = StartAt::oldest});
  CHECK(oldest.position() > 0);
  CHECK(oldest.position() < 300);
  std::uint64_t expect = oldest.position(), delivered = 0;
  while (const ReadResult e = oldest.try_read()) {
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == expect++);
    ++delivered;
  }
  CHECK(expect == 300);
  CHECK(delivered > 50);
  // A reader lapped from the start resynchronises on the oldest held, with the loss counted.
  Reader lapped(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest});
  const ReadResult gap = lapped.try_read();
  REQUIRE(gap.status == ReadStatus::gap);
  CHECK(gap.gap.first == 0);
  const ReadResult next = lapped.try_read();
  REQUIRE(next.status == ReadStatus::message);
  CHECK(next.message.seq == gap.gap.missed);
  // The next jump is no longer the ring's first: the first sequence stays.
  p.skip_to(400);
  CHECK(test::RawRing(g.name).sequence().first_seq() == 0);
}
