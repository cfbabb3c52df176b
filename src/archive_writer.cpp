// Appending to an archive: opening it with its torn tail cut off, framing records,
// rolling segments, retention, durability, and a full disk (docs/DESIGN.md, "The archive").
#include <shmcast/archive.hpp>
#include <shmcast/clock.hpp>
#include <shmcast/error.hpp>

#include "archive_format.hpp"
#include "fork_generation.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace shmcast {

namespace detail {

namespace {

// Records wait in memory up to this much before one write() takes them all.
inline constexpr std::size_t kWriteBuffer = std::size_t{256} << 10;

[[noreturn]] void throw_errno(const std::string& what, int e) {
  if (e == ENOSPC || e == EDQUOT || e == EFBIG) throw Error(Errc::no_space, what + ": no space left (" + std::string(std::strerror(e)) + ")");
  if (e == EACCES || e == EPERM || e == EROFS) throw Error(Errc::permission_denied, what + ": " + std::strerror(e));
  throw Error(Errc::system, what + ": " + std::strerror(e));
}

std::uint64_t file_size(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// Writes all of `bytes` at the end of `fd`; returns errno, or 0. `done` (if given) gets how
// many bytes went to the file, all of them or those before the failure.
int write_all(int fd, const std::byte* bytes, std::size_t size, std::size_t* done = nullptr) noexcept {
  std::size_t written = 0;
  int error = 0;
  while (written != size) {
    const ssize_t n = ::write(fd, bytes + written, size - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = errno;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (done != nullptr) *done = written;
  return error;
}

}  // namespace

struct ArchiveWriterState {
  std::string dir;
  ArchiveOptions options;
  std::uint64_t ring_id = 0;
  std::vector<SegmentFile> segments;
  int lock_fd = -1;   // holds the directory's flock for the writer's lifetime
  int fd = -1;        // the segment being written
  int index_fd = -1;  // its index
  std::uint64_t written = 0;  // bytes of the segment in the file
  std::uint64_t frames = 0;   // frames in the segment
  std::vector<std::byte> buffer;
  std::vector<IndexRecord> index_pending;
  std::optional<std::uint64_t> next_seq;
  std::optional<std::uint64_t> next_on_disk;   // the sequence after the last record in the files
  std::optional<std::uint64_t> next_buffered;  // ... and after the last in the buffer
  bool unsynced = false;
  std::chrono::steady_clock::time_point last_sync = std::chrono::steady_clock::now();
  // When records last went to the file on the clock: none waits in the buffer longer than
  // fsync_interval while records keep coming (an idle writer is flushed by its caller).
  std::chrono::steady_clock::time_point last_flush = std::chrono::steady_clock::now();
  bool closed = false;  // after a failed write or a segment that could not be started
  // The fork generation (fork_generation.hpp) of the process that last used the writer:
  // a child forked while it existed holds a copy whose buffer the parent writes, and
  // destroying that copy must not write it out a second time (~ArchiveWriter). A child
  // that goes on with the writer (a recorder that daemonises) uses it, and owns it then.
  std::uint64_t generation = fork_generation();

  ~ArchiveWriterState() {
    close_files();
    if (lock_fd >= 0) ::close(lock_fd);
  }
  void close_files() noexcept {
    if (fd >= 0) ::close(fd);
    if (index_fd >= 0) ::close(index_fd);
    fd = index_fd = -1;
  }

  std::string where() const { return "archive " + dir; }

  void lock_directory();
  void open_existing();
  void start_segment_files(std::uint64_t first_seq);
  void cut_to_valid(const SegmentFile& seg, std::uint64_t first_seq);
  void start_segment(std::uint64_t first_seq);
  void enforce_retention();
  void write_out();
  void sync_files();
  void refuse_cut_over_records(const SegmentFile& seg, std::uint64_t bad, std::uint64_t seq) const;
  void append_frame(const FrameHeader& header, const std::byte* payload);
  void append_gap(std::uint64_t first, std::uint64_t missed, std::optional<GapCause> cause);
};

// Two writers appending to one directory would each take the other's batch being written
// for a torn tail and cut it off. The lock is per open file description, so a second
// writer in the same process is refused too; it goes with the process however it ends.
void ArchiveWriterState::lock_directory() {
  const std::string path = lock_path(dir);
  lock_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) throw_errno(where() + ": " + path, errno);
  const auto refuse = [&] {
    throw Error(Errc::producer_active, where() + ": another recorder is writing there (it holds " + path +
                                           "); stop it first, or record into another directory");
  };
  while (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) refuse();
    throw_errno(where() + ": locking " + path, errno);
  }
  // What readers ask about (writer_active).
  if (!take_writer_lock(lock_fd)) refuse();
}

// The newest segment is the only one that can hold a torn record (older ones were
// complete when the next began). It is read frame by frame from its header; the file is
// cut after the last good frame, and its index after the last entry that points below
// the cut. A newest segment whose header never made it to disk
// (a crash right after creating it) holds nothing and is removed.
void ArchiveWriterState::open_existing() {
  segments = list_segments(dir);
  while (!segments.empty()) {
    const SegmentFile& seg = segments.back();
    const int f = ::open(seg.path.c_str(), O_RDWR | O_CLOEXEC);
    if (f < 0) throw_errno(where() + ": " + seg.path, errno);
    const HeaderCheck check = read_segment_header(f);
    if (!check.header) {
      ::close(f);
      if (!check.being_created) throw Error(check.code, where() + ": " + seg.path + ": " + check.problem);
      ::unlink(seg.path.c_str());
      ::unlink(seg.index_path.c_str());
      segments.pop_back();
      continue;
    }
    if (check.header->ring_id != ring_id) {
      ::close(f);
      throw Error(Errc::geometry_mismatch,
                  where() + " records ring id " + std::to_string(check.header->ring_id) + ", not this ring (id " +
                      std::to_string(ring_id) + "): the ring was recreated since; record it into a new directory");
    }
    fd = f;
    cut_to_valid(seg, check.header->first_seq);
    return;
  }
}

// A crash leaves the newest segment's last record torn and nothing sound after it. A
// sound record anywhere past the first bad one means damage in the middle instead
// (damage_after): cutting there would throw away records that read, so the writer refuses
// and the operator decides.
void ArchiveWriterState::refuse_cut_over_records(const SegmentFile& seg, std::uint64_t bad, std::uint64_t seq) const {
  if (const std::optional<std::string> damage = damage_after(fd, bad, seq))
    throw Error(Errc::corrupt, where() + ": " + seg.path + ": " + *damage + ": appending would cut it off. The archive reads up to sequence " +
                                   std::to_string(seq) + "; record into a new directory, or move this segment aside");
}

void ArchiveWriterState::cut_to_valid(const SegmentFile& seg, std::uint64_t first_seq) {
  const std::uint64_t size = file_size(fd);
  const std::vector<IndexRecord> index = read_index(seg.index_path);
  FrameHeader h{};
  FrameReader frames_in(fd);
  // Every frame from the header on, not from the last index entry: a power loss can leave
  // a hole of zeros before frames that did reach the disk (writeback is not in file order),
  // and only a full read finds it, to refuse it with what follows rather than append after it.
  std::uint64_t offset = sizeof(SegmentHeader), seq = first_seq;
  frames = 0;
  for (;;) {
    const FrameRead got = frames_in.read(offset, h);
    if (got != FrameRead::ok || h.seq != seq) break;
    seq = frame_end(h);
    next_on_disk = next_buffered = seq;
    offset += frame_bytes(h.length);
    ++frames;
  }
  if (offset != size) {
    refuse_cut_over_records(seg, offset, seq);
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) throw_errno(where() + ": cutting " + seg.path, errno);
  }
  written = offset;
  next_seq = seq;  // an empty newest segment still says where the archive goes on
  if (segments.size() > 1) next_on_disk = next_buffered = seq;  // older segments hold records
  // The index: keep the entries below the cut, rewritten whole.
  index_fd = ::open(seg.index_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (index_fd < 0) throw_errno(where() + ": " + seg.index_path, errno);
  std::vector<IndexRecord> kept;
  for (const IndexRecord& r : index)
    if (r.offset < offset) kept.push_back(r);
  if (!kept.empty()) {
    if (const int e = write_all(index_fd, reinterpret_cast<const std::byte*>(kept.data()), kept.size() * sizeof(IndexRecord)))
      throw_errno(where() + ": " + seg.index_path, e);
  }
  if (::lseek(fd, 0, SEEK_END) < 0) throw_errno(where() + ": " + seg.path, errno);
}

// Any failure here closes the writer: its descriptors would name a finished segment, a
// removed one or one without a header, and nothing appended after may land there.
void ArchiveWriterState::start_segment(std::uint64_t first_seq) {
  try {
    start_segment_files(first_seq);
  } catch (...) {
    close_files();
    buffer.clear();
    index_pending.clear();
    closed = true;
    throw;
  }
  enforce_retention();
}

void ArchiveWriterState::start_segment_files(std::uint64_t first_seq) {
  write_out();
  if (options.fsync != Fsync::never) sync_files();
  close_files();
  const SegmentFile seg{first_seq, dir + "/" + segment_name(first_seq, ".seg"), dir + "/" + segment_name(first_seq, ".idx")};
  fd = ::open(seg.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno(where() + ": creating " + seg.path, errno);
  index_fd = ::open(seg.index_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (index_fd < 0) {
    const int e = errno;
    ::unlink(seg.path.c_str());
    throw_errno(where() + ": creating " + seg.index_path, e);
  }
  SegmentHeader h{};
  h.magic = kArchiveMagic;
  h.version = kArchiveVersion;
  h.header_size = sizeof h;
  h.first_seq = first_seq;
  h.ring_id = ring_id;
  h.created_ns = now_ns();
  h.crc = segment_crc(h);
  if (const int e = write_all(fd, reinterpret_cast<const std::byte*>(&h), sizeof h); e != 0) {
    ::unlink(seg.path.c_str());
    ::unlink(seg.index_path.c_str());
    throw_errno(where() + ": writing " + seg.path, e);
  }
  written = sizeof h;
  frames = 0;
  segments.push_back(seg);
  // The directory entry itself must survive a crash for the segment to be found.
  if (options.fsync != Fsync::never) {
    if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
      ::fsync(d);
      ::close(d);
    }
  }
}

// Oldest segments go whole, never the one being written.
void ArchiveWriterState::enforce_retention() {
  if (options.max_bytes == 0 && options.max_age.count() == 0) return;
  const auto size_of = [](const std::string& path) -> std::uint64_t {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  };
  std::uint64_t total = 0;
  for (const SegmentFile& s : segments) total += size_of(s.path) + size_of(s.index_path);
  const auto now = std::chrono::system_clock::now();
  while (segments.size() > 1) {
    const SegmentFile& oldest = segments.front();
    bool drop = options.max_bytes != 0 && total > options.max_bytes;
    if (!drop && options.max_age.count() != 0) {
      struct stat st {};
      if (::stat(oldest.path.c_str(), &st) == 0) {
        const auto modified = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
        drop = now - modified > options.max_age;
      }
    }
    if (!drop) break;
    total -= std::min(total, size_of(oldest.path) + size_of(oldest.index_path));
    ::unlink(oldest.path.c_str());
    ::unlink(oldest.index_path.c_str());
    segments.erase(segments.begin());
  }
}

// A failed write keeps the whole frames that reached the file (a reader following the
// archive may already have returned them) and cuts off the one it was in; what stays is
// synced, and the writer closes.
void ArchiveWriterState::write_out() {
  if (fd < 0 || buffer.empty()) return;
  std::size_t done = 0;
  if (const int e = write_all(fd, buffer.data(), buffer.size(), &done); e != 0) {
    std::size_t whole = 0;
    while (whole + sizeof(FrameHeader) <= done) {
      FrameHeader h{};
      std::memcpy(&h, buffer.data() + whole, sizeof h);
      if (whole + frame_bytes(h.length) > done) break;
      whole += frame_bytes(h.length);
      next_on_disk = frame_end(h);
    }
    (void)::ftruncate(fd, static_cast<off_t>(written + whole));
    (void)::fdatasync(fd);
    buffer.clear();
    index_pending.clear();
    closed = true;
    const std::string kept = next_on_disk ? "everything before sequence " + std::to_string(*next_on_disk) + " is recorded intact"
                                          : std::string("nothing is recorded yet");
    if (e == EFBIG)
      throw Error(Errc::no_space, where() + ": the file size limit was reached at " + std::to_string(written + whole) +
                                      " bytes (" + std::strerror(e) + "); " + kept +
                                      ". Raise the limit (ulimit -f), or run `shmcast record` again with a smaller --segment-size");
    if (e == ENOSPC || e == EDQUOT)
      throw Error(Errc::no_space, where() + ": the disk is full (" + std::string(std::strerror(e)) + "); " + kept + ". Free space, then run `shmcast record` again: it carries on from there");
    throw_errno(where() + ": writing (" + kept + ")", e);
  }
  written += buffer.size();
  next_on_disk = next_buffered;
  buffer.clear();
  if (!index_pending.empty()) {
    (void)write_all(index_fd, reinterpret_cast<const std::byte*>(index_pending.data()),
                    index_pending.size() * sizeof(IndexRecord));  // derived data: a short index only costs a longer scan
    index_pending.clear();
  }
  unsynced = true;
}

void ArchiveWriterState::sync_files() {
  if (fd < 0 || !unsynced) return;
  if (::fdatasync(fd) != 0) throw_errno(where() + ": fdatasync", errno);
  if (index_fd >= 0) (void)::fdatasync(index_fd);
  unsynced = false;
  last_sync = std::chrono::steady_clock::now();
}

void ArchiveWriterState::append_gap(std::uint64_t first, std::uint64_t missed, std::optional<GapCause> cause) {
  if (missed == 0) return;
  FrameHeader h{kFrameGap, 0, first, missed, gap_cause_word(cause), 0};
  if (!plausible(h)) throw Error(Errc::invalid_argument, where() + ": a gap past the last sequence");
  h.crc = frame_crc(h, nullptr);
  append_frame(h, nullptr);
}

void ArchiveWriterState::append_frame(const FrameHeader& header, const std::byte* payload) {
  if (closed) throw Error(Errc::invalid_argument, where() + ": the writer was closed by an earlier error");
  generation = fork_generation();
  if (next_seq && header.seq != *next_seq)
    throw Error(Errc::invalid_argument, where() + ": record " + std::to_string(header.seq) + " does not follow " +
                                            std::to_string(*next_seq) + "; an archive is never renumbered");
  const std::uint64_t bytes = frame_bytes(header.length);
  if (fd < 0 || (frames != 0 && written + buffer.size() + bytes > options.segment_bytes)) start_segment(header.seq);
  if (frames % kFramesPerIndexEntry == 0) index_pending.push_back({header.seq, written + buffer.size()});
  const std::size_t at = buffer.size();
  buffer.resize(at + bytes);  // capacity reserved: no reallocation below kWriteBuffer plus one frame
  std::memcpy(buffer.data() + at, &header, sizeof header);
  if (header.length != 0) std::memcpy(buffer.data() + at + sizeof header, payload, header.length);
  std::memset(buffer.data() + at + sizeof header + header.length, 0, bytes - sizeof header - header.length);
  ++frames;
  next_seq = frame_end(header);
  next_buffered = next_seq;
  if (buffer.size() >= kWriteBuffer || options.fsync == Fsync::every) write_out();
  if (options.fsync == Fsync::every) return sync_files();
  // Readers at the archive's end (catch-up) wait for what is buffered here.
  if (const auto now = std::chrono::steady_clock::now(); now - last_flush >= options.fsync_interval) {
    last_flush = now;
    write_out();
    if (options.fsync == Fsync::interval) sync_files();
  }
}

}  // namespace detail

using namespace detail;

ArchiveWriter::ArchiveWriter(std::string_view dir, std::uint64_t ring_id, const ArchiveOptions& options)
    : state_(std::make_unique<ArchiveWriterState>()) {
  ArchiveWriterState& s = *state_;
  s.dir = std::string(dir);
  s.options = options;
  s.ring_id = ring_id;
  if (::mkdir(s.dir.c_str(), 0755) != 0 && errno != EEXIST) throw_errno(s.where() + ": creating the directory", errno);
  s.lock_directory();
  s.open_existing();
  s.buffer.reserve(kWriteBuffer + 4096);
}

ArchiveWriter::ArchiveWriter(ArchiveWriter&&) noexcept = default;
ArchiveWriter& ArchiveWriter::operator=(ArchiveWriter&&) noexcept = default;

ArchiveWriter::~ArchiveWriter() {
  if (!state_ || state_->closed || state_->generation != fork_generation()) return;
  try {
    state_->write_out();
    if (state_->options.fsync != Fsync::never) state_->sync_files();
  } catch (...) {
  }
}

// A writer closed by a failed write holds what reached the file, not what it buffered.
std::optional<std::uint64_t> ArchiveWriter::next_seq() const noexcept {
  return state_->closed ? state_->next_on_disk : state_->next_seq;
}
const std::string& ArchiveWriter::dir() const noexcept { return state_->dir; }

void ArchiveWriter::append(const Message& m) {
  if (m.payload.size() > kMaxFramePayload)
    throw Error(Errc::message_too_large, state_->where() + ": a message of " + std::to_string(m.payload.size()) + " bytes");
  FrameHeader h{kFrameMessage, static_cast<std::uint32_t>(m.payload.size()), m.seq, m.timestamp_ns, m.type, 0};
  if (!plausible(h))
    throw Error(Errc::invalid_argument, state_->where() + ": sequence " + std::to_string(m.seq) + " is past the largest, 2^63 - 1");
  h.crc = frame_crc(h, m.payload.data());
  state_->append_frame(h, m.payload.data());
}

void ArchiveWriter::append_gap(const Gap& gap) { state_->append_gap(gap.first, gap.missed, gap.cause); }
void ArchiveWriter::append_gap(std::uint64_t first, std::uint64_t missed) { state_->append_gap(first, missed, std::nullopt); }

void ArchiveWriter::flush() {
  state_->generation = fork_generation();
  state_->write_out();
  if (state_->options.fsync == Fsync::interval &&
      std::chrono::steady_clock::now() - state_->last_sync >= state_->options.fsync_interval)
    state_->sync_files();
}

void ArchiveWriter::sync() {
  state_->write_out();
  state_->sync_files();
}

}  // namespace shmcast
