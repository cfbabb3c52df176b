// The payload copy paths this build ships, under a producer that laps its readers.
//
// src/payload_io.hpp copies a payload in one of three ways, by size, and on x86-64 outside
// ThreadSanitizer builds two of them are not C++ atomics: below kVectorStoreBytes (48 B)
// relaxed 8-byte atomic words; from 48 B the producer stores 16 bytes at a time (and the
// reader loads words); from kWideCopyBytes (1 KiB) the producer writes with one `rep
// movsb` (16-byte stores where that would meet 4 KiB aliasing) and the reader loads 16
// bytes at a time, each followed by a word copy of the tail. ThreadSanitizer builds compile only the word copies, so TSan checks a different
// copy path from the one a release build ships. This test runs the shipped one: a producer
// process publishes messages whose sizes sit on both sides of every boundary (and the
// ring's max_message), each derived from its sequence and ending in a checksum, as
// variable-length records that wrap at every size. Three reader processes compare every
// delivered payload byte for byte with the one the producer built and account for every
// sequence: one the producer waits for (so it reads every message, often the one just
// committed, while the producer writes the next records), one left to keep up as it can,
// and one stalled so that it is lapped again and again (resuming at the oldest record held
// with a sixteenth of the ring to spare, it races the producer's overwrite of it: the
// "overwritten while copying" path of Reader::try_read). Bounded by a message count;
// nothing is timed.
#include <catch2/catch.hpp>

#include "payload_io.hpp"

#include "test_support.hpp"

#include <shmcast/shmcast.hpp>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <sys/mman.h>
#include <thread>
#include <vector>

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

// The sizes where the copy changes, and whether this build compiles the wide copies, as
// src/payload_io.hpp decides them. The ring is driven through the public API only.
using shmcast::detail::kVectorStoreBytes;
using shmcast::detail::kWideCopyBytes;
#ifdef SHMCAST_WIDE_PAYLOAD_COPY
constexpr bool kWideCopies = true;
#else
constexpr bool kWideCopies = false;
#endif

constexpr std::uint64_t kMessages = shmcast::test::kSanitized ? 10'000 : 50'000;

// 64 KiB of records of up to 8 KiB: about sixty messages of this mix, so that the stalled
// reader is lapped at every stall and resumes 4 KiB (a sixteenth) ahead of the producer.
constexpr Geometry kGeometry{.ring_bytes = 64 << 10, .max_message = 8192};
constexpr std::size_t kCapacity = kGeometry.message_limit();

// Both sides of every boundary: word copies with and without a partial last word (0-47),
// the 16-byte stores with 0-15 tail bytes after them (48-1023: 48, 49, 55, 56, 63, 64,
// 104, 1000, 1023), and the string store / 16-byte loads with tails (1024 up), to the
// largest payload. Records of every size land at every place in the ring in turn, and a
// reader copying a long payload may find short ones written over it.
constexpr std::array<std::size_t, 25> kSizes = {
    0, 7, 8, 15, 16, 23, 24, 40, 47, 48, 49, 55, 56, 63, 64, 104,
    1000, 1023, 1024, 1025, 1031, 1040, 4096, kCapacity - 1, kCapacity};
static_assert(kSizes.size() % 2 == 1);
static_assert(kSizes[9] == kVectorStoreBytes && kSizes[18] == kWideCopyBytes);

constexpr std::size_t size_index(std::uint64_t seq) { return static_cast<std::size_t>(seq % kSizes.size()); }

// The payload of message `seq` (its size is kSizes[size_index(seq)]). From 24 bytes,
// the suites' checksummed layout (seq, length, bytes derived from seq, FNV-1a of all of
// it). Shorter ones have no room for that: bytes derived from seq, the last one a
// checksum byte of the others.
std::size_t build_payload(std::byte* out, std::uint64_t seq) {
  const std::size_t size = kSizes[size_index(seq)];
  if (size >= 24) return shmcast::test::fill_payload(out, size, seq);
  if (size == 0) return 0;
  std::uint64_t x = seq * 0x9E3779B97F4A7C15ull + size;
  for (std::size_t i = 0; i + 1 < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<std::byte>(x);
  }
  out[size - 1] = static_cast<std::byte>(shmcast::test::fnv1a(out, size - 1));
  return size;
}

struct ReaderResult {
  std::uint64_t done = 0;
  std::uint64_t delivered = 0, missed = 0, gaps = 0, span = 0, accounting_ok = 0;
  std::uint64_t corrupt = 0, wrong_type = 0, disorder = 0;
  std::uint64_t first_corrupt_seq = 0, first_corrupt_size = 0;
  std::array<std::uint64_t, kSizes.size()> delivered_by_size{};
};

// Sequences whose records fill the ring more than once, whatever the first of them: the
// sizes cycle through kSizes, so two whole cycles more than a ring's bytes take.
constexpr std::uint64_t kLapMessages = [] {
  std::uint64_t cycle = 0;
  for (std::size_t size : kSizes) cycle += record_bytes(size);
  return (kGeometry.ring_bytes / cycle + 2) * kSizes.size();
}();

constexpr int kReaders = 3;
constexpr int kPacedReader = 0;
constexpr int kStalledReader = 2;
// The producer publishes message n only once the paced reader has moved past n - kWindow:
// then at most kWindow records of up to 8 KiB, a padding and one reservation step (4 KiB)
// lie between that reader's record and the horizon, less than the ring, so it is never lapped.
constexpr std::uint64_t kWindow = 5;
static_assert((kWindow + 1) * record_bytes(kCapacity) + kGeometry.ring_bytes / 16 + kRecordAlign < kGeometry.ring_bytes);

// One anonymous shared mapping. The results are written by the reader processes and read
// by the parent after it has reaped them.
struct Shared {
  std::atomic<int> attached{0};
  std::atomic<std::uint64_t> paced_position{0};  // the paced reader's position
  std::atomic<int> pacing_released{0};           // set by the parent once the paced reader has ended
  std::array<ReaderResult, kReaders> readers{};
};

// Reads until it has moved over `messages` sequences; checks every payload against the
// one build_payload makes for its sequence. `stall_every`: every that many messages, wait
// until the producer has published a lap past this reader (or all it will), so that it is
// lapped however slowly the producer runs. Returns the child's exit code.
int run_reader(const std::string& ring, Shared& shared, int index, WaitStrategy wait, std::uint64_t stall_every,
               std::uint64_t messages) {
  const bool paced = index == kPacedReader;
  ReaderResult& out = shared.readers[static_cast<std::size_t>(index)];
  std::optional<Reader> reader;
  try {
    reader.emplace(ring, ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .on_gap = GapPolicy::oldest, .wait = wait});
  } catch (...) {
  }
  shared.attached.fetch_add(1);
  if (!reader) return 3;
  Reader& r = *reader;
  std::vector<std::byte> expected(kCapacity);
  const std::uint64_t start = r.position();
  std::uint64_t last = 0, delivered = 0, missed = 0, gaps = 0;
  bool first = true;
  while (r.position() < messages) {
    ReadResult e = r.read(std::chrono::seconds(5));
    if (e.status == ReadStatus::message) {
      const std::uint64_t seq = e.message.seq;
      const std::span<const std::byte> got = e.message.payload;
      const std::size_t size = build_payload(expected.data(), seq);
      // Byte for byte: the length, every byte, and (implied) the checksum at the end.
      const bool intact = got.size() == size && std::memcmp(got.data(), expected.data(), size) == 0 &&
                          (size < 24 || shmcast::test::verify_payload(got, seq));
      if (!intact && out.corrupt++ == 0) {
        out.first_corrupt_seq = seq;
        out.first_corrupt_size = got.size();
      }
      if (e.message.type != size_index(seq)) ++out.wrong_type;
      if (!first && seq <= last) ++out.disorder;
      last = seq;
      first = false;
      ++delivered;
      ++out.delivered_by_size[size_index(seq)];
      if (stall_every != 0 && delivered % stall_every == 0) {
        const std::uint64_t lapped_at = std::min(messages, seq + 1 + kLapMessages);
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (r.head() < lapped_at && std::chrono::steady_clock::now() < give_up)
          std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    } else if (e.status == ReadStatus::gap) {
      if (!first && e.gap.first <= last) ++out.disorder;
      ++gaps;
      missed += e.gap.missed;
    } else {
      break;  // 5 s without anything: the producer is gone; the checks below fail
    }
    if (paced) shared.paced_position.store(r.position(), std::memory_order_release);
  }
  out.delivered = delivered;
  out.missed = missed;
  out.gaps = gaps;
  out.span = r.position() - start;
  out.accounting_ok = delivered == r.delivered() && missed == r.missed() && delivered + missed == out.span;
  out.done = 1;
  return out.corrupt == 0 && out.wrong_type == 0 && out.disorder == 0 ? 0 : 1;
}

int run_producer(const std::string& ring, Shared& shared, std::uint64_t messages) {
  Producer p = Producer::open(ring);
  if (p.max_message() != kCapacity) return 4;
  std::vector<std::byte> buf(kCapacity);
  for (std::uint64_t seq = 0; seq < messages; ++seq) {
    const std::size_t size = build_payload(buf.data(), seq);
    while (seq >= shared.paced_position.load(std::memory_order_acquire) + kWindow &&
           shared.pacing_released.load(std::memory_order_acquire) == 0)
      std::this_thread::yield();
    p.publish(std::span<const std::byte>(buf.data(), size), static_cast<std::uint32_t>(size_index(seq)));
  }
  return 0;
}

std::string shipped_copy_path() {
  if (kWideCopies)
    return "this build ships the wide copies: relaxed 8-byte atomic words below 48 B; from 48 B 16-byte "
           "stores (reader: words); from 1024 B `rep movsb` (reader: 16-byte loads)";
  return "this build ships the word copies only (relaxed 8-byte atomic words at every size): ThreadSanitizer "
         "build or not x86-64";
}

}  // namespace

// The producer's wide copy from every byte offset of its source within a page: where `rep
// movsb` would meet 4 KiB aliasing (the destination 1-63 bytes past the source modulo 4 KiB:
// payload_io.hpp, string_copy_aliases) the 16-byte stores take the payload instead, and
// either way it arrives byte-exact. The destination sits where a record's payload does, at
// 24 modulo 32.
TEST_CASE("copy_path: a wide payload from every offset of its source within a page arrives byte-exact") {
  constexpr std::size_t kLen = kWideCopyBytes + 13;
  struct alignas(4096) Page2 {
    std::array<std::byte, 2 * 4096> bytes;
  };
  const auto src_area = std::make_unique<Page2>();
  const auto dst_area = std::make_unique<Page2>();
  for (std::size_t i = 0; i < src_area->bytes.size(); ++i) src_area->bytes[i] = static_cast<std::byte>(i * 7 + 3);
  std::byte* dst = dst_area->bytes.data() + 24;
  std::size_t aliased = 0;
  for (std::size_t offset = 0; offset < 4096; ++offset) {
    const std::byte* src = src_area->bytes.data() + offset;
    dst_area->bytes.fill(std::byte{0xee});
    shmcast::detail::store_payload(dst, src, kLen);
    INFO("source offset " << offset);
    REQUIRE(std::memcmp(dst, src, kLen) == 0);
#ifdef SHMCAST_WIDE_PAYLOAD_COPY
    if (shmcast::detail::string_copy_aliases(dst, src)) ++aliased;
#endif
  }
  if (kWideCopies) CHECK(aliased == 63);
}

TEST_CASE("copy_path: every payload copy path's boundaries across processes, one reader lapped: byte-exact payloads, "
          "exact accounting",
          "[stress][process][copy_path]") {
  const std::string path = shipped_copy_path();
  WARN(path);
  INFO(path);
  RingGuard g(unique_ring("copypath"));
  { Producer create = Producer::create(g.name, kGeometry); }

  void* mapping = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mapping != MAP_FAILED);
  auto* shared = new (mapping) Shared;

  // The paced reader sleeps on the futex when idle; the free one polls; the third polls and
  // every 64 messages stalls until the producer is a lap ahead of it.
  const std::array<WaitStrategy, kReaders> waits{WaitStrategy::block, WaitStrategy::spin_yield, WaitStrategy::spin_yield};
  std::vector<pid_t> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.push_back(shmcast::test::spawn([&, i] {
      return run_reader(g.name, *shared, i, waits[static_cast<std::size_t>(i)], i == kStalledReader ? 64 : 0, kMessages);
    }));
  }
  // Every reader attached before the first message, so each one's span is the whole run.
  while (shared->attached.load() < kReaders) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const pid_t producer = shmcast::test::spawn([&] { return run_producer(g.name, *shared, kMessages); });

  // The paced reader ends after the last message, or earlier only if something is wrong:
  // either way the producer stops waiting for it then.
  CHECK(shmcast::test::wait_exit(readers[kPacedReader]) == 0);
  shared->pacing_released.store(1, std::memory_order_release);
  CHECK(shmcast::test::wait_exit(producer) == 0);
  for (int i = 0; i < kReaders; ++i)
    if (i != kPacedReader) CHECK(shmcast::test::wait_exit(readers[static_cast<std::size_t>(i)]) == 0);

  std::array<std::uint64_t, kSizes.size()> delivered_by_size{};
  for (int i = 0; i < kReaders; ++i) {
    const ReaderResult& r = shared->readers[static_cast<std::size_t>(i)];
    INFO("reader " << i << (i == kStalledReader ? " (stalled)" : "") << ": delivered " << r.delivered << ", missed "
                   << r.missed << " in " << r.gaps << " gaps, span " << r.span << "; " << r.corrupt
                   << " corrupt (first: seq " << r.first_corrupt_seq << ", " << r.first_corrupt_size << " bytes)");
    CHECK(r.done == 1);
    CHECK(r.corrupt == 0);
    CHECK(r.wrong_type == 0);
    CHECK(r.disorder == 0);
    CHECK(r.accounting_ok == 1);
    CHECK(r.delivered + r.missed == r.span);
    CHECK(r.span == kMessages);
    CHECK(r.delivered > 0);
    for (std::size_t s = 0; s < kSizes.size(); ++s) delivered_by_size[s] += r.delivered_by_size[s];
  }
  const ReaderResult& paced = shared->readers[kPacedReader];
  CHECK(paced.delivered == kMessages);  // never lapped: the producer waited for it
  CHECK(paced.missed == 0);
  const ReaderResult& stalled = shared->readers[kStalledReader];
  CHECK(stalled.gaps > 0);  // it was lapped, and said so
  CHECK(stalled.missed > 0);
  // Every size, so every copy path and both sides of each boundary, reached the readers intact.
  for (std::size_t s = 0; s < kSizes.size(); ++s) {
    INFO("payload size " << kSizes[s]);
    CHECK(delivered_by_size[s] > 0);
  }
  shared->~Shared();
  ::munmap(mapping, sizeof(Shared));
}
