// Concurrency: a producer at full speed and several readers, one stalled on purpose, in
// threads and in processes, over tiny rings that the producer laps thousands of times.
// Message sizes vary from 0 to the ring's max_message, so records of every length meet
// the end of the data and wrap; the size and every byte of a message derive from its
// sequence (test_support.hpp, fill_sized), so a torn message, a record of another lap or
// a forged one fails. Sequences must strictly increase, and every reader's accounting
// must be exact: delivered + missed == position - start.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <cstdio>
#include <sys/mman.h>
#include <thread>

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

constexpr std::uint64_t kMessages = shmcast::test::kSanitized ? 100'000 : 1'000'000;

struct ReaderTally {
  std::atomic<std::uint64_t> delivered{0}, missed{0}, gaps{0}, corrupt{0}, wrong_type{0}, disorder{0}, span{0},
      accounting_ok{0}, bytes{0};
  std::atomic<std::uint64_t> done{0};
};

// Reads until it has moved over `messages` sequences. `stall_every`: every that many
// messages, stall until the producer has lapped this reader (its position is no longer
// held), so that it is lapped again and again whatever their relative speeds.
void run_reader(const std::string& ring, ReaderTally& tally, std::uint64_t stall_every, std::uint64_t messages) {
  Reader r(ring, {.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest, .wait = WaitStrategy::spin_yield});
  const std::size_t max = r.geometry().message_limit();
  const std::uint64_t start = r.position();
  std::uint64_t last = 0, delivered = 0, missed = 0, gaps = 0, corrupt = 0, wrong_type = 0, disorder = 0, bytes = 0;
  bool first = true;
  while (r.position() < messages) {
    ReadResult e = r.read(std::chrono::seconds(5));
    if (e.status == ReadStatus::message) {
      if (!shmcast::test::verify_sized(e.message.payload, e.message.seq, max)) ++corrupt;
      if (e.message.type != shmcast::test::sized_type(e.message.seq)) ++wrong_type;
      if (!first && e.message.seq <= last) ++disorder;
      last = e.message.seq;
      first = false;
      ++delivered;
      bytes += e.message.payload.size();
      if (stall_every != 0 && delivered % stall_every == 0) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (r.oldest() <= r.position() && r.head() < messages && std::chrono::steady_clock::now() < give_up)
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
  tally.wrong_type = wrong_type;
  tally.disorder = disorder;
  tally.bytes = bytes;
  tally.span = r.position() - start;
  tally.accounting_ok = (delivered == r.delivered() && missed == r.missed() && delivered + missed == r.position() - start);
  tally.done = 1;
}

void run_producer(const std::string& ring, std::uint64_t messages) {
  Producer p = Producer::open(ring);
  std::vector<std::byte> buf(p.max_message());
  for (std::uint64_t seq = 0; seq < messages; ++seq) {
    const std::size_t size = shmcast::test::fill_sized(buf.data(), seq, buf.size());
    p.publish(std::span(buf.data(), size), shmcast::test::sized_type(seq));
  }
}

void check_tallies(ReaderTally* tallies, int n, std::uint64_t messages) {
  for (int i = 0; i < n; ++i) {
    std::printf("  reader %d: delivered %llu (%llu payload bytes), missed %llu in %llu gaps, over %llu sequences\n", i,
                static_cast<unsigned long long>(tallies[i].delivered.load()), static_cast<unsigned long long>(tallies[i].bytes.load()),
                static_cast<unsigned long long>(tallies[i].missed.load()), static_cast<unsigned long long>(tallies[i].gaps.load()),
                static_cast<unsigned long long>(tallies[i].span.load()));
    INFO("reader " << i << ": delivered " << tallies[i].delivered << " (" << tallies[i].bytes << " bytes), missed "
                   << tallies[i].missed << " in " << tallies[i].gaps << " gaps, span " << tallies[i].span);
    CHECK(tallies[i].done == 1);
    CHECK(tallies[i].corrupt == 0);
    CHECK(tallies[i].wrong_type == 0);
    CHECK(tallies[i].disorder == 0);
    CHECK(tallies[i].accounting_ok == 1);
    CHECK(tallies[i].delivered + tallies[i].missed == tallies[i].span);
    CHECK(tallies[i].span == messages);
    CHECK(tallies[i].delivered > 0);
  }
}

}  // namespace

TEST_CASE("threads: full-speed producer, three readers, one stalled, 4 KiB ring: no torn message, exact accounting",
          "[stress]") {
  RingGuard g(unique_ring("threads"));
  { Producer create = Producer::create(g.name, {.ring_bytes = 4096}); }
  ReaderTally tallies[3];
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    // Attach before the producer starts, so that every reader's span is the whole run.
    readers.emplace_back([&, i] { run_reader(g.name, tallies[i], i == 2 ? 100 : 0, kMessages); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::thread producer([&] { run_producer(g.name, kMessages); });
  producer.join();
  for (auto& t : readers) t.join();
  check_tallies(tallies, 3, kMessages);
  CHECK(tallies[2].missed > 0);  // the stalled reader was lapped, and said so
}

namespace {

// A producer process and three reader processes (the third stalled every `stall_every`
// messages) over `messages` sequences of a ring created with `geometry`; checks every tally.
void run_processes(const std::string& ring, const Geometry& geometry, std::uint64_t messages, std::uint64_t stall_every) {
  { Producer create = Producer::create(ring, geometry); }
  void* shared = ::mmap(nullptr, sizeof(ReaderTally) * 3, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(shared != MAP_FAILED);
  auto* tallies = new (shared) ReaderTally[3];
  std::vector<pid_t> children;
  for (int i = 0; i < 3; ++i) {
    children.push_back(shmcast::test::spawn([&, i] {
      run_reader(ring, tallies[i], i == 2 ? stall_every : 0, messages);
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

// 4 KiB, messages of 0 to 1024 bytes: a lap holds a handful of large messages or a
// hundred small ones; the word stores and, from 48 bytes, the 16-byte stores (payload_io.hpp).
TEST_CASE("processes: full-speed producer, three reader processes, one stalled, 4 KiB ring: no torn message, "
          "exact accounting",
          "[stress][process]") {
  RingGuard g(unique_ring("procs"));
  run_processes(g.name, {.ring_bytes = 4096}, kMessages, 100);
}

// The largest message a 4 KiB ring takes (half of it less 56 bytes): a record of up to
// 2016 bytes rarely fits before the end of the data, so padding follows most large ones,
// and a lap holds as little as two messages.
TEST_CASE("processes: messages up to half the ring, padding at almost every wrap: no torn message, exact accounting",
          "[stress][process]") {
  RingGuard g(unique_ring("halfring"));
  run_processes(g.name, {.ring_bytes = 4096, .max_message = 1992}, kMessages / 2, 20);
}

// Payloads of 1 KiB and more take the wide copies (a string store in the producer,
// vector loads in the reader; payload_io.hpp) outside ThreadSanitizer builds: the same
// checks over sizes from 0 to 8 KiB in a 32 KiB ring, so that every copy path and the
// switches between them meet a producer that laps its readers.
TEST_CASE("processes: large payloads through the wide copies: no torn message, exact accounting", "[stress][process]") {
  RingGuard g(unique_ring("wide"));
  run_processes(g.name, {.ring_bytes = 32 << 10, .max_message = 8192}, kMessages / 10, 20);
}
