// Reader line give-back (src/line_give_back.hpp): which lines a streaming reader gives
// back, and that giving them back changes nothing a reader reads. Across processes, the
// copy-path and peek stress tests run with it on (the default), against producers that
// lap their readers.
#include <catch2/catch.hpp>

#include "line_give_back.hpp"
#include "test_support.hpp"

#include <shmcast/shmcast.hpp>

#include <cstring>
#include <string>
#include <vector>

using namespace shmcast;
using namespace shmcast::detail;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

constexpr std::uint64_t kRing = 64 << 10;

bool same(LineRange a, LineRange b) { return a.begin == b.begin && a.end == b.end; }

}  // namespace

TEST_CASE("line give-back: a streaming reader gives back every line it has passed, never the next record's", "[give-back]") {
  // 64-byte messages: 96-byte records at 0, 96, 192... The record after the one read
  // starts inside the last line it touched: that line stays.
  CHECK(same(lines_to_give_back(0, 0, 96, 1, 0, kRing), {0, 64}));
  CHECK(same(lines_to_give_back(64, 96, 192, 1, 0, kRing), {64, 192}));
  CHECK(same(lines_to_give_back(192, 192, 288, 1, 0, kRing), {192, 256}));
  // A batch of in-place reads: one range for all of it.
  CHECK(same(lines_to_give_back(0, 0, 960, 10, 0, kRing), {0, 960}));
  // A record inside one line: nothing to give back until the reader leaves the line.
  CHECK(same(lines_to_give_back(0, 0, 32, 1, 0, kRing), {0, 0}));
  CHECK(same(lines_to_give_back(0, 32, 64, 1, 0, kRing), {0, 64}));
  // A few empty polls still count as streaming; more do not, and the lines are passed over.
  CHECK(same(lines_to_give_back(0, 0, 96, 1, kStreamingIdlePolls - 1, kRing), {0, 64}));
  CHECK(same(lines_to_give_back(0, 0, 96, 1, kStreamingIdlePolls, kRing), {64, 64}));
}

TEST_CASE("line give-back: large records, spans past a ring and backward moves give nothing back", "[give-back]") {
  // 1 KiB messages (1056-byte records): passed over, on average over a batch too.
  CHECK(same(lines_to_give_back(0, 0, 1056, 1, 0, kRing), {1024, 1024}));
  CHECK(same(lines_to_give_back(0, 0, 96 + 1056, 2, 0, kRing), {1152, 1152}));
  // Exactly the limit is still small.
  CHECK(same(lines_to_give_back(0, 0, kGiveBackMaxRecordBytes, 1, 0, kRing), {0, kGiveBackMaxRecordBytes}));
  // A span longer than the ring (only a corrupt position gives one) is never walked.
  CHECK(same(lines_to_give_back(0, 0, kRing + 64, 10'000, 0, kRing), {kRing + 64, kRing + 64}));
  // After a seek back, what was given back lies ahead: nothing now, and the mark moves back.
  CHECK(same(lines_to_give_back(4096, 0, 96, 1, 0, kRing), {64, 64}));
  // After a gap the reader resumes far ahead: only the lines of what it read are given back.
  CHECK(same(lines_to_give_back(64, 8192, 8288, 1, 0, kRing), {8192, 8256}));
  // A record that ends where it starts (a zero-length span) gives nothing back.
  CHECK(same(lines_to_give_back(128, 128, 128, 0, 0, kRing), {128, 128}));
}

TEST_CASE("line give-back: readers with and without it read the same stream, lapped or not", "[give-back]") {
  RingGuard g(unique_ring("giveback"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096});
  Reader with(g.name, {.start = StartAt::oldest, .register_reader = false});
  Reader without(g.name, {.start = StartAt::oldest, .register_reader = false, .give_back_lines = false});
  std::vector<std::byte> payload(200);
  std::uint64_t next_size = 0;
  const auto publish_some = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const std::size_t size = (next_size++ * 37) % payload.size();
      for (std::size_t b = 0; b < size; ++b) payload[b] = static_cast<std::byte>(p.head() + b);
      p.publish({payload.data(), size});
    }
  };
  const auto drain = [](Reader& r) {
    std::vector<std::string> events;
    for (ReadResult e = r.try_read(); e; e = r.try_read()) {
      if (e.status == ReadStatus::gap) events.push_back("gap " + std::to_string(e.gap.first) + "+" + std::to_string(e.gap.missed));
      else events.emplace_back(reinterpret_cast<const char*>(e.message.payload.data()), e.message.payload.size());
    }
    return events;
  };
  for (int round = 0; round < 50; ++round) {
    publish_some(round % 7 == 0 ? 200 : 10);  // every seventh round laps both readers
    const std::vector<std::string> a = drain(with), b = drain(without);
    REQUIRE(a == b);
    REQUIRE(with.delivered() == without.delivered());
    REQUIRE(with.missed() == without.missed());
    REQUIRE(with.delivered() + with.missed() == with.position() - with.start());
  }
  CHECK(with.missed() > 0);
}
