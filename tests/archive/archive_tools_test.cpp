// The archive tools where they meet the archive's edges, with the real binary: a second
// recorder on a directory is refused, dump prints what it read before a damaged record,
// and replay bounds its pacing and starts without reading the whole archive.
#include "cli_support.hpp"
#include "temp_dir.hpp"

#include "archive_format.hpp"

#include <shmcast/archive.hpp>
#include <shmcast/shmcast.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

using namespace shmcast;
using namespace shmcast::clitest;
using namespace shmcast::test;

namespace {

std::string msg(std::uint64_t i) {
  std::string m = std::to_string(i);  // "m" + to_string(i) trips GCC 12's -Wrestrict false positive
  m.insert(m.begin(), 'm');
  return m;
}

// Messages "m<s>" for s in [from, to), in segments of about `segment_bytes`.
void write_archive(const std::string& dir, std::uint64_t from, std::uint64_t to, std::uint64_t segment_bytes) {
  ArchiveWriter w(dir, 1, ArchiveOptions{.segment_bytes = segment_bytes});
  for (std::uint64_t s = from; s < to; ++s) w.append(Message{s, 3, 1000 + s, bytes_of(msg(s) + std::string(200, 'x'))});
}

// Flips a byte of the first message's sequence in segment `index` of `dir`.
void damage_segment(const std::string& dir, std::size_t index) {
  const std::vector<detail::SegmentFile> segs = detail::list_segments(dir);
  REQUIRE(segs.size() > index + 1);  // not the newest: damage there would be a record being written
  const int fd = ::open(segs[index].path.c_str(), O_WRONLY);
  const char flip = 0x5A;
  REQUIRE(::pwrite(fd, &flip, 1, sizeof(detail::SegmentHeader) + 8) == 1);
  ::close(fd);
}

}  // namespace

TEST_CASE("archive tools: a second recorder on the same directory is refused while the first runs") {
  RingGuard ring(unique_ring("artool"));
  TempDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 16384});
  Proc first({"record", ring.name, "--dir", dir.path + "/a", "--fsync", "every"});
  REQUIRE(wait_labelled(ring.name, {"record"}));
  const Result second = run({"record", ring.name, "--dir", dir.path + "/a", "--label", "second"}, {}, 5s);
  REQUIRE(second.rc == 1);
  REQUIRE(second.err.find("another recorder") != std::string::npos);
  first.signal(SIGTERM);
  REQUIRE(first.finish() == 0);
}

TEST_CASE("archive tools: dump prints everything before a damaged record, then the error") {
  TempDir dir;
  write_archive(dir.path, 0, 300, 20'000);
  damage_segment(dir.path, 1);
  const std::uint64_t damaged = detail::list_segments(dir.path)[1].first_seq;
  const Result r = run({"dump", dir.path});
  REQUIRE(r.rc == 1);
  REQUIRE(r.err.find(detail::list_segments(dir.path)[1].path) != std::string::npos);
  const std::vector<std::string> out = lines(r.out);
  REQUIRE(out.size() == damaged);
  REQUIRE(out.back().rfind(msg(damaged - 1), 0) == 0);
}

TEST_CASE("archive tools: replay refuses a speed too slow for its clock, and starts without reading the whole archive") {
  RingGuard ring(unique_ring("artool"));
  TempDir dir;
  write_archive(dir.path, 0, 300, 20'000);
  REQUIRE(run({"create", ring.name, "--size", "64K"}).rc == 0);
  Result r = run({"replay", dir.path, "--to", ring.name, "--speed", "1e-9"});
  REQUIRE(r.rc == 2);
  REQUIRE(r.err.find("--speed") != std::string::npos);
  // Damage in a later segment does not stop a replay that ends before it.
  const std::vector<detail::SegmentFile> segs = detail::list_segments(dir.path);
  REQUIRE(segs.size() > 3);
  damage_segment(dir.path, 2);
  const std::uint64_t last = segs[1].first_seq;
  r = run({"replay", dir.path, "--to", ring.name, "--max", "--to-seq", std::to_string(last)});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  Reader reader(ring.name, {.start = StartAt::sequence, .start_seq = 0});
  std::uint64_t messages = 0;
  while (ReadResult e = reader.try_read())
    if (e.status == ReadStatus::message) ++messages;
  REQUIRE(messages == last + 1);
}

TEST_CASE("archive tools: a replay that stops part-way says how far it got and how to go on") {
  TempDir dir;
  {
    ArchiveWriter w(dir.path, 1, ArchiveOptions{});
    for (std::uint64_t s = 0; s < 10; ++s) w.append(Message{s, 0, 1000 + s, bytes_of(msg(s))});
    w.append(Message{10, 0, 1010, bytes_of(std::string(64, 'x'))});  // more than the ring below takes
    w.append(Message{11, 0, 1011, bytes_of(msg(11))});
  }
  RingGuard small(unique_ring("artool"));
  REQUIRE(run({"create", small.name, "--size", "4K", "--max-message", "16"}).rc == 0);
  Result r = run({"replay", dir.path, "--to", small.name, "--max"});
  INFO(r.err);
  CHECK(r.rc == 1);
  CHECK(one_error_line(r.err, small.name));
  CHECK(r.err.find("sequence 10: message of 64 bytes exceeds") != std::string::npos);
  CHECK(r.err.find("10 messages were replayed before it, the last at sequence 9") != std::string::npos);
  CHECK(r.err.find("--from 10") != std::string::npos);
  CHECK(r.err.find("--max-message") != std::string::npos);  // the advice for a message too large stays
  CHECK(r.err.find("nothing was written") == std::string::npos);
  CHECK(inspect(small.name).head == 10);

  // A damaged record part-way: the same, and the archive's advice.
  TempDir damaged;
  write_archive(damaged.path, 0, 300, 20'000);
  damage_segment(damaged.path, 2);
  const std::uint64_t stop = detail::list_segments(damaged.path)[2].first_seq;
  RingGuard ring(unique_ring("artool"));
  REQUIRE(run({"create", ring.name, "--size", "64K"}).rc == 0);
  r = run({"replay", damaged.path, "--to", ring.name, "--max"});
  INFO(r.err);
  CHECK(r.rc == 1);
  CHECK(one_error_line(r.err));
  CHECK(r.err.find(detail::list_segments(damaged.path)[2].path) != std::string::npos);
  CHECK(r.err.find("replayed before it, the last at sequence " + std::to_string(stop - 1)) != std::string::npos);
  CHECK(r.err.find("--from " + std::to_string(stop)) != std::string::npos);
  CHECK(inspect(ring.name).head == stop);
}
