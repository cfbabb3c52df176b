// shmcast::ArchiveWriter and shmcast::Archive: a ring's messages on disk.
//
// An archive is a directory of append-only segment files, each with a versioned header,
// each record framed with its sequence, type, timestamp, length and a CRC-32C, and a
// sparse index per segment from sequence to file offset. `shmcast record` writes one as a
// registered reader of the ring; `dump`, `archive-info` and `replay` read it. A gap the
// recorder suffers (it was lapped, or the ring moved on while it was stopped) is recorded
// as a gap record with its exact first sequence and count: nothing is renumbered, so the
// sequences of an archive run on without a hole, each a message or inside a gap.
//
// After a crash the last record may be torn: the writer finds it by its CRC and cuts it
// off when it reopens the directory, and carries on after the last sequence it kept.
// Readers treat a torn record at the very end of the newest segment as "not yet written";
// a bad record anywhere else is corruption, reported with its file and offset.
#pragma once

#include <shmcast/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace shmcast {

namespace detail {
struct ArchiveWriterState;
struct ArchiveReaderState;
}  // namespace detail

enum class Fsync {
  never,     // the kernel writes back when it likes
  interval,  // fdatasync at most once per ArchiveOptions::fsync_interval, and on close
  every,     // fdatasync after every record
};

struct ArchiveOptions {
  std::uint64_t segment_bytes = std::uint64_t{64} << 20;  // a segment is closed past this size
  Fsync fsync = Fsync::interval;
  std::chrono::milliseconds fsync_interval{1000};
  // Retention: the oldest segments are removed whole while the archive holds more than
  // max_bytes (0: no limit), or once their newest record is older than max_age (0: none).
  // The segment being written is never removed.
  std::uint64_t max_bytes = 0;
  std::chrono::seconds max_age{0};
};

// What an archive holds.
struct ArchiveInfo {
  bool empty = true;            // no record (a segment may be started: next_seq says where records go on)
  std::uint64_t first_seq = 0;  // the first sequence recorded (a message or in a gap)
  std::uint64_t next_seq = 0;   // the sequence after the last recorded
  std::uint64_t messages = 0;
  std::uint64_t gaps = 0;       // gap records
  std::uint64_t missed = 0;     // sequences they cover, of which
  std::uint64_t skipped = 0;    //   the producer skipped (GapCause::skipped: never published)
  std::uint64_t corrupt = 0;    //   the recorder dropped as damaged records (GapCause::corrupt);
                                //   the rest its recorder missed (lapped, or not running)
  std::uint64_t bytes = 0;      // on disk, all files
  std::uint64_t segments = 0;
  std::uint64_t ring_id = 0;    // the ring the archive records
  std::uint64_t first_ns = 0;   // timestamps of the first and last messages
  std::uint64_t last_ns = 0;
};

class ArchiveWriter {
 public:
  // Opens the archive in `dir` (created if missing) for appending, cutting off a torn last
  // record. `ring_id` is the ring being recorded: an archive of another ring (recreated
  // under the same name) is refused with Errc::geometry_mismatch. One writer per directory:
  // it holds an exclusive flock on `dir`/.lock for its lifetime, and a second writer (in any
  // process, this one included) is refused with Errc::producer_active. Throws
  // shmcast::Error: permission_denied, corrupt, version_mismatch, foreign, system.
  ArchiveWriter(std::string_view dir, std::uint64_t ring_id, const ArchiveOptions& options = {});
  ArchiveWriter(ArchiveWriter&&) noexcept;
  ArchiveWriter& operator=(ArchiveWriter&&) noexcept;
  ~ArchiveWriter();  // flushes and syncs (per the fsync option); errors then are swallowed

  // The sequence after the last one recorded; nullopt for an empty archive.
  [[nodiscard]] std::optional<std::uint64_t> next_seq() const noexcept;

  // Append a message, or a gap [first, first + missed). Sequences must run on from
  // next_seq() (Errc::invalid_argument otherwise: an archive is never renumbered) and stay
  // at or below 2^63 - 1, as a ring's do. Throws Errc::no_space when the disk is full (or a
  // file size limit is reached, which raises SIGXFSZ first: a process that writes an
  // archive under such a limit ignores that signal, as `shmcast record` does), keeping
  // every whole record that reached the file, intact and synced (next_seq() then says
  // where they end); the writer is then closed, as after any failed write or a new
  // segment that could not be started, and later appends throw. Unless fsync is `every`, the first
  // append once fsync_interval has passed since the last such write writes what is
  // buffered (and syncs it with `interval`); flush() writes it too.
  void append(const Message& message);
  // A gap as a reader returned it: its cause is kept, and readers of the archive report
  // the gap as `skipped` or `corrupt` where the recorder met it so, else `not_archived`.
  void append_gap(const Gap& gap);
  // A gap whose cause is not known: readers of the archive report it as `not_archived`.
  void append_gap(std::uint64_t first, std::uint64_t missed);
  // Writes buffered records to the file (and syncs them if the fsync option says so now).
  void flush();
  // Writes and fdatasyncs everything.
  void sync();
  [[nodiscard]] const std::string& dir() const noexcept;

 private:
  std::unique_ptr<detail::ArchiveWriterState> state_;
};

// What Archive makes of a directory with no segment in it.
enum class EmptyArchive {
  not_found,  // Errc::not_found: one who opens it again later (catch-up does) waits for a segment
  empty,      // an empty archive if a recorder has started there (its lock file is there);
              // not_found otherwise
};

class Archive {
 public:
  // Opens the archive in `dir` for reading. Throws shmcast::Error: not_found (no such
  // directory, or no segment in it: see EmptyArchive), permission_denied, foreign,
  // version_mismatch, corrupt. An empty archive reads as one at its end (next() returns
  // nothing until the recorder writes), info() says it is empty, ring_id() is 0.
  explicit Archive(std::string_view dir, EmptyArchive no_segment = EmptyArchive::not_found);
  Archive(Archive&&) noexcept;
  Archive& operator=(Archive&&) noexcept;
  ~Archive();

  // Positions at the record that holds `seq` (a message, or a gap covering it), or at the
  // first record if the archive starts later (position() then says where); O(log n)
  // through the segment names and the sparse index. False if seq is past the end of what
  // is written, or if its segment cannot be opened yet (being created, or removed by
  // retention meanwhile): the next reads wait for it, and skip what comes before it.
  bool seek(std::uint64_t seq);
  // The next record: a message (payload valid until the next call), a gap, or empty at the
  // end of what is written so far (a later call sees records appended meanwhile). A gap
  // record that seek() landed inside is cut to start at the sequence sought. Records that
  // retention removed before they were read are a gap from position() to the first
  // sequence kept. Throws Errc::corrupt for a bad record that is not the newest segment's
  // torn tail.
  ReadResult next();
  // The sequence the next record starts at.
  [[nodiscard]] std::uint64_t position() const noexcept;
  // Counts over every segment. Throws Errc::corrupt where next() would (damage, records out
  // of sequence, a segment missing between two others), foreign or version_mismatch for a
  // segment not of this format.
  [[nodiscard]] ArchiveInfo info() const;
  // The ring the archive records (its id, from the segment headers).
  [[nodiscard]] std::uint64_t ring_id() const noexcept;
  [[nodiscard]] const std::string& dir() const noexcept;

 private:
  std::unique_ptr<detail::ArchiveReaderState> state_;
};

}  // namespace shmcast
