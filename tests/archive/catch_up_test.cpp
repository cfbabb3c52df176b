// Catch-up (ReaderOptions::archive): a reader the ring no longer serves reads what it
// missed from the archive and goes back to the ring at exactly the next sequence, with no
// duplicate, no reorder and no gap; only what neither holds is a gap. Deterministic cases
// first (the archive behind the ring, the archive with a gap of its own), then processes:
// a producer that keeps writing, a recorder, and a reader that catches up while they run.
#include "archive_files.hpp"
#include "temp_dir.hpp"
#include "test_support.hpp"

#include <shmcast/archive.hpp>
#include <shmcast/shmcast.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include <sys/mman.h>

using namespace shmcast;
using namespace shmcast::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMax = 200;


void publish_sized(Producer& p, std::uint64_t count) {
  std::vector<std::byte> buf(kMax);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t seq = p.head();
    const std::size_t n = fill_sized(buf.data(), seq, kMax);
    p.publish({buf.data(), n}, sized_type(seq));
  }
}

// A recorder in this process: copies what `reader` has into `w`.
void record_all(Reader& reader, ArchiveWriter& w) {
  for (;;) {
    const ReadResult e = reader.try_read();
    if (!e) break;
    if (e.status == ReadStatus::message) w.append(e.message);
    else if (e.status == ReadStatus::gap) w.append_gap(e.gap);
  }
  w.flush();
}

struct Outcome {
  std::uint64_t delivered = 0, from_archive = 0, gaps = 0, missed = 0;
  std::vector<Gap> gap_list;
  bool ok = true;
};

// Reads until position reaches `end`, checking every message; stops after `patience` without progress.
Outcome follow(Reader& r, std::uint64_t end, std::chrono::milliseconds patience = 3000ms) {
  Outcome o;
  std::uint64_t expect = r.position();
  auto last = std::chrono::steady_clock::now();
  while (r.position() < end && std::chrono::steady_clock::now() - last < patience) {
    const ReadResult e = r.read(10ms);
    if (e.status == ReadStatus::message) {
      if (e.message.seq != expect || !verify_sized(e.message.payload, expect, kMax) || e.message.type != sized_type(expect))
        o.ok = false;
      ++expect;
      ++o.delivered;
      if (r.catching_up()) ++o.from_archive;
      last = std::chrono::steady_clock::now();
    } else if (e.status == ReadStatus::gap) {
      if (e.gap.first != expect) o.ok = false;
      expect += e.gap.missed;
      ++o.gaps;
      o.missed += e.gap.missed;
      o.gap_list.push_back(e.gap);
      last = std::chrono::steady_clock::now();
    }
  }
  if (r.delivered() + r.missed() != r.position() - r.start()) o.ok = false;
  return o;
}

// The end of a process run, shared with the children: set by the producer when it stops.
struct RunEnd {
  std::atomic<int> stop{0};
  std::atomic<std::uint64_t> final_head{0};
};

// A recorder process: a registered reader appending to the archive in `dir` until the
// producer has stopped and it has recorded everything.
pid_t spawn_recorder(const std::string& ring, const std::string& dir, std::uint64_t ring_id, RunEnd& end) {
  return spawn([&, ring, dir, ring_id] {
    Reader r(ring, {.start = StartAt::sequence, .start_seq = 0, .label = "record"});
    ArchiveWriter w(dir, ring_id);
    while (end.stop.load() == 0 || r.position() < end.final_head.load()) {
      const ReadResult e = r.read(5ms);
      if (e.status == ReadStatus::message) w.append(e.message);
      else if (e.status == ReadStatus::gap) w.append_gap(e.gap);
      else w.flush();
    }
    w.sync();
    return 0;
  });
}

// A producer process: bursts of 50 sized messages every 200 us for `length`, then says where it stopped.
pid_t spawn_paced_producer(Producer& p, std::chrono::milliseconds length, RunEnd& end) {
  return spawn([&, length] {
    std::vector<std::byte> buf(kMax);
    const auto until = std::chrono::steady_clock::now() + length;
    while (std::chrono::steady_clock::now() < until) {
      for (int i = 0; i < 50; ++i) {
        const std::uint64_t seq = p.head();
        p.publish({buf.data(), fill_sized(buf.data(), seq, kMax)}, sized_type(seq));
      }
      std::this_thread::sleep_for(200us);
    }
    end.final_head.store(p.head());
    end.stop.store(1);
    return 0;
  });
}

// An 8 KiB ring and, in this process, a recorder reading it from sequence 0 into the
// archive in `dir`. `publish_recorded(rounds)`: 25 sized messages a round, recorded before
// the next round (less than the ring holds, so the recorder is never lapped).
// `late_reader()`: a reader from sequence 0 that catches up from the archive.
struct RecordedRing {
  RingGuard ring{unique_ring("catchup")};
  TempDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 8192});
  Reader recorder{ring.name, ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .label = "record"}};
  ArchiveWriter w{dir.path, p.ring_id()};

  void publish_recorded(int rounds) {
    for (int i = 0; i < rounds; ++i) {
      publish_sized(p, 25);
      record_all(recorder, w);
    }
  }
  Reader late_reader(const std::string& label = {}) const {
    ReaderOptions o{.start = StartAt::sequence, .start_seq = 0, .label = label};
    o.archive = dir.path;
    return Reader(ring.name, o);
  }
};

}  // namespace

TEST_CASE("catch-up: a reader reads what the ring lost from the archive, then the ring, with no gap") {
  RecordedRing f;
  f.publish_recorded(200);
  REQUIRE(f.recorder.missed() == 0);
  Reader r = f.late_reader();
  REQUIRE(r.oldest() > 1000);  // the ring lost the start long ago
  const Outcome out = follow(r, f.p.head());
  REQUIRE(out.ok);
  REQUIRE(out.gaps == 0);
  REQUIRE(out.delivered == f.p.head());
  REQUIRE(out.from_archive > 1000);
  REQUIRE_FALSE(r.catching_up());
  // Back in the ring: new messages come from it.
  publish_sized(f.p, 3);
  const Outcome more = follow(r, f.p.head());
  REQUIRE(more.ok);
  REQUIRE(more.delivered == 3);
  REQUIRE(more.from_archive == 0);
}

TEST_CASE("catch-up: an archive behind the ring: what neither holds is one exact gap") {
  RecordedRing f;
  f.publish_recorded(40);
  const std::uint64_t archived = *f.w.next_seq();  // the recorder stops here
  publish_sized(f.p, 3000);
  Reader r = f.late_reader();
  const std::uint64_t oldest = r.oldest();
  REQUIRE(oldest > archived);
  const Outcome out = follow(r, f.p.head());
  REQUIRE(out.ok);
  REQUIRE(out.gaps == 1);
  REQUIRE(out.gap_list[0].first == archived);
  // The gap ends where the ring resumed: no earlier than its oldest with the margin when asked.
  REQUIRE(out.gap_list[0].first + out.gap_list[0].missed >= oldest);
  CHECK(out.gap_list[0].cause == GapCause::not_archived);  // past the archive's end: neither holds them
  REQUIRE(out.from_archive == archived);
  REQUIRE(r.position() == f.p.head());
}

TEST_CASE("catch-up: an archive with a gap of its own: the gap is reported, the ring covers what it still holds") {
  RecordedRing f;
  publish_sized(f.p, 50);
  record_all(f.recorder, f.w);
  publish_sized(f.p, 2000);  // the recorder is lapped: a gap record
  record_all(f.recorder, f.w);
  REQUIRE(f.recorder.gaps() == 1);
  f.publish_recorded(40);
  ArchiveInfo info = Archive(f.dir.path).info();
  REQUIRE(info.gaps == 1);
  Reader r = f.late_reader();
  const Outcome out = follow(r, f.p.head());
  REQUIRE(out.ok);
  REQUIRE(out.gaps == 1);
  REQUIRE(out.missed == info.missed);
  CHECK(out.gap_list[0].cause == GapCause::not_archived);  // the recorder's own gap
  REQUIRE(r.position() == f.p.head());
}

TEST_CASE("catch-up: a damaged record ends the catch-up with a corrupt gap and an error naming the file") {
  RingGuard ring{unique_ring("catchup-damage")};
  TempDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 8192});
  {
    Reader recorder{ring.name, ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .label = "record"}};
    ArchiveWriter w{dir.path, p.ring_id(), ArchiveOptions{.segment_bytes = 16384}};
    for (int i = 0; i < 60; ++i) {
      publish_sized(p, 25);
      record_all(recorder, w);
    }
    REQUIRE(recorder.missed() == 0);
  }
  const std::vector<std::string> segments = segment_paths(dir.path);
  REQUIRE(segments.size() > 2);
  const char flip = 0x5A;  // a byte of a payload in the middle of the first segment: its frame fails its CRC
  overwrite(segments.front(), 8000, &flip, 1);

  ReaderOptions o{.start = StartAt::sequence, .start_seq = 0};
  o.archive = dir.path;
  Reader r(ring.name, o);
  REQUIRE(r.oldest() > 1000);
  const Outcome out = follow(r, p.head());
  REQUIRE(out.ok);  // every message in order and intact, every gap where it starts
  REQUIRE(out.gaps == 1);
  CHECK(out.gap_list[0].cause == GapCause::corrupt);  // the archive held them: not `not_archived`
  CHECK(out.gap_list[0].first == out.from_archive);   // everything before the damage came from the archive
  CHECK(out.from_archive > 0);
  CHECK(r.archive_error().find(segments.front()) != std::string::npos);
  CHECK_FALSE(r.catching_up());
  CHECK(r.position() == p.head());
}

TEST_CASE("catch-up: a run the producer skipped reads back from the archive as skipped") {
  RecordedRing f;
  f.publish_recorded(4);
  f.p.skip_to(f.p.head() + 30);
  f.publish_recorded(200);  // the ring loses the skip record long before the late reader comes
  REQUIRE(f.recorder.gaps() == 1);
  Reader r = f.late_reader();
  REQUIRE(r.oldest() > 1000);
  const Outcome out = follow(r, f.p.head());
  REQUIRE(out.ok);
  REQUIRE(out.gaps == 1);
  CHECK(out.gap_list[0].first == 100);
  CHECK(out.gap_list[0].missed == 30);
  CHECK(out.gap_list[0].cause == GapCause::skipped);
  REQUIRE(out.from_archive > 1000);
}

TEST_CASE("catch-up: processes: the producer keeps writing while a late reader catches up and switches back",
          "[process]") {
  RingGuard ring(unique_ring("catchup"));
  TempDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 16384});
  const std::uint64_t ring_id = p.ring_id();
  auto* end = static_cast<RunEnd*>(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  new (end) RunEnd;
  auto* stop = &end->stop;
  auto* final_head = &end->final_head;
  const pid_t recorder = spawn_recorder(ring.name, dir.path, ring_id, *end);
  const pid_t producer = spawn_paced_producer(p, 1200ms, *end);
  std::this_thread::sleep_for(400ms);  // long enough for the ring to lap
  struct Result {
    std::uint64_t delivered, missed, from_archive, position;
    int ok;
  };
  auto* result = reinterpret_cast<Result*>(reinterpret_cast<char*>(stop) + 128);
  const pid_t late = spawn([&] {
    ReaderOptions o{.start = StartAt::sequence, .start_seq = 0};
    o.archive = dir.path;
    Reader r(ring.name, o);
    Outcome out;
    while (stop->load() == 0) {
      const Outcome part = follow(r, ~std::uint64_t{0}, 50ms);
      out.delivered += part.delivered;
      out.missed += part.missed;
      out.from_archive += part.from_archive;
      out.ok = out.ok && part.ok;
    }
    const Outcome rest = follow(r, final_head->load());
    out.delivered += rest.delivered;
    out.missed += rest.missed;
    out.from_archive += rest.from_archive;
    *result = {out.delivered, out.missed, out.from_archive, r.position(), out.ok && rest.ok ? 1 : 0};
    return 0;
  });
  REQUIRE(wait_exit(producer) == 0);
  REQUIRE(wait_exit(late) == 0);
  REQUIRE(wait_exit(recorder) == 0);
  const ArchiveInfo info = Archive(dir.path).info();
  INFO("delivered " << result->delivered << " missed " << result->missed << " from archive " << result->from_archive
                    << " position " << result->position << " head " << final_head->load() << " archive missed "
                    << info.missed);
  REQUIRE(result->ok == 1);
  REQUIRE(result->position == final_head->load());
  REQUIRE(result->delivered + result->missed == final_head->load());
  REQUIRE(result->from_archive > 0);
  // Only what neither held is lost: the late reader misses no more than the recorder did,
  // unless the machine starved it long enough for the ring and the archive's tail to move on.
  REQUIRE(result->missed <= info.missed + final_head->load() / 10);
  ::munmap(stop, 4096);
}

TEST_CASE("catch-up: stat shows a reader in catch-up, with the lag it still has to make up") {
  RecordedRing f;
  f.publish_recorded(100);
  Reader r = f.late_reader("late");
  REQUIRE(r.try_read().status == ReadStatus::message);
  REQUIRE(r.catching_up());
  const auto late_status = [&] {
    for (const ReaderStatus& s : inspect(f.ring.name).readers)
      if (s.label == "late") return s;
    FAIL("the late reader is not listed");
    return ReaderStatus{};
  };
  ReaderStatus s = late_status();
  REQUIRE(s.catching_up);
  REQUIRE(s.state == ReaderState::catching_up);
  REQUIRE(std::string(to_string(s.state)) == "catch-up");
  REQUIRE(s.lag == f.p.head() - 1);
  while (r.position() < f.p.head()) REQUIRE(r.try_read().status == ReadStatus::message);
  s = late_status();
  REQUIRE_FALSE(s.catching_up);
  REQUIRE(s.lag == 0);
}

TEST_CASE("catch-up: processes: readers stalled until lapped, and restarted mid-stream, deliver every sequence once, in order",
          "[process]") {
  RingGuard ring(unique_ring("catchup"));
  TempDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 16384});
  const std::uint64_t ring_id = p.ring_id();
  struct Shared : RunEnd {
    std::atomic<std::uint64_t> resume_at{0};
    std::uint64_t delivered[3] = {}, missed[3] = {}, from_archive[3] = {}, position[3] = {};
    int ok[3] = {};
  };
  auto* sh = static_cast<Shared*>(::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  new (sh) Shared;
  const pid_t recorder = spawn_recorder(ring.name, dir.path, ring_id, *sh);
  const pid_t producer = spawn_paced_producer(p, 1500ms, *sh);
  // Reads with the archive from `start` until the producer stops and it reached the end;
  // stalls now and then (`stall`), or leaves after `leave_after` messages.
  const auto reader = [&](int slot, std::uint64_t start, bool stall, std::uint64_t leave_after) {
    ReaderOptions o{.start = StartAt::sequence, .start_seq = start};
    o.archive = dir.path;
    Reader r(ring.name, o);
    std::uint64_t expect = start;
    bool ok = true;
    auto last = std::chrono::steady_clock::now();
    while ((sh->stop.load() == 0 || r.position() < sh->final_head.load()) && std::chrono::steady_clock::now() - last < 5s) {
      const ReadResult e = r.read(5ms);
      if (e.status == ReadStatus::message) {
        ok = ok && e.message.seq == expect && verify_sized(e.message.payload, expect, kMax);
        ++expect;
        if (r.catching_up()) ++sh->from_archive[slot];
        if (stall && expect % 3000 == 0) std::this_thread::sleep_for(150ms);  // lapped meanwhile
        if (leave_after != 0 && r.delivered() == leave_after) break;
        last = std::chrono::steady_clock::now();
      } else if (e.status == ReadStatus::gap) {
        ok = ok && e.gap.first == expect;
        expect += e.gap.missed;
        last = std::chrono::steady_clock::now();
      }
    }
    sh->delivered[slot] = r.delivered();
    sh->missed[slot] = r.missed();
    sh->position[slot] = r.position();
    sh->ok[slot] = ok && r.delivered() + r.missed() == r.position() - r.start() ? 1 : 0;
    return 0;
  };
  const pid_t staller = spawn([&] { return reader(0, 0, true, 0); });
  // The restarted one: a first process reads 2000 messages and leaves; a second resumes where it stood.
  const pid_t first_half = spawn([&] {
    reader(1, 0, false, 2000);
    sh->resume_at.store(sh->position[1]);
    return 0;
  });
  REQUIRE(wait_exit(first_half) == 0);
  const std::uint64_t resume = sh->resume_at.load();
  REQUIRE(sh->ok[1] == 1);
  const std::uint64_t first_delivered = sh->delivered[1], first_missed = sh->missed[1];
  std::this_thread::sleep_for(300ms);  // the ring laps past where it left
  const pid_t second_half = spawn([&] { return reader(2, resume, false, 0); });
  REQUIRE(wait_exit(producer) == 0);
  REQUIRE(wait_exit(staller) == 0);
  REQUIRE(wait_exit(second_half) == 0);
  REQUIRE(wait_exit(recorder) == 0);
  const ArchiveInfo info = Archive(dir.path).info();
  const std::uint64_t head = sh->final_head.load();
  INFO("head " << head << " archive missed " << info.missed << " staller delivered " << sh->delivered[0] << " missed "
                << sh->missed[0] << " from archive " << sh->from_archive[0] << "; restarted " << first_delivered << "+"
                << sh->delivered[2] << " missed " << first_missed << "+" << sh->missed[2]);
  REQUIRE(sh->ok[0] == 1);
  REQUIRE(sh->ok[2] == 1);
  REQUIRE(sh->position[0] == head);
  REQUIRE(sh->position[2] == head);
  REQUIRE(sh->from_archive[0] > 0);  // its stalls were made up from the archive
  // Every sequence once: the staller's and the restarted pair's losses are the recorder's at most,
  // with room for a machine that starves a reader long enough for the archive's tail to move on too.
  REQUIRE(sh->missed[0] <= info.missed + head / 10);
  REQUIRE(first_missed + sh->missed[2] <= info.missed + head / 10);
  REQUIRE(first_delivered + sh->delivered[2] + first_missed + sh->missed[2] == head);
  ::munmap(sh, sizeof(Shared));
}

TEST_CASE("catch-up: an archive that starts late, inside what the ring holds: only what comes before it is a gap") {
  RingGuard ring{unique_ring("catchlate")};
  TempDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 8192});
  publish_sized(p, 3000);
  // A recorder that started just after the ring's oldest message: the ring still holds
  // where the archive starts, but a reader repositioned by the oldest policy keeps a
  // margin from the producer and would resume some records later.
  const GapPolicy policy = GENERATE(GapPolicy::oldest, GapPolicy::latest);
  INFO((policy == GapPolicy::oldest ? "on_gap oldest" : "on_gap latest"));
  const std::uint64_t starts = inspect(ring.name).oldest + 1;  // the oldest held, with no margin
  {
    Reader recorder(ring.name, ReaderOptions{.start = StartAt::sequence, .start_seq = starts, .label = "record"});
    ArchiveWriter w(dir.path, p.ring_id());
    record_all(recorder, w);
    REQUIRE(recorder.missed() == 0);
  }
  ReaderOptions o{.start = StartAt::sequence, .start_seq = 0, .on_gap = policy};
  o.archive = dir.path;
  Reader r(ring.name, o);
  const Outcome out = follow(r, p.head());
  REQUIRE(out.ok);
  REQUIRE(out.gaps == 1);
  CHECK(out.gap_list[0].first == 0);
  // Not up to the policy's place in the ring: from `starts` on, the archive holds every
  // message (and the ring too, where the reader goes back at once).
  CHECK(out.gap_list[0].missed == starts);
  CHECK(r.position() == p.head());
  CHECK(r.delivered() == p.head() - starts);
}
