// `shmcast record`, `dump`, `archive-info`, `replay` and `tail --archive`, end to end with
// the real binary: what is recorded dumps back exactly, a killed recorder carries on with
// its loss as a gap record, replay keeps the sequences and gaps, a late tail catches up
// from the archive with no gap, and bad input is a usage error.
#include "cli_support.hpp"
#include "temp_dir.hpp"

#include <shmcast/archive.hpp>
#include <shmcast/shmcast.hpp>

#include <catch2/catch.hpp>

#include <filesystem>

using namespace shmcast;
using namespace shmcast::clitest;
using namespace shmcast::test;
namespace fs = std::filesystem;

namespace {

// The archive directory: inside a fresh temporary one, so that `record` creates it.
struct ArchiveDir {
  TempDir parent;
  std::string path = parent.path + "/archive";
};

std::string msg(std::uint64_t i) { return "m" + std::to_string(i); }

// Publishes "m<i>" for i in [from, to), one message each.
void publish_range(Producer& p, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t i = from; i < to; ++i) p.publish(bytes_of(msg(i)));
}

// Starts a recorder and waits until it is registered.
std::unique_ptr<Proc> start_recorder(const std::string& ring, const std::string& dir) {
  auto rec = std::make_unique<Proc>(std::vector<std::string>{"record", ring, "--dir", dir, "--fsync", "every"});
  REQUIRE(wait_labelled(ring, {"record"}));
  return rec;
}

// Waits until the recorder's position in `stat` reaches `position`.
bool recorded_through(const std::string& ring, std::uint64_t position) {
  return wait_ring(ring, [&](const RingStatus& st) {
    for (const ReaderStatus& r : st.readers)
      if (r.label == "record" && r.position >= position) return true;
    return false;
  });
}

}  // namespace

TEST_CASE("cli archive: record, archive-info and dump give back what was published, in every format") {
  RingGuard ring(unique_ring("arcli"));
  ArchiveDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 16384});
  auto rec = start_recorder(ring.name, dir.path);
  publish_range(p, 0, 300);
  REQUIRE(recorded_through(ring.name, 300));
  rec->signal(SIGINT);
  REQUIRE(rec->finish() == 0);
  REQUIRE(rec->err().find("300 messages") != std::string::npos);

  const Result info = run({"archive-info", dir.path, "--json"});
  REQUIRE(info.rc == 0);
  REQUIRE(json_u64(info.out, "first_seq") == 0u);
  REQUIRE(json_u64(info.out, "next_seq") == 300u);
  REQUIRE(json_u64(info.out, "messages") == 300u);
  REQUIRE(json_u64(info.out, "gaps") == 0u);
  // The ring's id as `stat` gives it: a string of 16 hex digits (a number would lose
  // precision past 2^53 in jq before 1.7 and in JavaScript).
  char id[48];
  std::snprintf(id, sizeof id, "\"ring_id\":\"%016llx\"", static_cast<unsigned long long>(p.ring_id()));
  CHECK(info.out.find(id) != std::string::npos);
  CHECK(run({"stat", ring.name, "--json"}).out.find(id) != std::string::npos);

  const Result text = run({"dump", dir.path, "--from", "10", "--to", "12"});
  REQUIRE(text.rc == 0);
  REQUIRE(text.out == "m10\nm11\nm12\n");
  const Result json = run({"dump", dir.path, "--from", "299", "--format", "json"});
  REQUIRE(json.rc == 0);
  REQUIRE(json_u64(json.out, "seq") == 299u);
  REQUIRE(json.out.find("\"data\":\"m299\"") != std::string::npos);
  const Result hex = run({"dump", dir.path, "--from", "5", "--to", "5", "--format", "hex"});
  REQUIRE(hex.rc == 0);
  REQUIRE(hex.out.find("seq=5 ") == 0);
  // | head: the reader of the output goes away, dump ends quietly.
  const Result all = run({"dump", dir.path});
  REQUIRE(lines(all.out).size() == 300);
}

TEST_CASE("cli archive: a killed recorder carries on, and what it missed is one exact gap record") {
  RingGuard ring(unique_ring("arcli"));
  ArchiveDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 8192});
  {
    auto rec = start_recorder(ring.name, dir.path);
    publish_range(p, 0, 100);
    REQUIRE(recorded_through(ring.name, 100));
    rec->signal(SIGKILL);
    rec->finish();
  }
  publish_range(p, 100, 2000);  // the ring laps while the recorder is down
  auto rec = start_recorder(ring.name, dir.path);
  publish_range(p, 2000, 2010);
  REQUIRE(recorded_through(ring.name, 2010));
  rec->signal(SIGTERM);
  REQUIRE(rec->finish() == 0);
  const ArchiveInfo info = Archive(dir.path).info();
  REQUIRE(info.first_seq == 0);
  REQUIRE(info.next_seq == 2010);
  REQUIRE(info.gaps == 1);
  REQUIRE(info.messages + info.missed == 2010);
  const Result json = run({"dump", dir.path, "--format", "json"});
  REQUIRE(count(json.out, "\"gap\"") == 1);
  REQUIRE(json_u64(json.out, "first", json.out.find("\"gap\"")) == 100u);
  const Result text = run({"dump", dir.path});
  REQUIRE(text.err.find("gap: missed") != std::string::npos);
}

TEST_CASE("cli archive: tail --archive catches up on what the ring lost, with no gap") {
  RingGuard ring(unique_ring("arcli"));
  ArchiveDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 8192});
  auto rec = start_recorder(ring.name, dir.path);
  for (int i = 0; i < 20; ++i) {
    publish_range(p, p.head(), p.head() + 100);
    REQUIRE(recorded_through(ring.name, p.head()));
  }
  const Result plain = run({"tail", ring.name, "--from", "0", "--count", "5"});
  REQUIRE(plain.err.find("gap") != std::string::npos);  // the ring alone lost the start
  const Result caught = run({"tail", ring.name, "--from", "0", "--archive", dir.path, "--count", "2000", "--format", "json"});
  REQUIRE(caught.rc == 0);
  REQUIRE(count(caught.out, "\"gap\"") == 0);
  const std::vector<std::string> got = lines(caught.out);
  REQUIRE(got.size() == 2000);
  REQUIRE(json_u64(got.front(), "seq") == 0u);
  REQUIRE(json_u64(got.back(), "seq") == 1999u);
  rec->signal(SIGINT);
  REQUIRE(rec->finish() == 0);
}

TEST_CASE("cli archive: replay keeps the original sequences, and the recorded gaps reach readers as gaps") {
  RingGuard ring(unique_ring("arcli"));
  RingGuard copy(unique_ring("arcli-copy"));
  ArchiveDir dir;
  {
    ArchiveWriter w(dir.path, 1);
    for (std::uint64_t s = 50; s < 80; ++s) w.append(Message{s, 3, 1000 + s, bytes_of(msg(s))});
    w.append_gap(80, 20);
    for (std::uint64_t s = 100; s < 110; ++s) w.append(Message{s, 3, 1000 + s, bytes_of(msg(s))});
  }
  REQUIRE(run({"create", copy.name, "--size", "64K"}).rc == 0);
  Reader r(copy.name, {.start = StartAt::sequence, .start_seq = 0});
  const Result replay = run({"replay", dir.path, "--to", copy.name, "--max"});
  REQUIRE(replay.rc == 0);
  std::vector<std::uint64_t> seqs;
  std::vector<Gap> gaps;
  while (ReadResult e = r.try_read()) {
    if (e.status == ReadStatus::message) {
      REQUIRE(text_of(e.message.payload) == msg(e.message.seq));
      REQUIRE(e.message.type == 3);
      REQUIRE(e.message.timestamp_ns == 1000 + e.message.seq);
      seqs.push_back(e.message.seq);
    } else if (e.status == ReadStatus::gap) {
      gaps.push_back(e.gap);
    }
  }
  REQUIRE(seqs.size() == 40);
  REQUIRE(seqs.front() == 50);
  REQUIRE(seqs.back() == 109);
  REQUIRE(gaps.size() == 2);  // [0, 50) before the archive starts, and the recorded [80, 100)
  REQUIRE(gaps[1].first == 80);
  REQUIRE(gaps[1].missed == 20);
  // Replaying again would go back: refused, nothing written.
  const Result again = run({"replay", dir.path, "--to", copy.name, "--from", "50", "--max"});
  REQUIRE(again.rc == 2);
  REQUIRE(one_error_line(again.err, copy.name));
}

TEST_CASE("cli archive: bad input is a clear error, never a crash") {
  ArchiveDir dir;
  Result r = run({"dump", dir.path});
  REQUIRE(r.rc == 1);
  REQUIRE(r.err.find("no such directory") != std::string::npos);
  fs::create_directories(dir.path);
  r = run({"archive-info", dir.path});
  REQUIRE(r.rc == 1);
  REQUIRE(r.err.find("no segment files") != std::string::npos);
  r = run({"dump", dir.path, "--from", "-1"});
  REQUIRE(r.rc == 2);
  r = run({"dump", dir.path, "--from", "9", "--to", "3"});
  REQUIRE(r.rc == 2);
  r = run({"record", "no-such-ring-for-archive", "--dir", dir.path});
  REQUIRE(r.rc == 1);
  r = run({"record", "x", "--dir", dir.path, "--fsync", "sometimes"});
  REQUIRE(r.rc == 2);
  r = run({"replay", dir.path, "--to", "x", "--max", "--speed", "2"});
  REQUIRE(r.rc == 2);
}
