// archive_bench: the recorder and catch-up figures of issue 19, each beside a probe of the
// same disk taken in the same run (bench/README.md, "Recording and catch-up").
//   disk probe   sequential 1 MiB writes of the run's volume into the archive's directory,
//                then fdatasync: the disk's bandwidth for this run
//   recorder     a producer thread publishing flat out into a 64 MiB ring, and a recorder
//                thread (a registered reader appending to an ArchiveWriter, --fsync interval)
//                as `shmcast record` runs it: messages/s recorded and loss, at 64 B and 64 KiB
//   catch-up     a reader given the archive, started at its first sequence after the ring
//                has long lost it: messages/s read from the archive
// Usage: archive_bench [--dir DIR] [--seconds S] [--json FILE]
#include <shmcast/archive.hpp>
#include <shmcast/shmcast.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace shmcast;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// MB/s of sequential 1 MiB writes of `bytes` into `dir`, synced at the end.
double disk_probe(const std::string& dir, std::uint64_t bytes) {
  const std::string path = dir + "/probe.bin";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<char> chunk(1 << 20, 'x');
  const auto t0 = Clock::now();
  for (std::uint64_t done = 0; done < bytes; done += chunk.size())
    if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) break;
  ::fdatasync(fd);
  const double s = seconds_since(t0);
  ::close(fd);
  fs::remove(path);
  return static_cast<double>(bytes) / s / 1e6;
}

struct RecordFigures {
  double rate = 0;  // messages/s recorded
  double mbps = 0;  // payload MB/s recorded
  std::uint64_t recorded = 0, missed = 0;
};

// A producer flat out for `seconds`, a recorder beside it; the archive in `dir`.
RecordFigures record_run(const std::string& dir, std::size_t size, double seconds) {
  const std::string ring = "archive-bench-" + std::to_string(::getpid());
  Producer::remove(ring);
  Producer p = Producer::create(ring, {.ring_bytes = std::uint64_t{64} << 20, .max_message = 1 << 20});
  Reader r(ring, {.start = StartAt::sequence, .start_seq = 0, .label = "record"});
  ArchiveWriter w(dir, p.ring_id(), ArchiveOptions{.fsync = Fsync::interval});
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    std::vector<std::byte> buf(size, std::byte{7});
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < until)
      for (int i = 0; i < 256; ++i) p.publish({buf.data(), size});
    stop = true;
  });
  RecordFigures f;
  const auto t0 = Clock::now();
  while (!stop.load(std::memory_order_relaxed) || r.position() < p.head()) {
    const ReadResult e = r.try_read();
    if (e.status == ReadStatus::message) {
      w.append(e.message);
      ++f.recorded;
    } else if (e.status == ReadStatus::gap) {
      w.append_gap(e.gap);
      f.missed += e.gap.missed;
    } else {
      w.flush();
    }
  }
  w.sync();
  const double s = seconds_since(t0);
  producer.join();
  Producer::remove(ring);
  f.rate = static_cast<double>(f.recorded) / s;
  f.mbps = f.rate * static_cast<double>(size) / 1e6;
  return f;
}

// A reader that catches up on the whole archive in `dir` of ring `ring_id`.
double catch_up_run(const std::string& dir, std::uint64_t count) {
  const std::string ring = "archive-bench-catchup-" + std::to_string(::getpid());
  Producer::remove(ring);
  Producer p = Producer::create(ring, {.ring_bytes = 1 << 16});
  {
    // The ring and the archive get the same messages; the ring keeps only the last few.
    ArchiveWriter w(dir, p.ring_id(), ArchiveOptions{.fsync = Fsync::never});
    std::vector<std::byte> buf(64, std::byte{1});
    for (std::uint64_t s = 0; s < count; ++s) {
      p.publish({buf.data(), buf.size()}, 0, s);
      w.append(Message{s, 0, s, {buf.data(), buf.size()}});
    }
  }
  ReaderOptions o{.start = StartAt::sequence, .start_seq = 0};
  o.archive = dir;
  Reader r(ring, o);
  std::uint64_t got = 0;
  const auto t0 = Clock::now();
  while (got < count) {
    const ReadResult e = r.try_read();
    if (e.status == ReadStatus::message) ++got;
    else if (e.status != ReadStatus::empty) break;
  }
  const double s = seconds_since(t0);
  Producer::remove(ring);
  return static_cast<double>(got) / s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string base = "/tmp";
  double seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--dir") == 0) base = argv[i + 1];
    else if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
  }
  const std::string dir = base + "/shmcast-archive-bench-" + std::to_string(::getpid());
  fs::create_directories(dir);
  std::printf("archive_bench: archives in %s, %.1f s per recorder point\n", dir.c_str(), seconds);

  const RecordFigures small = record_run(dir + "/r64", 64, seconds);
  std::printf("recorder 64 B:    %.2f M msg/s recorded (%.0f MB/s payload), %llu missed of %llu\n", small.rate / 1e6,
              small.mbps, static_cast<unsigned long long>(small.missed),
              static_cast<unsigned long long>(small.recorded + small.missed));
  fs::remove_all(dir + "/r64");

  const double disk = disk_probe(dir, std::uint64_t{1} << 30);
  const RecordFigures large = record_run(dir + "/r64k", 64 << 10, seconds);
  const double disk_after = disk_probe(dir, std::uint64_t{1} << 30);
  const double probe = (disk + disk_after) / 2;
  std::printf("disk probe:       %.0f MB/s before, %.0f MB/s after (sequential 1 MiB writes, 1 GiB, fdatasync)\n", disk,
              disk_after);
  std::printf("recorder 64 KiB:  %.0f msg/s, %.0f MB/s = %.0f%% of the probe, %llu missed of %llu\n", large.rate,
              large.mbps, 100 * large.mbps / probe, static_cast<unsigned long long>(large.missed),
              static_cast<unsigned long long>(large.recorded + large.missed));
  fs::remove_all(dir + "/r64k");

  const double catch_up = catch_up_run(dir + "/c64", 5'000'000);
  std::printf("catch-up 64 B:    %.2f M msg/s read from the archive\n", catch_up / 1e6);
  fs::remove_all(dir);

  const bool ok = small.rate >= 3e6 && large.mbps >= 0.5 * probe && catch_up >= 5e6;
  std::printf("targets: recorder 64 B >= 3 M msg/s: %s; recorder 64 KiB >= 50%% of the disk: %s; catch-up >= 5 M msg/s: %s\n",
              small.rate >= 3e6 ? "met" : "MISSED", large.mbps >= 0.5 * probe ? "met" : "MISSED",
              catch_up >= 5e6 ? "met" : "MISSED");
  return ok ? 0 : 3;
}
