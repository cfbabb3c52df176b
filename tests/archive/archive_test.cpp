// The archive on its own: what is written reads back byte for byte, seeks land on the
// record that holds a sequence, a torn last record is cut off and recording carries on,
// damage anywhere else is an error naming the file, and a full disk stops the writer
// with everything before it intact.
#include "archive_files.hpp"
#include "archive_format.hpp"
#include "temp_dir.hpp"
#include "test_support.hpp"

#include <shmcast/archive.hpp>
#include <shmcast/error.hpp>
#include <shmcast/shmcast.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <sys/syscall.h>

// Every fdatasync the library makes in this executable passes through here (the library is
// linked in statically, so this definition takes libc's place), counted, then made.
namespace {
std::atomic<std::uint64_t> g_fdatasyncs{0};
}
extern "C" int fdatasync(int fd) {
  g_fdatasyncs.fetch_add(1);
  return static_cast<int>(::syscall(SYS_fdatasync, fd));
}

using namespace shmcast;
using namespace shmcast::test;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMax = 3000;


// Sequences first..end-1: messages, but every 97th starts a gap of 5.
void write_stream(ArchiveWriter& w, std::uint64_t first, std::uint64_t end) {
  std::vector<std::byte> buf(kMax);
  for (std::uint64_t s = first; s < end; ++s) {
    if (s % 97 == 0 && s + 5 <= end) {
      w.append_gap(s, 5);
      s += 4;
      continue;
    }
    const std::size_t n = fill_sized(buf.data(), s, kMax);
    w.append(Message{s, sized_type(s), s * 10, {buf.data(), n}});
  }
}

// Reads everything from the archive's position; checks it is the stream from `first` on.
// Returns the sequence after the last; `messages` (if given) gets how many messages it read.
std::uint64_t read_stream(Archive& a, std::uint64_t first, std::uint64_t* messages = nullptr) {
  std::uint64_t expect = first;
  for (;;) {
    const ReadResult r = a.next();
    if (!r) break;
    if (r.status == ReadStatus::gap) {
      REQUIRE(r.gap.first == expect);
      expect += r.gap.missed;
    } else {
      REQUIRE(r.message.seq == expect);
      REQUIRE(verify_sized(r.message.payload, expect, kMax));
      REQUIRE(r.message.type == sized_type(expect));
      REQUIRE(r.message.timestamp_ns == expect * 10);
      ++expect;
      if (messages != nullptr) ++*messages;
    }
  }
  return expect;
}

// An archive of the stream from 0 to end-1 in `dir`, its writer closed.
void write_archive(const std::string& dir, std::uint64_t end, const ArchiveOptions& options = {}) {
  ArchiveWriter w(dir, 1, options);
  write_stream(w, 0, end);
}

// Reopening an archive the writer repairs: it goes on at `next`, appends next..end-1, and
// the whole archive then reads back as the stream from 0 to end-1.
void carry_on_after_repair(const std::string& dir, std::uint64_t next, std::uint64_t end) {
  ArchiveWriter w(dir, 1);
  REQUIRE(*w.next_seq() == next);
  write_stream(w, next, end);
  w.sync();
  Archive a(dir);
  REQUIRE(read_stream(a, 0) == end);
}

struct Frame {
  std::uint64_t offset;
  detail::FrameHeader header;
};

// The sound frames of a segment file, up to the first that is not.
std::vector<Frame> frames_of(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  std::vector<Frame> out;
  detail::FrameReader frames(fd);
  detail::FrameHeader h{};
  for (std::uint64_t at = sizeof(detail::SegmentHeader); frames.read(at, h) == detail::FrameRead::ok; at += detail::frame_bytes(h.length))
    out.push_back({at, h});
  ::close(fd);
  return out;
}

// Damage on disk: `n` bytes of `path` at `offset` replaced.
}  // namespace

TEST_CASE("archive: CRC-32C agrees with the standard check value on both paths") {
  const char* check = "123456789";
  REQUIRE(detail::crc32c(0, check, 9) == 0xE3069283u);
  // Split anywhere, the running CRC continues.
  REQUIRE(detail::crc32c(detail::crc32c(0, check, 4), check + 4, 5) == 0xE3069283u);
}

TEST_CASE("archive: messages and gaps of any size read back exactly, across segments") {
  TempDir dir;
  {
    ArchiveWriter w(dir.path, 7, ArchiveOptions{.segment_bytes = 200'000});
    REQUIRE_FALSE(w.next_seq());
    write_stream(w, 100, 3000);
    REQUIRE(*w.next_seq() == 3000);
  }
  Archive a(dir.path);
  REQUIRE(read_stream(a, 100) == 3000);
  const ArchiveInfo info = a.info();
  REQUIRE(info.first_seq == 100);
  REQUIRE(info.next_seq == 3000);
  REQUIRE(info.gaps == 29);  // 194, 291, ... 2910
  REQUIRE(info.missed == 145);
  REQUIRE(info.messages == 2900 - 145);
  REQUIRE(info.segments > 3);
  REQUIRE(info.ring_id == 7);

  SECTION("seek lands on the record holding a sequence, in O(log n) through the index") {
    for (std::uint64_t s : {100ull, 101ull, 1500ull, 2999ull, 1945ull}) {
      REQUIRE(a.seek(s));
      const ReadResult r = a.next();
      REQUIRE(r.status == ReadStatus::message);
      REQUIRE(r.message.seq == s);
      REQUIRE(verify_sized(r.message.payload, s, kMax));
    }
    // Inside a gap: the gap, cut to start at the sequence sought.
    REQUIRE(a.seek(1943));  // 1940 % 97 == 0: the gap is [1940, 1945)
    ReadResult r = a.next();
    REQUIRE(r.status == ReadStatus::gap);
    REQUIRE(r.gap.first == 1943);
    REQUIRE(r.gap.missed == 2);
    CHECK(r.gap.cause == GapCause::not_archived);
    REQUIRE(a.next().message.seq == 1945);
    // Before the start: the first record; past the end: nothing yet.
    REQUIRE(a.seek(3));
    REQUIRE(a.next().message.seq == 100);
    REQUIRE_FALSE(a.seek(5000));
    REQUIRE(a.next().status == ReadStatus::empty);
  }
  SECTION("an archive is never renumbered") {
    ArchiveWriter w(dir.path, 7);
    std::byte b{};
    REQUIRE_THROWS_AS(w.append(Message{3001, 0, 0, {&b, 1}}), Error);
    REQUIRE_THROWS_AS(w.append(Message{2999, 0, 0, {&b, 1}}), Error);
    w.append(Message{3000, 0, 0, {&b, 1}});
  }
  SECTION("an archive of another ring is refused") {
    try {
      ArchiveWriter w(dir.path, 8);
      FAIL("opened");
    } catch (const Error& e) {
      REQUIRE(e.code() == Errc::geometry_mismatch);
      REQUIRE(std::string(e.what()).find("new directory") != std::string::npos);
    }
  }
}

TEST_CASE("archive: a gap keeps the cause its recorder met: skipped and corrupt read back so and the rest as not_archived") {
  TempDir dir;
  {
    ArchiveWriter w(dir.path, 7);
    std::byte b{};
    const auto message = [&](std::uint64_t seq) { w.append(Message{seq, 0, 0, {&b, 1}}); };
    message(0);
    w.append_gap(Gap{1, 5, GapCause::skipped});
    message(6);
    w.append_gap(Gap{7, 3, GapCause::overwritten});  // the recorder was lapped: the archive lacks them
    message(10);
    w.append_gap(Gap{11, 2, GapCause::corrupt});
    message(13);
    w.append_gap(14, 4);  // no cause given: as archives written before causes were kept
    message(18);
    w.append_gap(Gap{19, 1, GapCause::not_archived});
    message(20);
  }
  Archive a(dir.path);
  std::vector<Gap> gaps;
  for (ReadResult r = a.next(); r; r = a.next())
    if (r.status == ReadStatus::gap) gaps.push_back(r.gap);
  REQUIRE(gaps.size() == 5);
  CHECK(gaps[0].cause == GapCause::skipped);
  CHECK(gaps[1].cause == GapCause::not_archived);
  CHECK(gaps[2].cause == GapCause::corrupt);
  CHECK(gaps[3].cause == GapCause::not_archived);
  CHECK(gaps[4].cause == GapCause::not_archived);
  // A gap sought into is cut to start there, and keeps its cause.
  REQUIRE(a.seek(3));
  const ReadResult r = a.next();
  REQUIRE(r.status == ReadStatus::gap);
  CHECK(r.gap.first == 3);
  CHECK(r.gap.missed == 3);
  CHECK(r.gap.cause == GapCause::skipped);
  const ArchiveInfo info = a.info();
  CHECK(info.gaps == 5);
  CHECK(info.missed == 15);
  CHECK(info.skipped == 5);
  CHECK(info.corrupt == 2);
  CHECK(info.messages == 6);
}

TEST_CASE("archive: a torn last record is cut off on reopen, readers see it as not yet written") {
  TempDir dir;
  write_archive(dir.path, 500);
  const std::string last = segment_paths(dir.path).back();
  const auto full = fs::file_size(last);
  // A crash in the middle of the last record: cut it anywhere inside.
  const std::uint64_t cut = GENERATE(1, 8, 31, 33);
  fs::resize_file(last, full - cut);
  {
    Archive a(dir.path);
    REQUIRE(read_stream(a, 0) == 499);  // the torn record 499 is "not yet"
  }
  ArchiveWriter w(dir.path, 1);
  REQUIRE(*w.next_seq() == 499);
  REQUIRE(fs::file_size(last) < full - cut + 1);
  write_stream(w, 499, 700);
  w.sync();
  Archive a(dir.path);
  REQUIRE(read_stream(a, 0) == 700);
}

TEST_CASE("archive: a torn record of megabytes is cut off on reopen like any other") {
  // The writer looks past the first bad frame for sound ones (damage in the middle is
  // refused): a torn multi-megabyte record is megabytes of offsets to look at, read once.
  TempDir dir;
  std::vector<std::byte> big(6 << 20);
  {
    ArchiveWriter w(dir.path, 1);
    write_stream(w, 0, 50);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 7 + (i >> 12));
    w.append(Message{50, 3, 500, big});
  }
  const std::string last = segment_paths(dir.path).back();
  fs::resize_file(last, fs::file_size(last) - big.size() / 2);
  carry_on_after_repair(dir.path, 50, 60);
}

TEST_CASE("archive: garbage after the last record is cut off too") {
  TempDir dir;
  write_archive(dir.path, 50);
  {
    const int fd = ::open(segment_paths(dir.path).back().c_str(), O_WRONLY | O_APPEND);
    const char junk[] = "\x01GSM not a frame at all, just bytes";
    REQUIRE(::write(fd, junk, sizeof junk) == static_cast<ssize_t>(sizeof junk));
    ::close(fd);
  }
  carry_on_after_repair(dir.path, 50, 60);
}

TEST_CASE("archive: damage inside is an error naming the file and offset, never a crash") {
  TempDir dir;
  write_archive(dir.path, 800, ArchiveOptions{.segment_bytes = 100'000});
  const std::string first = segment_paths(dir.path).front();
  const char flip = 0x5A;
  overwrite(first, 64 + 40, &flip, 1);  // the second frame's sequence (the first is the gap 0-4, a bare header)
  Archive a(dir.path);
  try {
    for (int i = 0; i < 1000; ++i) (void)a.next();
    FAIL("read past a damaged record");
  } catch (const Error& e) {
    REQUIRE(e.code() == Errc::corrupt);
    REQUIRE(std::string(e.what()).find(first) != std::string::npos);
  }
}

TEST_CASE("archive: info() over a segment whose header is damaged, not the newest, is an error, not counts without it") {
  TempDir dir;
  write_archive(dir.path, 800, ArchiveOptions{.segment_bytes = 100'000});
  const std::vector<std::string> paths = segment_paths(dir.path);
  REQUIRE(paths.size() >= 3);
  const ArchiveInfo whole = Archive(dir.path).info();
  const char flip = 0x5A;
  // Its first sequence (the header then fails its CRC), or its magic (not a segment of ours).
  const bool magic = GENERATE(false, true);
  overwrite(paths[1], magic ? 0 : 16, &flip, 1);
  try {
    const ArchiveInfo partial = Archive(dir.path).info();
    FAIL("counted " << partial.messages << " messages of " << whole.messages << ", leaving a segment out");
  } catch (const Error& e) {
    CHECK(e.code() == (magic ? Errc::foreign : Errc::corrupt));
    CHECK(std::string(e.what()).find(paths[1]) != std::string::npos);
  }
}

TEST_CASE("archive: damage in the middle of the newest segment is refused on reopen, not cut off with what follows") {
  TempDir dir;
  write_archive(dir.path, 300);
  const std::string seg = segment_paths(dir.path).back();
  const auto size = fs::file_size(seg);
  // The sequence of the third frame from the end: after the last index entry (one per 64
  // frames), where reopening reads frame by frame.
  const std::vector<Frame> frames = frames_of(seg);
  REQUIRE(frames.size() > 200);
  REQUIRE(frames.size() % detail::kFramesPerIndexEntry > 3);
  const char flip = 0x5A;
  overwrite(seg, frames[frames.size() - 3].offset + 12, &flip, 1);
  try {
    ArchiveWriter w(dir.path, 1);
    FAIL("opened for appending over a damaged record with sound ones after it");
  } catch (const Error& e) {
    REQUIRE(e.code() == Errc::corrupt);
    REQUIRE(std::string(e.what()).find(seg) != std::string::npos);
  }
  REQUIRE(fs::file_size(seg) == size);  // nothing was cut
}

TEST_CASE("archive: a hole before the newest segment's last index entry is refused on reopen too") {
  TempDir dir;
  write_archive(dir.path, 300);
  const std::string seg = segment_paths(dir.path).back();
  const auto size = fs::file_size(seg);
  // Zeros over a frame well before the last index entry, good frames after it: what a
  // power loss leaves when writeback reached later pages and not an earlier one.
  const std::vector<Frame> frames = frames_of(seg);
  REQUIRE(frames.size() > 3 * detail::kFramesPerIndexEntry);
  const std::vector<char> zeros(64, 0);
  overwrite(seg, frames[10].offset, zeros.data(), zeros.size());
  try {
    ArchiveWriter w(dir.path, 1);
    FAIL("opened for appending after a hole with sound records on both sides");
  } catch (const Error& e) {
    REQUIRE(e.code() == Errc::corrupt);
    REQUIRE(std::string(e.what()).find(seg) != std::string::npos);
  }
  REQUIRE(fs::file_size(seg) == size);  // nothing was cut
}

TEST_CASE("archive: a seek into an empty archive holds when its recorder writes the first segment") {
  TempDir dir;
  ArchiveWriter w(dir.path, 1);  // the recorder's lock, no segment yet
  Archive a(dir.path, EmptyArchive::empty);
  CHECK(a.info().empty);
  CHECK_FALSE(a.seek(10));
  CHECK(a.next().status == ReadStatus::empty);
  write_stream(w, 1, 40);
  w.flush();
  const ReadResult r = a.next();
  REQUIRE(r.status == ReadStatus::message);
  CHECK(r.message.seq == 10);  // not 1: the place sought before the segment existed
}

TEST_CASE("archive: a damaged length that claims a gigabyte is an error, not a gigabyte allocated") {
  TempDir dir;
  write_archive(dir.path, 300, ArchiveOptions{.segment_bytes = 100'000});
  REQUIRE(segment_paths(dir.path).size() > 1);  // damage in the newest could be a record being written
  const std::string seg = segment_paths(dir.path).front();
  // The length field (offset 4 in the header) of the first message (the stream starts with
  // a gap), at the largest value a sound header may carry: only the file's size and the CRC
  // tell it is false.
  const std::vector<Frame> frames = frames_of(seg);
  const auto message = std::find_if(frames.begin(), frames.end(), [](const Frame& f) { return f.header.kind == detail::kFrameMessage; });
  REQUIRE(message != frames.end());
  const std::uint32_t claimed = detail::kMaxFramePayload;
  overwrite(seg, message->offset + 4, &claimed, sizeof claimed);
  // In a child whose address space leaves no room for a gigabyte (sanitized builds reserve
  // terabytes of shadow memory, so there the limit is not set and only the error is checked).
  const pid_t pid = spawn([&] {
    if (!kSanitized) {
      rlimit as{};
      ::getrlimit(RLIMIT_AS, &as);
      as.rlim_cur = std::uint64_t{768} << 20;
      if (::setrlimit(RLIMIT_AS, &as) != 0) return 3;
    }
    try {
      Archive a(dir.path);
      for (int i = 0; i < 10; ++i) (void)a.next();
      return 4;  // read past a frame whose length is a lie
    } catch (const Error& e) {
      if (e.code() != Errc::corrupt) return 5;
      if (std::string(e.what()).find(seg) == std::string::npos) return 6;
    } catch (const std::bad_alloc&) {
      return 7;
    }
    try {
      Archive a(dir.path);
      (void)a.info();
      return 8;
    } catch (const Error& e) {
      return e.code() == Errc::corrupt ? 0 : 9;
    } catch (const std::bad_alloc&) {
      return 10;
    }
  });
  REQUIRE(wait_exit(pid) == 0);
}

TEST_CASE("archive: foreign files, other versions and missing directories are told apart") {
  TempDir dir;
  REQUIRE_THROWS_AS(Archive(dir.path + "/nope"), Error);
  try {
    Archive a(dir.path);
    FAIL("an empty directory opened as an archive");
  } catch (const Error& e) {
    REQUIRE(e.code() == Errc::not_found);
  }
  write_archive(dir.path, 10);
  const std::string seg = segment_paths(dir.path).front();
  detail::SegmentHeader h{};
  {
    const int fd = ::open(seg.c_str(), O_RDWR);
    REQUIRE(::pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h));
    h.version = 9;
    h.crc = detail::segment_crc(h);
    REQUIRE(::pwrite(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h));
    ::close(fd);
  }
  try {
    Archive a(dir.path);
    (void)a.next();
    FAIL("opened another version");
  } catch (const Error& e) {
    REQUIRE(e.code() == Errc::version_mismatch);
  }
  {
    const int fd = ::open(seg.c_str(), O_RDWR);
    h.magic = 0x1122334455667788ull;
    REQUIRE(::pwrite(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h));
    ::close(fd);
  }
  try {
    Archive a(dir.path);
    FAIL("opened a foreign file");
  } catch (const Error& e) {
    REQUIRE(e.code() == Errc::foreign);
  }
}

TEST_CASE("archive: retention removes the oldest segments whole, never the current one") {
  TempDir dir;
  ArchiveWriter w(dir.path, 1, ArchiveOptions{.segment_bytes = 50'000, .max_bytes = 200'000});
  write_stream(w, 0, 5000);
  w.sync();
  std::uint64_t total = 0;
  for (const auto& p : fs::directory_iterator(dir.path)) total += fs::file_size(p);
  REQUIRE(total <= 200'000 + 60'000);
  Archive a(dir.path);
  const ArchiveInfo info = a.info();
  REQUIRE(info.first_seq > 0);
  REQUIRE(info.next_seq == 5000);
  REQUIRE(read_stream(a, info.first_seq) == 5000);
}

// Writes until the writer stops with no_space; checks the error and what is left.
void fill_until_full(const std::string& dir, bool limit_file_size) {
  const pid_t pid = spawn([&] {
    if (limit_file_size) {
      std::signal(SIGXFSZ, SIG_IGN);
      rlimit lim{150'000, 150'000};
      ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    ArchiveWriter w(dir, 1, ArchiveOptions{.segment_bytes = 1 << 20, .fsync = Fsync::every});
    try {
      write_stream(w, 0, 1'000'000);
    } catch (const Error& e) {
      if (e.code() != Errc::no_space) return 2;
      // It says exactly how far the archive goes.
      const std::string kept = "everything before sequence " + std::to_string(Archive(dir).info().next_seq) + " is recorded intact";
      if (std::string(e.what()).find(kept) == std::string::npos) return 3;
      return 0;
    }
    return 4;
  });
  REQUIRE(wait_exit(pid) == 0);
  Archive a(dir);
  const std::uint64_t end = read_stream(a, 0);
  REQUIRE(end > 10);
  ArchiveWriter w(dir, 1);
  REQUIRE(*w.next_seq() == end);
}

TEST_CASE("archive: a full disk stops the writer cleanly, with everything before it intact") {
  TempDir dir;
  // A small tmpfs the test mounts and removes, where it may (root with CAP_SYS_ADMIN);
  // elsewhere a file size limit stands in for it: write() then fails with EFBIG as it
  // would with ENOSPC, and the writer treats both the same.
  const std::string mount_point = dir.path + "/small";
  fs::create_directories(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=256k") == 0) {
    struct Unmount {
      std::string path;
      ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount{mount_point};
    fill_until_full(mount_point + "/archive", false);
    SUCCEED("on a 256 KiB tmpfs");
  } else {
    WARN("no tmpfs could be mounted here (" << std::strerror(errno) << "): a file size limit stands in for a full disk");
    fill_until_full(dir.path + "/archive", true);
  }
}

TEST_CASE("archive: retention by age removes segments whose newest record is older than max_age") {
  TempDir dir;
  write_archive(dir.path, 600, ArchiveOptions{.segment_bytes = 20'000});
  std::vector<std::string> before = segment_paths(dir.path);
  REQUIRE(before.size() >= 3);
  // All but the newest segment were last written two hours ago.
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  for (std::size_t i = 0; i + 1 < before.size(); ++i) fs::last_write_time(before[i], old);
  ArchiveWriter w(dir.path, 1, ArchiveOptions{.segment_bytes = 20'000, .max_age = std::chrono::seconds(3600)});
  write_stream(w, 600, 700);  // rolls a segment, which applies retention
  w.sync();
  const std::vector<std::string> after = segment_paths(dir.path);
  REQUIRE(std::find(after.begin(), after.end(), before.front()) == after.end());
  REQUIRE(std::find(after.begin(), after.end(), before.back()) != after.end());
  Archive a(dir.path);
  const ArchiveInfo info = a.info();
  REQUIRE(info.next_seq == 700);
  REQUIRE(read_stream(a, info.first_seq) == 700);
}

TEST_CASE("archive: a recorder killed at random points under a full-speed producer leaves an archive that reads clean",
          "[process]") {
  RingGuard ring(unique_ring("arkill"));
  TempDir dir;
  Producer p = Producer::create(ring.name, {.ring_bytes = 65536, .max_message = kMax});
  const std::uint64_t ring_id = p.ring_id();
  auto* stop = static_cast<std::atomic<int>*>(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  new (stop) std::atomic<int>(0);
  const pid_t producer = spawn([&] {
    std::vector<std::byte> buf(kMax);
    while (stop->load() == 0) {
      for (int i = 0; i < 64; ++i) {
        const std::uint64_t seq = p.head();
        p.publish({buf.data(), fill_sized(buf.data(), seq, kMax)}, sized_type(seq), seq * 10);
      }
    }
    return 0;
  });
  std::uint64_t seed = 12345;
  for (int round = 0; round < 12; ++round) {
    const pid_t rec = spawn([&] {
      ArchiveWriter w(dir.path, ring_id, ArchiveOptions{.segment_bytes = 256 << 10, .fsync = Fsync::never});
      ReaderOptions o{.label = "record"};
      if (const auto next = w.next_seq()) {
        o.start = StartAt::sequence;
        o.start_seq = *next;
      } else {
        o.start = StartAt::oldest;
      }
      Reader r(ring.name, o);
      for (;;) {  // until killed
        const ReadResult e = r.try_read();
        if (e.status == ReadStatus::message) w.append(e.message);
        else if (e.status == ReadStatus::gap) w.append_gap(e.gap);
        else w.flush();
      }
      return 0;
    });
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + (seed >> 33) % 80));
    ::kill(rec, SIGKILL);
    wait_exit(rec);
  }
  stop->store(1);
  REQUIRE(wait_exit(producer) == 0);
  // The archive: sequences run on from its first, every message intact and at its place, and
  // the losses only where the recorder was down or lapped.
  Archive a(dir.path);
  const ArchiveInfo info = a.info();
  REQUIRE(info.messages > 1000);
  REQUIRE(info.gaps >= 1);
  std::uint64_t messages = 0;
  REQUIRE(read_stream(a, info.first_seq, &messages) == info.next_seq);
  REQUIRE(messages == info.messages);
  ::munmap(stop, 4096);
}

TEST_CASE("archive: retention removing the segment being read: the reader finishes it, and what else went is one gap") {
  TempDir dir;
  ArchiveWriter w(dir.path, 1, ArchiveOptions{.segment_bytes = 50'000, .max_bytes = 200'000});
  write_stream(w, 0, 100);
  w.sync();
  REQUIRE(segment_paths(dir.path).size() >= 2);
  REQUIRE(detail::list_segments(dir.path).front().first_seq == 0);  // retention has removed nothing yet
  Archive a(dir.path);
  std::uint64_t expect = 0;
  for (int i = 0; i < 10; ++i) {  // into the middle of the oldest segment
    const ReadResult r = a.next();
    REQUIRE(r);
    expect = r.status == ReadStatus::gap ? r.gap.first + r.gap.missed : r.message.seq + 1;
  }
  const std::uint64_t oldest_end = detail::list_segments(dir.path)[1].first_seq;
  REQUIRE(expect < oldest_end);
  write_stream(w, 100, 3000);  // retention removes many segments, the one being read among them
  w.sync();
  const std::uint64_t first_kept = detail::list_segments(dir.path).front().first_seq;
  REQUIRE(first_kept > oldest_end);
  // The rest of the oldest segment (still open), then [its end, the first kept) as one
  // gap, then everything kept.
  std::vector<Gap> gaps;
  for (;;) {
    const ReadResult r = a.next();
    if (!r) break;
    if (r.status == ReadStatus::gap) {
      REQUIRE(r.gap.first == expect);
      if (r.gap.first % 97 != 0) gaps.push_back(r.gap);
      expect += r.gap.missed;
    } else {
      REQUIRE(r.message.seq == expect);
      REQUIRE(verify_sized(r.message.payload, expect, kMax));
      ++expect;
    }
  }
  REQUIRE(expect == 3000);
  REQUIRE(gaps.size() == 1);
  REQUIRE(gaps[0].first == oldest_end);
  REQUIRE(gaps[0].first + gaps[0].missed == first_kept);
}

TEST_CASE("archive: a seek whose segment cannot be opened yet still skips what comes before the sequence sought") {
  TempDir dir;
  write_archive(dir.path, 500);
  // A newest segment whose header is not written yet: a writer that is creating it.
  const std::string creating = dir.path + "/" + detail::segment_name(500, ".seg");
  { const int fd = ::open(creating.c_str(), O_WRONLY | O_CREAT, 0644); ::close(fd); }
  Archive a(dir.path);
  REQUIRE_FALSE(a.seek(550));
  REQUIRE(a.position() == 550);
  REQUIRE(a.next().status == ReadStatus::empty);
  fs::remove(creating);
  {
    ArchiveWriter w(dir.path, 1);
    write_stream(w, 500, 700);
  }
  const ReadResult r = a.next();
  REQUIRE(r.status == ReadStatus::message);
  REQUIRE(r.message.seq == 550);
  REQUIRE(read_stream(a, 551) == 700);
}

TEST_CASE("archive: a record half written when the writer rolled to a new segment is read again, not called damage",
          "[process]") {
  // The writer puts each large record in a segment of its own: the reader following it
  // often reads a record while its write() is still copying it in, and the next segment
  // is often there by the time the reader looks for one. On tmpfs where there is one: a
  // roll's fdatasync costs nothing there, so the next segment follows a record closely.
  TempDir shm("/dev/shm");
  TempDir tmp;
  const std::string dir = shm.path.empty() ? tmp.path : shm.path;
  constexpr std::size_t kBig = 600 << 10;
  constexpr std::uint64_t kRecords = 600;
  std::vector<std::byte> payload(kBig);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(i * 13 + (i >> 9));
  // Retention keeps the directory small; a reader it overtakes sees a gap.
  ArchiveWriter w(dir, 1, ArchiveOptions{.segment_bytes = 4096, .fsync = Fsync::never, .max_bytes = 48 << 20});
  w.append(Message{0, 1, 0, payload});
  w.flush();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::uint64_t s = 1; s < kRecords; ++s) {
      w.append(Message{s, 1, s, payload});
      w.flush();
    }
    done = true;
  });
  Archive a(dir);
  std::uint64_t expect = 0;
  std::string error;
  for (;;) {
    const bool finished = done.load();
    ReadResult r;
    try {
      r = a.next();
    } catch (const Error& e) {
      error = e.what();
      break;
    }
    if (!r) {
      if (finished) break;
      continue;
    }
    if (r.status == ReadStatus::gap && r.gap.first == expect) {
      expect += r.gap.missed;
      continue;
    }
    if (r.status != ReadStatus::message || r.message.seq != expect || r.message.payload.size() != kBig) break;
    ++expect;
  }
  writer.join();
  INFO(error);
  REQUIRE(error.empty());
  REQUIRE(expect == kRecords);
}

TEST_CASE("archive: a second writer on the same directory is refused while the first holds it") {
  TempDir dir;
  std::optional<ArchiveWriter> first(std::in_place, dir.path, 1);
  write_stream(*first, 0, 20);
  try {
    ArchiveWriter second(dir.path, 1);
    FAIL("a second writer opened the directory");
  } catch (const Error& e) {
    REQUIRE(e.code() == Errc::producer_active);
    REQUIRE(std::string(e.what()).find("another recorder") != std::string::npos);
  }
  write_stream(*first, 20, 40);
  first.reset();
  ArchiveWriter again(dir.path, 1);  // free once the first is gone
  REQUIRE(*again.next_seq() == 40);
  Archive a(dir.path);
  REQUIRE(read_stream(a, 0) == 40);
  REQUIRE(segment_paths(dir.path).size() == 1);  // the lock file is not a segment
}

TEST_CASE("archive: processes: a copy that a fork left in a child does not write its buffer a second time") {
  SECTION("the child destroys its copy of the writer: the records it buffered are written once, by the parent") {
    TempDir dir;
    std::optional<ArchiveWriter> w(std::in_place, dir.path, 1);
    write_stream(*w, 0, 20);  // buffered
    const pid_t child = spawn([&] {
      w.reset();  // as returning from main would: it wrote the parent's buffer out a second time
      return 0;
    });
    REQUIRE(wait_exit(child) == 0);
    write_stream(*w, 20, 40);
    w.reset();
    Archive a(dir.path);
    REQUIRE(read_stream(a, 0) == 40);
  }
  SECTION("a child that goes on with the writer (a recorder that daemonises) owns it: its buffer is written") {
    TempDir dir;
    const pid_t child = spawn([&] {
      std::optional<ArchiveWriter> w(std::in_place, dir.path, 1);
      write_stream(*w, 0, 20);
      w->flush();
      const pid_t daemon = spawn([&] {
        write_stream(*w, 20, 40);  // buffered, written at destruction
        w.reset();
        return 0;
      });
      const int rc = wait_exit(daemon);
      w.reset();  // the parent's copy: nothing of its own to write
      return rc;
    });
    REQUIRE(wait_exit(child) == 0);
    Archive a(dir.path);
    REQUIRE(read_stream(a, 0) == 40);
  }
}

TEST_CASE("archive: a segment that cannot be started closes the writer: nothing more is taken") {
  TempDir dir;
  // A directory where the first segment's index goes: creating the index fails after the
  // segment file is open.
  fs::create_directories(dir.path + "/" + detail::segment_name(5, ".idx"));
  ArchiveWriter w(dir.path, 1);
  std::byte b{};
  REQUIRE_THROWS_AS(w.append(Message{5, 0, 0, {&b, 1}}), Error);
  try {
    w.append(Message{5, 0, 0, {&b, 1}});
    FAIL("appended after a segment failed to start");
  } catch (const Error& e) {
    REQUIRE(std::string(e.what()).find("closed") != std::string::npos);
  }
  REQUIRE(segment_paths(dir.path).empty());
}

TEST_CASE("archive: with an fsync interval, records reach the file within it while records keep coming") {
  TempDir dir;
  const Fsync mode = GENERATE(Fsync::interval, Fsync::never);
  ArchiveWriter w(dir.path, 1, ArchiveOptions{.fsync = mode, .fsync_interval = std::chrono::milliseconds(20)});
  std::vector<std::byte> buf(kMax);
  for (std::uint64_t s = 1; s <= 3; ++s) {
    w.append(Message{s, sized_type(s), s * 10, {buf.data(), fill_sized(buf.data(), s, kMax)}});
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  Archive a(dir.path);
  REQUIRE(read_stream(a, 1) >= 3);  // at least what came before the last interval ended
}

TEST_CASE("archive: fsync never syncs nothing even at a segment roll while interval syncs each segment it closes") {
  TempDir dir;
  const Fsync mode = GENERATE(Fsync::never, Fsync::interval);
  INFO((mode == Fsync::never ? "never" : "interval, once an hour"));
  const std::uint64_t before = g_fdatasyncs.load();
  std::uint64_t segments = 0;
  {
    ArchiveWriter w(dir.path, 1, ArchiveOptions{.segment_bytes = 100'000, .fsync = mode, .fsync_interval = std::chrono::hours(1)});
    write_stream(w, 1, 1000);
    w.flush();
    segments = Archive(dir.path).info().segments;
  }
  REQUIRE(segments >= 3);
  const std::uint64_t syncs = g_fdatasyncs.load() - before;
  if (mode == Fsync::never) {
    CHECK(syncs == 0);
  } else {
    CHECK(syncs >= 2 * segments);  // each segment and its index, as it is closed or at the end
  }
  Archive a(dir.path);
  CHECK(read_stream(a, 1) == 1000);
}

namespace {

// A segment file holding a header and no record: what a writer leaves that died right
// after starting a segment, or a crafted one.
void write_empty_segment(const std::string& dir, std::uint64_t first_seq, std::uint64_t ring_id = 1) {
  detail::SegmentHeader h{};
  h.magic = detail::kArchiveMagic;
  h.version = detail::kArchiveVersion;
  h.header_size = sizeof h;
  h.first_seq = first_seq;
  h.ring_id = ring_id;
  h.crc = detail::segment_crc(h);
  const std::string path = dir + "/" + detail::segment_name(first_seq, ".seg");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, &h, sizeof h) == static_cast<ssize_t>(sizeof h));
  ::close(fd);
}

// Reads the whole archive from its start; the Errc it throws, or nullopt if it reads to the end.
std::optional<Errc> read_all_error(const std::string& dir) {
  try {
    Archive a(dir);
    for (ReadResult r = a.next(); r; r = a.next()) {
    }
    return std::nullopt;
  } catch (const Error& e) {
    return e.code();
  }
}

std::optional<Errc> info_error(const std::string& dir) {
  try {
    (void)Archive(dir).info();
    return std::nullopt;
  } catch (const Error& e) {
    return e.code();
  }
}

}  // namespace

TEST_CASE("archive: an index entry pointing anywhere, past any file included, is never followed out of bounds") {
  TempDir dir;
  write_archive(dir.path, 300);
  const std::vector<std::string> paths = segment_paths(dir.path);
  REQUIRE(paths.size() == 1);
  const std::string index_path = paths[0].substr(0, paths[0].size() - 4) + ".idx";
  const std::vector<detail::IndexRecord> index = detail::read_index(index_path);
  REQUIRE(!index.empty());
  REQUIRE(index.back().seq < 295);
  // One more entry, for sequence 295, in order after the others, at an offset no frame has.
  const int which = GENERATE(0, 1, 2, 3);
  const std::uint64_t offsets[] = {~std::uint64_t{0} - 31, (std::uint64_t{1} << 63) + 8, std::uint64_t{1} << 40,
                                   static_cast<std::uint64_t>(fs::file_size(paths[0])) + 8};
  const std::uint64_t offset = offsets[which];
  INFO("the entry's offset: " << offset);
  const detail::IndexRecord bogus{295, offset};
  const int fd = ::open(index_path.c_str(), O_WRONLY | O_APPEND);
  REQUIRE(::write(fd, &bogus, sizeof bogus) == static_cast<ssize_t>(sizeof bogus));
  ::close(fd);
  REQUIRE(detail::read_index(index_path).back().offset == offset);
  Archive a(dir.path);
  REQUIRE(a.seek(296));  // the entry is checked against its frame, found wrong, and an earlier one used
  const ReadResult r = a.next();
  REQUIRE(r.status == ReadStatus::message);
  CHECK(r.message.seq == 296);
  CHECK(verify_sized(r.message.payload, 296, kMax));
}

TEST_CASE("archive: damage in the middle of the newest segment is an error for readers too, not where the archive ends") {
  TempDir dir;
  write_archive(dir.path, 300);
  const std::string seg = segment_paths(dir.path).back();
  const std::vector<Frame> frames = frames_of(seg);
  REQUIRE(frames.size() > 200);
  // A frame between two index entries (one every 64 frames), sound frames after it.
  const Frame& damaged = frames[100];
  char original = 0;
  std::memcpy(&original, reinterpret_cast<const char*>(&damaged.header) + 12, 1);
  const char flip = static_cast<char>(original ^ 0x5A);
  overwrite(seg, damaged.offset + 12, &flip, 1);
  CHECK(read_all_error(dir.path) == Errc::corrupt);
  CHECK(info_error(dir.path) == Errc::corrupt);
  {
    // A seek whose scan from the index entry before it meets the damage.
    Archive a(dir.path);
    CHECK_THROWS_AS(a.seek(frames[101].header.seq), Error);
  }
  // A torn last record, as a crash or a write in progress leaves, is still only the end.
  overwrite(seg, damaged.offset + 12, &original, 1);
  REQUIRE_FALSE(read_all_error(dir.path));
  ::truncate(seg.c_str(), static_cast<off_t>(frames.back().offset + 20));
  CHECK_FALSE(read_all_error(dir.path));
  CHECK_FALSE(info_error(dir.path));
  Archive a(dir.path);
  CHECK(read_stream(a, 0) == frames.back().header.seq);
}

TEST_CASE("archive: a segment missing between two others is an error, not counts that do not add up") {
  TempDir dir;
  write_archive(dir.path, 800, ArchiveOptions{.segment_bytes = 100'000});
  const std::vector<detail::SegmentFile> segments = detail::list_segments(dir.path);
  REQUIRE(segments.size() >= 3);
  fs::remove(segments[1].path);
  fs::remove(segments[1].index_path);
  CHECK(info_error(dir.path) == Errc::corrupt);
  CHECK(read_all_error(dir.path) == Errc::corrupt);
}

TEST_CASE("archive: empty segments in a row with a hole after them are an error, not the archive's end") {
  TempDir dir;
  write_archive(dir.path, 10);  // 0..9 in segment 0
  for (std::uint64_t first : {10, 11, 12}) write_empty_segment(dir.path, first);
  {
    TempDir other;
    ArchiveWriter w(other.path, 1);
    write_stream(w, 13, 20);
    w.sync();
    fs::rename(other.path + "/" + detail::segment_name(13, ".seg"), dir.path + "/" + detail::segment_name(13, ".seg"));
  }
  CHECK(info_error(dir.path) == Errc::corrupt);
  CHECK(read_all_error(dir.path) == Errc::corrupt);
  // One empty segment where the archive goes on is sound, and says so.
  fs::remove(dir.path + "/" + detail::segment_name(11, ".seg"));
  fs::remove(dir.path + "/" + detail::segment_name(12, ".seg"));
  fs::remove(dir.path + "/" + detail::segment_name(13, ".seg"));
  REQUIRE_FALSE(read_all_error(dir.path));
  const ArchiveInfo info = Archive(dir.path).info();
  CHECK(info.segments == 2);
  CHECK(info.next_seq == 10);
}

TEST_CASE("archive: a segment named for one sequence whose header says another is an error") {
  TempDir dir;
  write_archive(dir.path, 10);
  write_empty_segment(dir.path, 10);
  fs::rename(dir.path + "/" + detail::segment_name(10, ".seg"), dir.path + "/" + detail::segment_name(12, ".seg"));
  CHECK(info_error(dir.path) == Errc::corrupt);
  CHECK(read_all_error(dir.path) == Errc::corrupt);
}

TEST_CASE("archive: a foreign file as the newest segment is an error for info() as for next(), not a segment being created") {
  TempDir dir;
  write_archive(dir.path, 50);
  std::vector<char> junk(100, 'x');
  const std::string path = dir.path + "/" + detail::segment_name(1'000'000, ".seg");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(::write(fd, junk.data(), junk.size()) == 100);
  ::close(fd);
  CHECK(info_error(dir.path) == Errc::foreign);
  CHECK(read_all_error(dir.path) == Errc::foreign);
  try {
    ArchiveWriter w(dir.path, 1);
    FAIL("opened for appending after a file that is not a segment");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::foreign);
  }
  // Shorter than a header, the newest is one being created: nothing more yet.
  ::truncate(path.c_str(), 30);
  CHECK_FALSE(info_error(dir.path));
  CHECK_FALSE(read_all_error(dir.path));
}

TEST_CASE("archive: an archive whose only segment holds no record yet is empty and says where records go on") {
  TempDir dir;
  write_empty_segment(dir.path, 5000);
  const ArchiveInfo info = Archive(dir.path).info();
  CHECK(info.empty);
  CHECK(info.segments == 1);
  CHECK(info.first_seq == 5000);
  CHECK(info.next_seq == 5000);
  ArchiveWriter w(dir.path, 1);
  REQUIRE(w.next_seq() == 5000u);
}

TEST_CASE("archive: sequences past 2^63 - 1 are refused by the writer and never read as records") {
  TempDir dir;
  ArchiveWriter w(dir.path, 1);
  const std::byte b{1};
  CHECK_THROWS_AS(w.append(Message{kMaxSequence + 1, 0, 0, {&b, 1}}), Error);
  CHECK_THROWS_AS(w.append(Message{~std::uint64_t{0}, 0, 0, {&b, 1}}), Error);
  w.append(Message{kMaxSequence, 0, 0, {&b, 1}});
  CHECK(w.next_seq() == kMaxSequence + 1);
  CHECK_THROWS_AS(w.append_gap(kMaxSequence + 1, 1), Error);
  detail::FrameHeader h{detail::kFrameMessage, 1, ~std::uint64_t{0}, 0, 0, 0};
  CHECK_FALSE(detail::plausible(h));
  h.seq = kMaxSequence;
  CHECK(detail::plausible(h));
  const detail::FrameHeader last_gap{detail::kFrameGap, 0, kMaxSequence, 1, 0, 0};
  CHECK(detail::plausible(last_gap));
  const detail::FrameHeader past{detail::kFrameGap, 0, kMaxSequence, 2, 0, 0};
  CHECK_FALSE(detail::plausible(past));
}

TEST_CASE("archive: a first batch that finds the disk full says nothing is recorded, not through sequence 0") {
  TempDir dir;
  const std::string path = dir.path + "/archive";
  const pid_t pid = spawn([&] {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{90, 90};  // room for a segment's header (64 bytes), not for its first record (a gap: 32)
    ::setrlimit(RLIMIT_FSIZE, &lim);
    ArchiveWriter w(path, 1, ArchiveOptions{.fsync = Fsync::every});
    try {
      write_stream(w, 0, 10);
    } catch (const Error& e) {
      if (e.code() != Errc::no_space) return 2;
      return std::string(e.what()).find("nothing is recorded yet") == std::string::npos ? 3 : 0;
    }
    return 4;
  });
  REQUIRE(wait_exit(pid) == 0);
  CHECK(Archive(path).info().empty);
}

TEST_CASE("archive: a failed write keeps the whole records that reached the file, which readers may already have") {
  TempDir dir;
  const std::string path = dir.path + "/archive";
  const pid_t pid = spawn([&] {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{100'000, 100'000};  // inside the first 256 KiB batch
    ::setrlimit(RLIMIT_FSIZE, &lim);
    ArchiveWriter w(path, 1, ArchiveOptions{.fsync = Fsync::never});
    try {
      write_stream(w, 0, 1'000'000);
    } catch (const Error& e) {
      if (e.code() != Errc::no_space) return 2;
      const std::string kept = "everything before sequence " + std::to_string(Archive(path).info().next_seq) + " is recorded intact";
      return std::string(e.what()).find(kept) == std::string::npos ? 3 : 0;
    }
    return 4;
  });
  REQUIRE(wait_exit(pid) == 0);
  Archive a(path);
  const std::uint64_t end = read_stream(a, 0);
  CHECK(end > 20);  // the batch's whole frames, not only the segment's header
  const std::string seg = segment_paths(path).front();
  const std::vector<Frame> frames = frames_of(seg);
  REQUIRE(!frames.empty());
  CHECK(fs::file_size(seg) == frames.back().offset + detail::frame_bytes(frames.back().header.length));  // no torn tail left
  CHECK(fs::file_size(seg) > 100'000 - kMax - 64);
}

TEST_CASE("archive: while a writer is at work a bad newest frame is its write in progress, whatever its payload holds") {
  TempDir dir;
  // A frame being written (its header whole, a tenth of its payload there) whose payload
  // holds the bytes of a sound frame further on: a recorder of a ring that carries
  // archive files, caught mid-write.
  const auto append_partial_frame = [&](std::uint64_t seq) {
    const std::string seg = segment_paths(dir.path).back();
    std::vector<std::byte> inner(64);
    const std::string text = "inner";
    detail::FrameHeader ih{detail::kFrameMessage, static_cast<std::uint32_t>(text.size()), seq + 1000, 0, 0, 0};
    std::memcpy(inner.data() + sizeof ih, text.data(), text.size());
    ih.crc = detail::frame_crc(ih, inner.data() + sizeof ih);
    std::memcpy(inner.data(), &ih, sizeof ih);
    detail::FrameHeader h{detail::kFrameMessage, 10'000, seq, 0, 0, 0};
    std::vector<std::byte> bytes(sizeof h + 1000);
    std::memcpy(bytes.data(), &h, sizeof h);
    std::memcpy(bytes.data() + sizeof h + 64, inner.data(), inner.size());
    const int fd = ::open(seg.c_str(), O_WRONLY | O_APPEND);
    REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  };
  {
    ArchiveWriter w(dir.path, 1);
    write_stream(w, 0, 50);
    w.sync();
    append_partial_frame(50);  // as if w were writing it now
    CHECK_FALSE(read_all_error(dir.path));
    CHECK_FALSE(info_error(dir.path));
    Archive a(dir.path);
    CHECK(read_stream(a, 0) == 50);
  }
  // Nobody writes now: a torn frame hiding a sound one is refused, by the writer reopening
  // it and by readers alike.
  CHECK(read_all_error(dir.path) == Errc::corrupt);
  CHECK(info_error(dir.path) == Errc::corrupt);
  CHECK_THROWS_AS(ArchiveWriter(dir.path, 1), Error);
}
