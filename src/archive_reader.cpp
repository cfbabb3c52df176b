// Reading an archive: seeking by sequence through segment names and sparse indexes, and
// following the records, including those appended while it reads (docs/DESIGN.md, "The archive").
#include <shmcast/archive.hpp>
#include <shmcast/error.hpp>

#include "archive_format.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace shmcast {

namespace detail {

struct ArchiveReaderState {
  std::string dir;
  std::vector<SegmentFile> segments;
  std::size_t current = 0;  // index into segments
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t position = 0;   // the sequence the next record starts at
  std::uint64_t cut_from = 0;   // a gap sought into starts here
  bool positioned = false;      // position is known (after the first record or a seek)
  bool vanished = false;        // the last open_segment found the file gone (retention)
  std::uint64_t ring_id = 0;
  FrameReader frames;
  // The newest segment's tail last judged torn, not damaged (check_stop): judged again
  // only when the file or the place changes, not on every read at the end of a follow.
  std::uint64_t torn_segment = ~std::uint64_t{0};
  std::uint64_t torn_offset = 0;
  std::uint64_t torn_size = 0;

  ~ArchiveReaderState() { close_segment(); }
  void close_segment() noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  std::string where() const { return "archive " + dir; }

  // Lists the segments again. If retention removed the one being read, the descriptor is
  // closed and `current` names the segment after it; next() then finds its place again by
  // `position`, never by `current`.
  void refresh() {
    const std::uint64_t at = segments.empty() || current >= segments.size() ? 0 : segments[current].first_seq;
    segments = list_segments(dir);
    current = 0;
    while (current < segments.size() && segments[current].first_seq < at) ++current;
    if (fd >= 0 && (current >= segments.size() || segments[current].first_seq != at)) {
      // The segment being read was removed meanwhile (retention, or moved aside): what it
      // held is gone, and `current` names no segment open.
      close_segment();
    }
  }
  [[noreturn]] void throw_corrupt(const std::string& what) const {
    throw Error(Errc::corrupt, where() + ": " + segments[current].path + " at offset " + std::to_string(offset) + ": " + what);
  }
  // False if the segment cannot be opened yet: being created (the newest, short of a
  // header), or removed by retention since it was listed (`vanished`).
  bool open_segment(std::size_t i) {
    close_segment();
    vanished = false;
    if (i >= segments.size()) return false;
    const int f = ::open(segments[i].path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f < 0) {
      if (errno == ENOENT) {
        vanished = true;
        return false;
      }
      if (errno == EACCES) throw Error(Errc::permission_denied, where() + ": " + segments[i].path + ": permission denied");
      throw Error(Errc::system, where() + ": " + segments[i].path + ": " + std::strerror(errno));
    }
    const HeaderCheck check = read_segment_header(f);
    if (!check.header || check.header->first_seq != segments[i].first_seq) {
      ::close(f);
      if (!check.header && check.being_created && i + 1 == segments.size()) return false;
      throw Error(check.header ? Errc::corrupt : check.code,
                  where() + ": " + segments[i].path + ": " +
                      (check.header ? "its header says it starts at sequence " + std::to_string(check.header->first_seq) + ", not as named"
                                    : check.problem));
    }
    fd = f;
    frames.reset(f);
    current = i;
    offset = sizeof(SegmentHeader);
    ring_id = check.header->ring_id;
    if (!positioned) {
      position = check.header->first_seq;
      positioned = true;
    }
    return true;
  }

  // The frame at `offset` is not the record expected there; `got` says how. Damage throws
  // Errc::corrupt; this returns at the end of what is written so far: no byte there, or the
  // newest segment's torn tail, which a crash or a write in progress leaves and which has
  // nothing sound after it (damage_after).
  void check_stop(FrameRead got, const FrameHeader& h) {
    if (got == FrameRead::end) return;
    if (got == FrameRead::ok)
      throw_corrupt("record " + std::to_string(h.seq) + " where " + std::to_string(position) + " was expected");
    if (current + 1 < segments.size()) throw_corrupt("a record fails its CRC or is cut short");
    // Judged once, and again only if the file changes.
    struct stat st {};
    const std::uint64_t size = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    const std::uint64_t segment = segments[current].first_seq;
    if (torn_segment == segment && torn_offset == offset && torn_size == size) return;
    if (const std::optional<std::string> damage = newest_tail_damage(dir, fd, offset, position)) throw_corrupt(*damage);
    torn_segment = segment;
    torn_offset = offset;
    torn_size = size;
  }
};

}  // namespace detail

using namespace detail;

Archive::Archive(std::string_view dir, EmptyArchive no_segment) : state_(std::make_unique<ArchiveReaderState>()) {
  ArchiveReaderState& s = *state_;
  s.dir = std::string(dir);
  // A first segment that retention removed since it was listed: list again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    s.segments = list_segments(s.dir);
    if (s.segments.empty()) {
      // A recorder takes the directory's lock before it writes its first segment.
      const bool recorder_started = ::access(lock_path(s.dir).c_str(), F_OK) == 0;
      if (recorder_started && no_segment == EmptyArchive::empty) return;
      throw Error(Errc::not_found, s.where() + (recorder_started ? ": its recorder has written no segment yet"
                                                                 : ": no segment files (is it an archive written by `shmcast record`?)"));
    }
    if (s.open_segment(0)) return;
    if (!s.vanished) throw Error(Errc::not_found, s.where() + ": its first segment is still being created");
  }
  throw Error(Errc::not_found, s.where() + ": its segments keep being removed (retention) as they are listed");
}

Archive::Archive(Archive&&) noexcept = default;
Archive& Archive::operator=(Archive&&) noexcept = default;
Archive::~Archive() = default;

const std::string& Archive::dir() const noexcept { return state_->dir; }
std::uint64_t Archive::position() const noexcept { return state_->position; }
std::uint64_t Archive::ring_id() const noexcept { return state_->ring_id; }

bool Archive::seek(std::uint64_t seq) {
  ArchiveReaderState& s = *state_;
  s.refresh();
  if (s.segments.empty()) {
    // Empty (EmptyArchive::empty): a first segment written meanwhile is read from seq on.
    s.position = seq;
    s.cut_from = seq;
    s.positioned = true;
    return false;
  }
  // The last segment that starts at or before seq (or the first, if the archive starts later).
  std::size_t i = 0;
  while (i + 1 < s.segments.size() && s.segments[i + 1].first_seq <= seq) ++i;
  if (!s.open_segment(i)) {
    // Removed by retention or still being created: next() opens the segment holding this
    // place when it can, and nothing before seq is delivered meanwhile.
    s.position = std::max(seq, s.segments[i].first_seq);
    s.cut_from = seq;
    s.positioned = true;
    return false;
  }
  std::uint64_t start = s.segments[i].first_seq;
  // The sparse index: the last entry at or before seq whose frame is what it says.
  const std::vector<IndexRecord> index = read_index(s.segments[i].index_path);
  auto it = std::upper_bound(index.begin(), index.end(), seq, [](std::uint64_t v, const IndexRecord& r) { return v < r.seq; });
  FrameHeader h{};
  while (it != index.begin()) {
    --it;
    if (s.frames.read(it->offset, h) == FrameRead::ok && h.seq == it->seq) {
      s.offset = it->offset;
      start = it->seq;
      break;
    }
  }
  s.position = start;
  s.positioned = true;
  // Scan to the record that holds seq; past the end, the next read waits for it.
  s.cut_from = seq;
  while (s.position < seq) {
    if (const FrameRead got = s.frames.read(s.offset, h); got != FrameRead::ok || h.seq != s.position) {
      s.check_stop(got, h);
      return false;
    }
    if (frame_end(h) > seq) break;
    s.offset += frame_bytes(h.length);
    s.position = frame_end(h);
  }
  // Held only if a record is there to read (seq at the very end is not held yet).
  return s.frames.read(s.offset, h) == FrameRead::ok && h.seq == s.position;
}

// The hops bound the steps that make no progress (a segment found removed, a list taken
// again); moving on to the next segment is progress and is not counted, so empty segments
// in a row cannot end a read early.
ReadResult Archive::next() {
  ArchiveReaderState& s = *state_;
  for (int hop = 0; hop < 4; ++hop) {
    if (s.fd < 0) {
      s.refresh();
      std::size_t i = 0;
      while (i < s.segments.size() && s.segments[i].first_seq < s.position) ++i;
      if (i > 0 && (i == s.segments.size() || s.segments[i].first_seq > s.position)) --i;
      if (!s.open_segment(i)) {
        if (s.vanished) continue;  // removed since listed: list again
        return {};
      }
      if (s.segments[i].first_seq > s.position) {
        // Retention removed what the reader had yet to read: the archive starts later now.
        const std::uint64_t from = std::max(s.position, s.cut_from);
        const std::uint64_t to = s.segments[i].first_seq;
        s.position = to;
        if (from < to) {
          ReadResult r;
          r.status = ReadStatus::gap;
          r.gap = Gap{from, to - from, GapCause::not_archived};
          return r;
        }
      } else if (s.segments[i].first_seq < s.position) {
        // Find our place again in a reopened segment: the record that holds it, which the
        // read below cuts to start there.
        const std::uint64_t want = s.position;
        FrameHeader h{};
        s.position = s.segments[i].first_seq;
        while (s.position < want && s.frames.read(s.offset, h) == FrameRead::ok && h.seq == s.position &&
               frame_end(h) <= want) {
          s.offset += frame_bytes(h.length);
          s.position = frame_end(h);
        }
        s.cut_from = std::max(s.cut_from, want);
      }
    }
    FrameHeader h{};
    const FrameRead got = s.frames.read(s.offset, h);
    if (got == FrameRead::ok && h.seq == s.position) {
      s.offset += frame_bytes(h.length);
      const std::uint64_t from = std::max(h.seq, s.cut_from);
      s.position = frame_end(h);
      // A record wholly before the place sought is skipped without counting a hop: the
      // hops bound segment changes, and an empty result must mean nothing more is written.
      if (frame_end(h) <= s.cut_from) {
        --hop;
        continue;
      }
      ReadResult r;
      if (h.kind == kFrameGap) {
        r.status = ReadStatus::gap;
        r.gap = Gap{from, s.position - from, archived_gap_cause(h.type)};
      } else {
        r.status = ReadStatus::message;
        r.message = Message{h.seq, h.type, h.word, s.frames.payload()};
      }
      return r;
    }
    s.check_stop(got, h);
    // The end of this segment (or its torn tail, which only the newest can have): a newer
    // segment goes on; else nothing more yet.
    s.refresh();
    if (s.fd < 0) continue;  // the segment was removed: found again by position above
    if (s.current + 1 < s.segments.size()) {
      // The writer finishes a segment before it creates the next. The read above may
      // predate both (it found nothing, or a record half written): only a read after the
      // newer segment was seen tells this segment's end.
      const FrameRead again = s.frames.read(s.offset, h);
      if (again == FrameRead::ok) {
        --hop;
        continue;
      }
      if (again == FrameRead::bad) s.throw_corrupt("the segment ends with a damaged record");
      if (!s.open_segment(s.current + 1)) {
        if (s.vanished) continue;
        return {};
      }
      // A segment starts where the one before it ends: anything else is a segment missing.
      if (s.segments[s.current].first_seq != s.position)
        throw Error(Errc::corrupt, s.where() + ": " + s.segments[s.current].path + " starts at sequence " +
                                       std::to_string(s.segments[s.current].first_seq) + " but the segment before it ends at " +
                                       std::to_string(s.position) + " (a segment is missing or damaged)");
      --hop;
      continue;
    }
    return {};
  }
  return {};
}

namespace {

[[noreturn]] void info_failed(int fd, Errc code, const std::string& what) {
  ::close(fd);
  throw Error(code, what + "; the counts would leave out what follows");
}

// The same checks as next(), over every segment: each starts where the one before it
// ends and holds records in sequence, and only the newest may end in a torn record.
// nullopt if a segment listed is gone by the time it is opened.
std::optional<ArchiveInfo> count_segments(const std::string& dir, const std::vector<SegmentFile>& segments,
                                          const std::string& where) {
  ArchiveInfo info;
  std::optional<std::uint64_t> expect;  // the sequence the next record must start at
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const SegmentFile& seg = segments[i];
    struct stat st {};
    if (::stat(seg.path.c_str(), &st) == 0) info.bytes += static_cast<std::uint64_t>(st.st_size);
    if (::stat(seg.index_path.c_str(), &st) == 0) info.bytes += static_cast<std::uint64_t>(st.st_size);
    const bool newest = i + 1 == segments.size();
    const int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::nullopt;
      const Errc code = errno == EACCES || errno == EPERM ? Errc::permission_denied : Errc::system;
      throw Error(code, where + ": " + seg.path + ": " + std::strerror(errno));
    }
    const auto fail = [&](Errc code, const std::string& what) { info_failed(fd, code, where + ": " + seg.path + ": " + what); };
    const HeaderCheck check = read_segment_header(fd);
    if (!check.header) {
      if (newest && check.being_created) {
        ::close(fd);
        continue;
      }
      fail(check.code, check.problem);
    }
    if (check.header->first_seq != seg.first_seq)
      fail(Errc::corrupt, "its header says it starts at sequence " + std::to_string(check.header->first_seq) + ", not as named");
    if (expect && seg.first_seq != *expect)
      fail(Errc::corrupt, "starts at sequence " + std::to_string(seg.first_seq) + " but the segment before it ends at " +
                              std::to_string(*expect) + " (a segment is missing or damaged)");
    ++info.segments;
    info.ring_id = check.header->ring_id;
    if (!expect) info.first_seq = seg.first_seq;
    std::uint64_t seq = seg.first_seq;
    std::uint64_t offset = sizeof(SegmentHeader);
    FrameHeader h{};
    FrameReader frames(fd);
    FrameRead got;
    while ((got = frames.read(offset, h)) == FrameRead::ok && h.seq == seq) {
      offset += frame_bytes(h.length);
      seq = frame_end(h);
      if (h.kind == kFrameGap) {
        ++info.gaps;
        info.missed += h.word;
        const GapCause cause = archived_gap_cause(h.type);
        if (cause == GapCause::skipped) info.skipped += h.word;
        if (cause == GapCause::corrupt) info.corrupt += h.word;
      } else {
        ++info.messages;
        if (info.first_ns == 0) info.first_ns = h.word;
        info.last_ns = h.word;
      }
    }
    if (got == FrameRead::ok)
      fail(Errc::corrupt, "record " + std::to_string(h.seq) + " at offset " + std::to_string(offset) + " where " + std::to_string(seq) +
                              " was expected");
    // Only the newest segment may end in a record still being written: one its writer is
    // writing now, or, with no writer at work, one with nothing sound after it.
    if (got == FrameRead::bad) {
      if (!newest) fail(Errc::corrupt, "a record fails its CRC or is cut short at offset " + std::to_string(offset));
      if (const std::optional<std::string> damage = newest_tail_damage(dir, fd, offset, seq)) fail(Errc::corrupt, *damage);
    }
    ::close(fd);
    expect = seq;
  }
  info.next_seq = expect.value_or(0);
  info.empty = info.messages == 0 && info.gaps == 0;
  return info;
}

}  // namespace

ArchiveInfo Archive::info() const {
  // Retention may remove segments between the listing and their reading: count again.
  for (int attempt = 0; attempt < 8; ++attempt)
    if (std::optional<ArchiveInfo> info = count_segments(state_->dir, list_segments(state_->dir), state_->where())) return *info;
  throw Error(Errc::not_found, state_->where() + ": its segments keep being removed (retention) as they are counted");
}

}  // namespace shmcast
