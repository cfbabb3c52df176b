// Snapshots: a reader that is lapped, or joins late, gets the producer's state back
// instead of a gap, and state rebuilt from snapshot + later messages equals the producer's.
#include <catch2/catch.hpp>

#include <type_traits>
#include <vector>

#include "layout.hpp"
#include "raw_ring.hpp"
#include "ring_model.hpp"
#include "test_support.hpp"

#include <random>
#include <sys/mman.h>
#include <thread>

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;
using namespace std::chrono_literals;

namespace {

std::span<const std::byte> bytes_of_u64(const std::uint64_t& v) { return std::as_bytes(std::span(&v, 1)); }

std::uint64_t as_u64(std::span<const std::byte> b) {
  std::uint64_t v = 0;
  std::memcpy(&v, b.data(), std::min(b.size(), sizeof v));
  return v;
}

constexpr std::uint64_t kChanges = test::kSanitized ? 60'000 : 600'000;

constexpr std::size_t kKeys = 64;
constexpr std::size_t kFiller = 300;
using Table = std::array<std::uint64_t, kKeys>;
struct Change {
  std::uint32_t key;
  std::uint32_t pad;
  std::uint64_t value;
};

}  // namespace

TEST_CASE("a snapshot larger than the area is refused and nothing is written", "[snapshot][errors]") {
  RingGuard g(unique_ring("snapbig"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .snapshot_capacity = 100});
  std::vector<std::byte> state(101);
  try {
    p.publish_snapshot(state);
    FAIL("an oversized snapshot was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::message_too_large);
    CHECK_THAT(e.what(), Catch::Contains("snapshot capacity of 100"));
  }
  CHECK(inspect(g.name).snapshots_published == 0);
  state.resize(100);
  p.publish_snapshot(state);
  CHECK(inspect(g.name).snapshots_published == 1);
  RingGuard g2(unique_ring("nosnap"));
  Producer q = Producer::create(g2.name, {.ring_bytes = 4096});
  CHECK_THROWS_MATCHES(q.publish_snapshot(state), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::no_snapshot_area; }));
}

TEST_CASE("a late joiner starts from the newest snapshot, then the messages after it", "[snapshot]") {
  RingGuard g(unique_ring("latejoin"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .snapshot_capacity = 64});
  std::uint64_t sum = 0;
  for (std::uint64_t i = 1; i <= 10; ++i) {
    p.publish(bytes_of_u64(i));
    sum += i;
    if (i == 7) p.publish_snapshot(bytes_of_u64(sum));  // as of 7: messages 0..6 applied
  }
  Reader r(g.name, {.start = StartAt::snapshot});
  ReadResult s = r.try_read();
  REQUIRE(s.status == ReadStatus::snapshot);
  CHECK(s.snapshot.as_of == 7);
  std::uint64_t rebuilt = as_u64(s.snapshot.data);
  CHECK(rebuilt == 28);
  while (ReadResult e = r.try_read()) {
    REQUIRE(e.status == ReadStatus::message);
    rebuilt += as_u64(e.message.payload);
  }
  CHECK(rebuilt == sum);
  CHECK(r.snapshots() == 1);
  CHECK(r.delivered() == 3);
  SECTION("no snapshot yet: a snapshot start is an oldest start") {
    RingGuard g3(unique_ring("nosnapyet"));
    Producer q = Producer::create(g3.name, {.ring_bytes = 4096, .snapshot_capacity = 64});
    q.publish(bytes_of("a"));
    Reader late(g3.name, {.start = StartAt::snapshot});
    CHECK(late.try_read().message.seq == 0);
  }
}

TEST_CASE("a snapshot published between attaching and the first read is where the span starts", "[snapshot]") {
  RingGuard g(unique_ring("latejoin2"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .snapshot_capacity = 64});
  for (std::uint64_t i = 0; i < 7; ++i) p.publish(bytes_of_u64(i));
  p.publish_snapshot(bytes_of_u64(7));  // as of 7
  Reader r(g.name, {.start = StartAt::snapshot});
  CHECK(r.position() == 7);
  for (std::uint64_t i = 7; i < 10; ++i) p.publish(bytes_of_u64(i));
  p.publish_snapshot(bytes_of_u64(10));  // as of 10: messages 7..9 are in it
  const ReadResult s = r.try_read();
  REQUIRE(s.status == ReadStatus::snapshot);  // no gap first: nothing was lost
  CHECK(s.snapshot.as_of == 10);
  CHECK(r.start() == 10);
  CHECK(r.missed() == 0);
  CHECK(r.gaps() == 0);
  CHECK_FALSE(r.try_read());
  p.publish(bytes_of_u64(10));
  CHECK(r.try_read().message.seq == 10);
  CHECK(r.delivered() + r.missed() == r.position() - r.start());
}

TEST_CASE("a first snapshot its writer died in counts as none", "[snapshot][hostile]") {
  RingGuard g(unique_ring("halfsnap"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .snapshot_capacity = 64});
  // What publish_snapshot leaves when it dies inside its first snapshot: stamp 1.
  test::RawRing(g.name).view().snapshot_control().begin_write(0);
  Reader at_snapshot(g.name, {.start = StartAt::snapshot});
  Reader lapped(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::snapshot});
  p.publish(bytes_of_u64(0));
  // A snapshot start with no complete snapshot is an oldest start.
  const ReadResult first = at_snapshot.try_read();
  REQUIRE(first.status == ReadStatus::message);
  CHECK(first.message.seq == 0);
  // A lapped reader with the snapshot policy behaves as `oldest`: the loss is a gap, then
  // messages, not empty reads forever.
  for (std::uint64_t i = 1; i < 200; ++i) p.publish(bytes_of_u64(i));
  const ReadResult gap = lapped.try_read();
  REQUIRE(gap.status == ReadStatus::gap);
  CHECK(gap.gap.first == 0);
  const ReadResult next = lapped.try_read();
  REQUIRE(next.status == ReadStatus::message);
  CHECK(next.message.seq == gap.gap.missed);
  CHECK(lapped.snapshots() == 0);
}

TEST_CASE("a late joiner whose snapshot is stale gets the loss as a gap, never a silent start", "[snapshot]") {
  RingGuard g(unique_ring("stalejoin"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .snapshot_capacity = 64});
  p.publish_snapshot(bytes_of_u64(0));  // as of 0
  shmcast::test::RingModel model(4096);
  for (std::uint64_t i = 0; i < 500; ++i) {
    p.publish(bytes_of_u64(i));
    model.publish(8);
  }
  const std::uint64_t oldest = model.oldest();  // 500 records of 32 bytes through 4 KiB
  REQUIRE(oldest == 384);
  Reader r(g.name, {.start = StartAt::snapshot});
  const std::uint64_t start = r.position();
  CHECK(start == 0);  // the span starts where the snapshot stands
  const ReadResult gap = r.try_read();
  REQUIRE(gap.status == ReadStatus::gap);  // messages 0..383 are in neither the snapshot nor the ring
  CHECK(gap.gap.first == 0);
  CHECK(gap.gap.missed == oldest);
  const ReadResult m = r.try_read();
  REQUIRE(m.status == ReadStatus::message);
  CHECK(m.message.seq == oldest);
  while (r.try_read()) {
  }
  CHECK(r.snapshots() == 0);
  CHECK(r.delivered() + r.missed() == r.position() - start);

  SECTION("with no snapshot at all, what the ring no longer holds is a gap too") {
    RingGuard g2(unique_ring("nosnapjoin"));
    Producer q = Producer::create(g2.name, {.ring_bytes = 4096, .snapshot_capacity = 64});
    for (std::uint64_t i = 0; i < 500; ++i) q.publish(bytes_of_u64(i));
    Reader late(g2.name, {.start = StartAt::snapshot});
    const ReadResult e = late.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 0);
    CHECK(e.gap.missed == oldest);
  }
}

TEST_CASE("a lapped reader with the snapshot policy gets the state back, not a gap", "[snapshot]") {
  RingGuard g(unique_ring("lapsnap"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .snapshot_capacity = 64});
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::snapshot});
  std::uint64_t sum = 0;
  // 200 records of 32 bytes lap the 4 KiB ring.
  for (std::uint64_t i = 1; i <= 200; ++i) {
    p.publish(bytes_of_u64(i));
    sum += i;
    if (i % 10 == 0) p.publish_snapshot(bytes_of_u64(sum));
  }
  ReadResult gap = r.try_read();  // the loss is reported first, as with every policy
  REQUIRE(gap.status == ReadStatus::gap);
  CHECK(gap.gap.first == 0);
  CHECK(gap.gap.missed == 200);  // not delivered one by one: delivered + missed == span still holds
  ReadResult s = r.try_read();
  REQUIRE(s.status == ReadStatus::snapshot);
  CHECK(s.snapshot.as_of == 200);
  CHECK(as_u64(s.snapshot.data) == sum);
  CHECK(r.missed() == 200);
  CHECK(r.gaps() == 1);
  CHECK(r.try_read().status == ReadStatus::empty);

  SECTION("a snapshot whose following messages are gone is not delivered: the reader waits for the next") {
    for (std::uint64_t i = 201; i <= 400; ++i) {
      p.publish(bytes_of_u64(i));
      sum += i;
    }
    CHECK(r.try_read().status == ReadStatus::empty);  // lapped, and the snapshot (as of 200) is stale
    CHECK(r.position() == 200);
    p.publish_snapshot(bytes_of_u64(sum));
    ReadResult second_gap = r.try_read();
    REQUIRE(second_gap.status == ReadStatus::gap);
    CHECK(second_gap.gap.first == 200);
    CHECK(second_gap.gap.missed == 200);
    ReadResult again = r.try_read();
    REQUIRE(again.status == ReadStatus::snapshot);
    CHECK(again.snapshot.as_of == 400);
    CHECK(as_u64(again.snapshot.data) == sum);
    CHECK(r.delivered() + r.missed() == r.position());
  }
}

TEST_CASE("SnapshotSchedule publishes every N messages and every interval", "[snapshot][schedule]") {
  RingGuard g(unique_ring("schedule"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .snapshot_capacity = 64});
  std::uint64_t calls = 0;
  const std::uint64_t state = 7;
  SnapshotSchedule every(p, {.messages = 10}, [&](std::span<std::byte> out) {
    ++calls;
    return SnapshotSchedule::write(out, bytes_of_u64(state));
  });
  for (int i = 0; i < 35; ++i) {
    p.publish(bytes_of("x"));
    every.tick();
  }
  CHECK(every.published() == 3);
  CHECK(inspect(g.name).snapshot_as_of == 30);
  SnapshotSchedule timed(p, {.interval = 20ms}, [&](std::span<std::byte> out) { return SnapshotSchedule::write(out, bytes_of_u64(state)); });
  const auto end = std::chrono::steady_clock::now() + 200ms;
  while (std::chrono::steady_clock::now() < end) {
    p.publish(bytes_of("y"));
    timed.tick();
    std::this_thread::sleep_for(100us);
  }
  CHECK(timed.published() >= 3);
  CHECK(timed.published() <= 11);
  CHECK_THROWS_AS(SnapshotSchedule(p, {}, [&](std::span<std::byte> out) { return SnapshotSchedule::write(out, bytes_of_u64(state)); }), Error);
}

// The callback cannot hand back a view of something it owned: it writes into the
// schedule's buffer. A callback that serializes into a temporary is therefore safe.
static_assert(!std::is_constructible_v<SnapshotSchedule::StateFn, std::vector<std::byte> (*)()>,
              "a callback returning a temporary container must not compile");
static_assert(!std::is_constructible_v<SnapshotSchedule::StateFn, std::span<const std::byte> (*)()>,
              "a callback returning a view must not compile");

TEST_CASE("SnapshotSchedule: a state serialized into a temporary is published whole, and too much is refused",
          "[snapshot][schedule]") {
  RingGuard g(unique_ring("schedtemp"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .snapshot_capacity = 64});
  std::uint64_t counter = 0;
  auto serialize = [&] { return std::vector<std::byte>(40, static_cast<std::byte>(++counter)); };
  SnapshotSchedule every(p, {.messages = 1}, [&](std::span<std::byte> out) {
    return SnapshotSchedule::write(out, serialize());  // the temporary lives until write() returns
  });
  Reader r(g.name, {.start = StartAt::snapshot});
  p.publish(bytes_of("x"));
  CHECK(every.tick());
  while (ReadResult e = r.try_read()) {
    if (e.status != ReadStatus::snapshot) continue;
    REQUIRE(e.snapshot.data.size() == 40);
    for (std::byte b : e.snapshot.data) CHECK(b == std::byte{1});
  }
  SnapshotSchedule greedy(p, {.messages = 1}, [&](std::span<std::byte> out) { return out.size() + 1; });
  p.publish(bytes_of("y"));
  CHECK_THROWS_MATCHES(greedy.tick(), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::message_too_large; }));
  CHECK_THROWS_MATCHES(SnapshotSchedule::write(std::span<std::byte>(), bytes_of("z")), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::message_too_large; }));
}

TEST_CASE("threads: snapshots rewritten as fast as possible are never read torn", "[snapshot][stress]") {
  RingGuard g(unique_ring("torn"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .snapshot_capacity = 4096});
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> checked{0}, torn{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      Reader r(g.name, {.register_reader = false});
      while (!stop.load(std::memory_order_relaxed)) {
        r.seek(0);
        Reader late(g.name, {.start = StartAt::snapshot, .register_reader = false});
        ReadResult s = late.try_read();
        if (s.status != ReadStatus::snapshot) continue;
        // Each snapshot is a checksummed payload for "sequence" as_of.
        if (!shmcast::test::verify_payload(s.snapshot.data, s.snapshot.as_of)) ++torn;
        ++checked;
      }
    });
  }
  std::vector<std::byte> buf(4096);
  for (std::uint64_t i = 0; i < (kChanges / 20) || checked.load() < 200; ++i) {
    p.publish(bytes_of("tick"));
    const std::size_t size = 24 + (i * 7919) % (4096 - 24);
    shmcast::test::fill_payload(buf.data(), size, p.head());
    p.publish_snapshot(std::span(buf.data(), size));
  }
  stop = true;
  for (auto& t : readers) t.join();
  INFO("snapshots checked: " << checked.load());
  CHECK(checked.load() >= 200);
  CHECK(torn.load() == 0);
}

TEST_CASE("processes: readers stalled at random rebuild the producer's table byte for byte", "[snapshot][process]") {
  RingGuard g(unique_ring("rebuild"));
  { Producer create = Producer::create(g.name, {.ring_bytes = 16384, .snapshot_capacity = sizeof(Table)}); }
  struct Shared {
    std::atomic<bool> done{false};
    std::uint64_t final_head = 0;
    Table final_table{};
    std::atomic<int> ready{0};
    std::uint64_t snapshots[3] = {};
  };
  void* mem = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  auto* shared = new (mem) Shared;
  std::vector<pid_t> readers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(shmcast::test::spawn([&, i] {
      // From the first change: the table is rebuilt from an empty one, so a loss before the
      // first read must be a gap (an oldest start would be taken again, silently).
      Reader r(g.name, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::snapshot,
                        .wait = WaitStrategy::spin_yield});
      shared->ready.fetch_add(1);
      std::mt19937 rng(static_cast<unsigned>(i) * 7 + 1);
      Table table{};
      bool valid = true;
      const std::uint64_t start = r.position();
      for (;;) {
        // Finished only on an empty read: a gap is followed by its snapshot.
        const bool done = shared->done.load(std::memory_order_acquire);
        ReadResult e = r.read(50ms);
        if (!e && done && r.position() >= shared->final_head) break;
        if (e.status == ReadStatus::message) {
          Change c{};
          // A change, then filler of a size and bytes derived from the sequence (records of
          // 64 to 352 bytes, so that they meet the end of the data at every offset).
          if (e.message.payload.size() < sizeof c ||
              !shmcast::test::verify_sized(e.message.payload.subspan(sizeof c), e.message.seq, kFiller))
            return 7;
          std::memcpy(&c, e.message.payload.data(), sizeof c);
          table[c.key] = c.value;
          if (i != 0 && rng() % 500 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        } else if (e.status == ReadStatus::snapshot) {
          if (e.snapshot.data.size() != sizeof(Table)) return 3;
          std::memcpy(table.data(), e.snapshot.data.data(), sizeof(Table));
          valid = true;
        } else if (e.status == ReadStatus::gap) {
          valid = false;  // with snapshots always available this must not happen
        }
      }
      shared->snapshots[i] = r.snapshots();
      if (r.delivered() + r.missed() != r.position() - start) return 4;
      if (!valid) return 5;
      return table == shared->final_table ? 0 : 6;
    }));
  }
  while (shared->ready.load() < 3) std::this_thread::sleep_for(1ms);
  const pid_t producer = shmcast::test::spawn([&] {
    Producer p = Producer::open(g.name);
    Table table{};
    alignas(8) std::byte message[sizeof(Change) + kFiller];
    SnapshotSchedule every(p, {.messages = 100},
                           [&](std::span<std::byte> out) { return SnapshotSchedule::write(out, std::as_bytes(std::span(table))); });
    std::mt19937_64 rng(99);
    for (std::uint64_t n = 0; n < kChanges; ++n) {
      Change c{static_cast<std::uint32_t>(rng() % kKeys), 0, rng()};
      std::memcpy(message, &c, sizeof c);
      const std::size_t filler = shmcast::test::fill_sized(message + sizeof c, p.head(), kFiller);
      table[c.key] = c.value;
      p.publish(std::span<const std::byte>(message, sizeof c + filler));
      every.tick();
      if (n % 2000 == 0) std::this_thread::sleep_for(100us);  // let stalled readers fall behind, not starve
    }
    shared->final_table = table;
    shared->final_head = p.head();
    shared->done.store(true, std::memory_order_release);
    return 0;
  });
  CHECK(shmcast::test::wait_exit(producer) == 0);
  for (int i = 0; i < 3; ++i) {
    INFO("reader " << i << " (snapshots taken: " << shared->snapshots[i] << ")");
    CHECK(shmcast::test::wait_exit(readers[static_cast<std::size_t>(i)]) == 0);
  }
  CHECK(shared->snapshots[1] + shared->snapshots[2] > 0);  // the stalled readers were lapped and recovered
  ::munmap(mem, sizeof(Shared));
}
