// Concurrency: a producer at full speed and several readers, one stalled on purpose, in
// threads and in processes. Every payload is checksummed (a torn copy fails), sequences
// must strictly increase, and every reader's accounting must be exact.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <sys/mman.h>
#include <thread>

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kMessages = 200'000;
#else
constexpr std::uint64_t kMessages = 2'000'000;
#endif

struct ReaderTally {
  std::atomic<std::uint64_t> delivered{0}, missed{0}, gaps{0}, corrupt{0}, disorder{0}, span{0}, accounting_ok{0};
  std::atomic<std::uint64_t> done{0};
};

// Reads until it has moved over kMessages sequences. `stall_every`: every that many
// messages, stall until the producer is more than a ring ahead (or done), so that it laps
// this reader again and again whatever their relative speeds (a fixed 1 ms sleep did not
// get lapped by a ThreadSanitizer producer of 8 KiB messages).
void run_reader(const std::string& ring, ReaderTally& tally, std::uint64_t stall_every, std::uint64_t messages = kMessages) {
  Reader r(ring, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest, .wait = WaitStrategy::spin_yield});
  const std::uint64_t start = r.position();
  std::uint64_t last = 0, delivered = 0, missed = 0, gaps = 0, corrupt = 0, disorder = 0;
  bool first = true;
  while (r.position() < messages) {
    ReadResult e = r.read(std::chrono::seconds(5));
    if (e.status == ReadStatus::message) {
      if (!shmcast::test::verify_payload(e.message.payload, e.message.seq)) ++corrupt;
      if (!first && e.message.seq <= last) ++disorder;
      last = e.message.seq;
      first = false;
      ++delivered;
      if (stall_every != 0 && delivered % stall_every == 0) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (r.head() <= r.position() + r.geometry().slot_count && r.head() < messages &&
               std::chrono::steady_clock::now() < give_up)
          std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    } else if (e.status == ReadStatus::gap) {
      if (!first && e.gap.first <= last) ++disorder;
      ++gaps;
      missed += e.gap.missed;
    } else {
      break;  // 5 s without anything: the producer is gone, stop (the checks will fail)
    }
  }
  tally.delivered = delivered;
  tally.missed = missed;
  tally.gaps = gaps;
  tally.corrupt = corrupt;
  tally.disorder = disorder;
  tally.span = r.position() - start;
  tally.accounting_ok = (delivered == r.delivered() && missed == r.missed() && delivered + missed == r.position() - start);
  tally.done = 1;
}

void run_producer(const std::string& ring, std::uint64_t messages = kMessages) {
  Producer p = Producer::open(ring);
  std::vector<std::byte> buf(p.payload_capacity());
  std::uint64_t x = 12345;
  for (std::uint64_t seq = 0; seq < messages; ++seq) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const std::size_t size = 24 + (x >> 33) % (p.payload_capacity() - 24 + 1);
    shmcast::test::fill_payload(buf.data(), size, seq);
    p.publish(std::span(buf.data(), size));
  }
}

void check_tallies(ReaderTally* tallies, int n, std::uint64_t messages = kMessages) {
  for (int i = 0; i < n; ++i) {
    INFO("reader " << i << ": delivered " << tallies[i].delivered << ", missed " << tallies[i].missed << " in "
                   << tallies[i].gaps << " gaps, span " << tallies[i].span);
    CHECK(tallies[i].done == 1);
    CHECK(tallies[i].corrupt == 0);
    CHECK(tallies[i].disorder == 0);
    CHECK(tallies[i].accounting_ok == 1);
    CHECK(tallies[i].delivered + tallies[i].missed == tallies[i].span);
    CHECK(tallies[i].span == messages);
    CHECK(tallies[i].delivered > 0);
  }
}

}  // namespace

TEST_CASE("threads: full-speed producer, three readers, one stalled: no torn message, exact accounting", "[stress]") {
  RingGuard g(unique_ring("threads"));
  { Producer create = Producer::create(g.name, {.slot_count = 256, .slot_size = 128}); }
  ReaderTally tallies[3];
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    // Attach before the producer starts, so that every reader's span is the whole run.
    readers.emplace_back([&, i] { run_reader(g.name, tallies[i], i == 2 ? 1000 : 0); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::thread producer([&] { run_producer(g.name); });
  producer.join();
  for (auto& t : readers) t.join();
  check_tallies(tallies, 3);
  CHECK(tallies[2].missed > 0);  // the stalled reader was lapped, and said so
}

namespace {

// A producer process and three reader processes (the third stalled every 1000 messages)
// over `messages` sequences of a ring created with `geometry`; checks every tally.
void run_processes(const std::string& ring, const Geometry& geometry, std::uint64_t messages) {
  { Producer create = Producer::create(ring, geometry); }
  void* shared = ::mmap(nullptr, sizeof(ReaderTally) * 3, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(shared != MAP_FAILED);
  auto* tallies = new (shared) ReaderTally[3];
  std::vector<pid_t> children;
  for (int i = 0; i < 3; ++i) {
    children.push_back(shmcast::test::spawn([&, i] {
      run_reader(ring, tallies[i], i == 2 ? 1000 : 0, messages);
      return 0;
    }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const pid_t producer = shmcast::test::spawn([&] {
    run_producer(ring, messages);
    return 0;
  });
  CHECK(shmcast::test::wait_exit(producer) == 0);
  for (pid_t c : children) CHECK(shmcast::test::wait_exit(c) == 0);
  check_tallies(tallies, 3, messages);
  CHECK(tallies[2].missed > 0);
  ::munmap(shared, sizeof(ReaderTally) * 3);
}

}  // namespace

// Payload sizes 24-104: the word stores and, from 48 bytes, the 16-byte stores (slot_io.hpp).
TEST_CASE("processes: full-speed producer, three reader processes, one stalled: no torn message, exact accounting",
          "[stress][process]") {
  RingGuard g(unique_ring("procs"));
  run_processes(g.name, {.slot_count = 256, .slot_size = 128}, kMessages);
}

// Payload sizes 24-296 in 320-byte slots: the interleaved slot order (layout.hpp,
// SlotOrder) of three-line-and-larger slots, with its lane boundaries, under a producer
// that laps a reader.
TEST_CASE("processes: interleaved slot order: no torn message, exact accounting", "[stress][process]") {
  RingGuard g(unique_ring("lanes"));
  run_processes(g.name, {.slot_count = 256, .slot_size = 320}, kMessages / 4);
}

// Payloads of 1 KiB and more take the wide copies (a string store in the producer,
// vector loads in the reader; slot_io.hpp) outside ThreadSanitizer builds: the same
// checks over random sizes from 24 to 8168 bytes, so that every copy path and the
// switches between them meet a producer that laps its readers.
TEST_CASE("processes: large payloads through the wide copies: no torn message, exact accounting", "[stress][process]") {
  RingGuard g(unique_ring("wide"));
  run_processes(g.name, {.slot_count = 64, .slot_size = 8192}, kMessages / 20);
}
