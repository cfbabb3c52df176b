// `shmcast record`, `dump`, `archive-info`, `replay` and `tail --archive`, end to end with
// the real binary: what is recorded dumps back exactly, a killed recorder carries on with
// its loss as a gap record, replay keeps the sequences and gaps, a late tail catches up
// from the archive with no gap, and bad input is a usage error.
#include "archive_files.hpp"
#include "cli_support.hpp"
#include "temp_dir.hpp"

#include <shmcast/archive.hpp>
#include <shmcast/shmcast.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <sys/resource.h>

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

// Records `ring` into `dir` while `publish` runs, until the recorder has read through
// `head`; stops it with SIGINT (exit 0) and returns what it said on stderr.
std::string record_through(const std::string& ring, const std::string& dir, std::uint64_t head,
                           const std::function<void()>& publish) {
  auto rec = start_recorder(ring, dir);
  publish();
  REQUIRE(recorded_through(ring, head));
  rec->signal(SIGINT);
  REQUIRE(rec->finish() == 0);
  return rec->err();
}

}  // namespace

TEST_CASE("cli archive: record, archive-info and dump give back what was published, in every format") {
  RingGuard ring(unique_ring("arcli"));
  ArchiveDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 16384});
  REQUIRE(record_through(ring.name, dir.path, 300, [&] { publish_range(p, 0, 300); }).find("300 messages") !=
          std::string::npos);

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
  CHECK(json.out.find("\"cause\":\"not_archived\"") != std::string::npos);  // the recorder missed them
  const Result text = run({"dump", dir.path});
  REQUIRE(text.err.find("gap: missed") != std::string::npos);
  CHECK(json_u64(run({"archive-info", dir.path, "--json"}).out, "skipped") == 0u);
  CHECK(run({"archive-info", dir.path}).out.find(" sequences not recorded)\n") != std::string::npos);
}

TEST_CASE("cli archive: a run the producer skipped is recorded with its cause and dump says skipped") {
  RingGuard ring(unique_ring("arcli"));
  ArchiveDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 16384});
  record_through(ring.name, dir.path, 30, [&] {
    publish_range(p, 0, 10);
    p.skip_to(25);
    publish_range(p, 25, 30);
  });
  const Result json = run({"dump", dir.path, "--format", "json"});
  REQUIRE(json.rc == 0);
  REQUIRE(count(json.out, "\"gap\"") == 1);
  CHECK(json_u64(json.out, "first", json.out.find("\"gap\"")) == 10u);
  CHECK(json_u64(json.out, "missed", json.out.find("\"gap\"")) == 15u);
  CHECK(json.out.find("\"cause\":\"skipped\"") != std::string::npos);
  // archive-info tells the producer's skips from the recorder's losses.
  const Result info = run({"archive-info", dir.path, "--json"});
  REQUIRE(info.rc == 0);
  CHECK(json_u64(info.out, "missed") == 15u);
  CHECK(json_u64(info.out, "skipped") == 15u);
  CHECK(json_u64(info.out, "corrupt") == 0u);
  const Result text = run({"archive-info", dir.path});
  CHECK(text.out.find("(15 sequences not recorded: 15 skipped by the producer)") != std::string::npos);
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

TEST_CASE("cli archive: tail --archive over a damaged record says where, reports a corrupt gap and ends with status 1") {
  RingGuard ring(unique_ring("arcdmg"));
  ArchiveDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 8192});
  Proc rec({"record", ring.name, "--dir", dir.path, "--segment-size", "16K", "--fsync", "every"});
  REQUIRE(wait_labelled(ring.name, {"record"}));
  for (int i = 0; i < 20; ++i) {
    publish_range(p, p.head(), p.head() + 100);
    REQUIRE(recorded_through(ring.name, p.head()));
  }
  rec.signal(SIGINT);
  REQUIRE(rec.finish() == 0);
  const std::vector<std::string> segments = segment_paths(dir.path);
  REQUIRE(segments.size() > 2);
  const char flip = 0x5A;  // a byte of a payload in the middle of the first segment: its frame fails its CRC
  overwrite(segments.front(), 8000, &flip, 1);
  const Result r = run({"tail", ring.name, "--from", "0", "--archive", dir.path, "--no-follow", "--format", "json"});
  CHECK(r.rc == 1);
  CHECK(r.err.find(segments.front()) != std::string::npos);
  CHECK(r.err.find("reading on without the archive") != std::string::npos);
  const std::vector<std::string> got = lines(r.out);
  REQUIRE(count(r.out, "\"gap\"") == 1);
  CHECK(r.out.find("\"cause\":\"corrupt\"") != std::string::npos);
  REQUIRE_FALSE(got.empty());
  CHECK(json_u64(got.back(), "seq") == p.head() - 1);  // then on from the ring, to its end
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
  // A bad --from is a usage error before anything is opened: the ring's live producer is
  // neither met nor disturbed (replay once took the ring over first, or failed on it).
  RingGuard ring(unique_ring("arch-badfrom"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  Proc producer({"publish", ring.name, "--rate", "50", "--count", "1000000", "--message", "tick"});
  REQUIRE(wait_ring(ring.name, [](const shmcast::RingStatus& st) { return st.producer_alive; }));
  for (const char* bad : {"abc", "-1"}) {
    r = run({"replay", dir.path, "--to", ring.name, "--from", bad});
    INFO(r.err);
    CHECK(r.rc == 2);
    CHECK(r.err.find("--from") != std::string::npos);
  }
  r = run({"replay", dir.path, "--to", ring.name, "--from", "9", "--to-seq", "3"});
  CHECK(r.rc == 2);
  CHECK(static_cast<pid_t>(shmcast::inspect(ring.name).producer_pid) == producer.pid());
  producer.signal(SIGTERM);
  CHECK(producer.finish() == 0);
}

namespace {

// An archive of messages "m0".."m<n-1>" written through the library; each frame is 40
// bytes (a 32-byte header and the payload padded to 8) after the 64-byte segment header.
void write_small_archive(const std::string& dir, std::uint64_t n) {
  ArchiveWriter w(dir, 1, ArchiveOptions{.fsync = Fsync::never});
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::string m = msg(i);
    w.append(Message{i, 0, 1000 + i, {reinterpret_cast<const std::byte*>(m.data()), m.size()}});
  }
}

// Flips one byte of message i's frame header (a high byte of its sequence): its CRC fails.
void damage_frame(const std::string& dir, std::uint64_t i) {
  const std::string seg = dir + "/00000000000000000000.seg";
  const int fd = ::open(seg.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  const char flip = 0x5A;
  REQUIRE(::pwrite(fd, &flip, 1, static_cast<off_t>(64 + 40 * i + 12)) == 1);
  ::close(fd);
}

}  // namespace

TEST_CASE("cli archive: an archive's errors give advice about the archive, never a ring's") {
  ArchiveDir dir;
  Result r = run({"dump", dir.path});
  REQUIRE(r.rc == 1);
  CHECK(one_error_line(r.err));
  CHECK(r.err.find("shmcast record") != std::string::npos);
  CHECK(r.err.find("shmcast create") == std::string::npos);
  write_small_archive(dir.path, 20);
  damage_frame(dir.path, 15);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"dump", dir.path}, {"archive-info", dir.path}}) {
    INFO(args[0]);
    r = run(args);
    CHECK(r.rc == 1);
    CHECK(one_error_line(r.err));
    CHECK(r.err.find("move the damaged segment aside") != std::string::npos);
    CHECK(r.err.find("shmcast rm") == std::string::npos);
  }
}

TEST_CASE("cli archive: dump --to stops at its end, whatever lies after it") {
  ArchiveDir dir;
  write_small_archive(dir.path, 20);
  damage_frame(dir.path, 15);
  Result r = run({"dump", dir.path, "--to", "14"});
  CHECK(r.rc == 0);
  CHECK(r.err.empty());
  const std::vector<std::string> out = lines(r.out);
  REQUIRE(out.size() == 15);
  CHECK(out.front() == "m0");
  CHECK(out.back() == "m14");
  r = run({"dump", dir.path, "--to", "15"});
  CHECK(r.rc == 1);  // the damaged record is in the range asked for
  CHECK(lines(r.out).size() == 15);
}

TEST_CASE("cli archive: record under a file size limit stops with an error and the archive whole, not killed by SIGXFSZ") {
  RingGuard ring(unique_ring("arfsz"));
  ArchiveDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 65536});
  TempDir logs;
  const std::string err_path = logs.path + "/err";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(err, 2);
    rlimit lim{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    ::execl(SHMCAST_BIN, SHMCAST_BIN, "record", ring.name.c_str(), "--dir", dir.path.c_str(), "--fsync", "every", nullptr);
    ::_exit(127);
  }
  REQUIRE(wait_labelled(ring.name, {"record"}));
  const std::string big(1500, 'x');
  for (int i = 0; i < 4; ++i) p.publish(bytes_of(big));
  int status = 0;
  for (int i = 0; i < 2000 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  std::ifstream in(err_path);
  const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(err.find("file size limit") != std::string::npos);
  CHECK(err.find("ulimit -f") != std::string::npos);
  CHECK(err.find("everything before sequence 2 is recorded intact") != std::string::npos);
  Archive a(dir.path);
  CHECK(a.info().next_seq == 2);
  CHECK(a.info().messages == 2);
}

TEST_CASE("cli archive: a recorder's directory before its first segment is an empty archive", "[cli][archive]") {
  RingGuard ring(unique_ring("arch-empty"));
  ArchiveDir dir;
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  const std::unique_ptr<Proc> recorder = start_recorder(ring.name, dir.path);  // nothing is published: no segment
  REQUIRE(fs::exists(dir.path + "/.lock"));
  for (const auto& entry : fs::directory_iterator(dir.path)) REQUIRE(entry.path().extension() != ".seg");

  const Result json = run({"archive-info", dir.path, "--json"});
  INFO(json.err);
  CHECK(json.rc == 0);
  CHECK(json.out.find("\"empty\":true") != std::string::npos);
  CHECK(json_u64(json.out, "segments") == 0u);
  const Result text = run({"archive-info", dir.path});
  CHECK(text.rc == 0);
  CHECK(text.out.find("\n  empty\n") != std::string::npos);
  const Result dump = run({"dump", dir.path});
  CHECK(dump.rc == 0);
  CHECK(dump.out.empty());
  RingGuard copy(unique_ring("arch-empty"));
  REQUIRE(run({"create", copy.name, "--size", "4K"}).rc == 0);
  const Result replay = run({"replay", dir.path, "--to", copy.name, "--max"});
  INFO(replay.err);
  CHECK(replay.rc == 0);
  CHECK(replay.err.find("0 messages") != std::string::npos);
  for (const Result* r : {&json, &text, &dump, &replay}) CHECK(r->err.find("is it an archive") == std::string::npos);
  recorder->signal(SIGTERM);
  CHECK(recorder->finish() == 0);
}
