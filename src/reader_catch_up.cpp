// Catch-up (ReaderOptions::archive): a reader that the ring no longer serves reads what it
// missed from the ring's archive, then goes back to the ring at exactly the next sequence
// (docs/DESIGN.md, "Catch-up from an archive"). The switch back is race-free because it is
// decided by the ring's own check: the reader moves to the ring only at a record it found
// holding position_, and if the producer overwrites that record before it is read, the
// read reports a lap and the reader comes back here. Archive messages count as delivered
// and the archive's gaps as missed, so delivered + missed == position - start holds.
#include <shmcast/error.hpp>
#include <shmcast/reader.hpp>

#include "reader_state.hpp"
#include "record_chain.hpp"

#include <chrono>
#include <filesystem>

namespace shmcast {

using namespace detail;

namespace {
// How often a reader in catch-up asks whether the ring holds its next sequence again.
constexpr std::uint64_t kRingCheckEvery = 64;
// How long a reader waits at the end of its archive for a recorder that is behind before
// it reports what neither holds as a gap and reads on in the ring.
constexpr auto kArchiveWait = std::chrono::milliseconds(500);
}  // namespace

bool Reader::catching_up() const noexcept { return state_->is(kCatchUp); }

// Opens ReaderOptions::archive. One that has no segment yet (a recorder just started) is
// opened when first needed; at attach, any other failure throws. An archive of another
// ring (this name recreated since) would hand out its messages under this ring's
// sequences: it is not used, and archive_error() says why.
void Reader::open_archive(bool at_attach) {
  ReaderState& s = *state_;
  const std::string& dir = s.options.archive;
  try {
    s.archive.emplace(dir);
  } catch (const Error& e) {
    if (e.code() == Errc::not_found && std::filesystem::is_directory(dir)) return;  // not yet
    if (at_attach) throw;
    s.archive_error = e.what();
    s.options.archive.clear();
    return;
  }
  if (s.archive->ring_id() != s.header.ring_id) {
    s.archive_error = "archive " + dir + " records another ring (id " + std::to_string(s.archive->ring_id()) +
                      ", this ring is " + std::to_string(s.header.ring_id) + "): not used";
    s.archive.reset();
    s.options.archive.clear();
  }
}
const std::string& Reader::archive_error() const noexcept { return state_->archive_error; }

// The ring no longer holds `seq`: if the archive does (or holds something after it that the
// ring does not), read from there. `first` gets the first event of the catch-up.
bool Reader::enter_catch_up(std::uint64_t seq, ReadResult& first) noexcept {
  ReaderState& s = *state_;
  if (!s.archive) {
    try {
      open_archive(/*at_attach=*/false);
    } catch (...) {
    }
    if (!s.archive) return false;
  }
  try {
    if (!s.archive->seek(seq)) return false;  // the archive ends before seq
  } catch (const std::exception& e) {
    s.archive_error = e.what();
    s.archive.reset();
    s.options.archive.clear();
    return false;
  }
  const std::uint64_t from = s.archive->position();
  // The archive starts after seq: worth it only if it holds what the ring would not give
  // back, judged by where the gap policy would take the reader in the ring (with the
  // oldest policy's margin): otherwise the messages from `from` to that point, which the
  // archive holds, would be reported missed.
  if (from > seq) {
    const std::optional<Point> ring = point_by_policy(on_gap_ == GapPolicy::latest, seq);
    if (ring && ring->seq <= from) return false;
  }
  s.set(kCatchUp, true);
  s.catch_up_reads = 0;
  s.archive_idle_since.reset();
  if (entry_ != nullptr) entry_->set_catching_up(true);
  position_ = seq;
  first = from > seq ? report_gap(seq, {from, cursor_}, GapCause::not_archived) : read_catch_up();
  return true;
}

void Reader::leave_catch_up(const std::string& error) noexcept {
  ReaderState& s = *state_;
  s.set(kCatchUp, false);
  if (entry_ != nullptr) entry_->set_catching_up(false);
  if (!error.empty()) {
    s.archive_error = error;
    s.archive.reset();
    s.options.archive.clear();
  }
}

ReadResult Reader::read_catch_up() noexcept {
  ReaderState& s = *state_;
  // Back to the ring as soon as it holds the next sequence.
  const auto back_to_ring = [&]() -> std::optional<ReadResult> {
    const std::optional<ChainPoint> p = first_point_from(*view_, position_, 0);
    if (!p || p->seq != position_) return std::nullopt;
    leave_catch_up();
    cursor_ = p->position;
    return read_record();
  };
  if (s.catch_up_reads++ % kRingCheckEvery == 0)
    if (auto r = back_to_ring()) return *r;
  ReadResult r;
  try {
    r = s.archive->next();
  } catch (const std::exception& e) {
    // The archive holds position_ but cannot give it back: a damaged record is `corrupt`
    // (archive_error() names the file and offset); anything else (the disk, the file gone)
    // leaves it not archived as far as this reader can tell.
    const auto* error = dynamic_cast<const Error*>(&e);
    const bool damaged = error != nullptr && (error->code() == Errc::corrupt || error->code() == Errc::truncated);
    leave_catch_up(e.what());
    return on_lapped(position_, position_, damaged ? GapCause::corrupt : GapCause::not_archived);
  }
  if (r.status == ReadStatus::message) {
    if (r.message.seq != position_) {
      leave_catch_up("archive " + s.archive->dir() + ": record " + std::to_string(r.message.seq) + " where " +
                     std::to_string(position_) + " was expected");
      return on_lapped(position_, position_, GapCause::corrupt);
    }
    s.archive_idle_since.reset();
    position_ = r.message.seq + 1;
    ++delivered_;
    if (entry_ != nullptr) entry_->publish_progress(position_);
    return r;
  }
  if (r.status == ReadStatus::gap) {
    s.archive_idle_since.reset();
    // What the archive lacks, the ring may still hold from some point inside the gap.
    const std::uint64_t end = r.gap.first + r.gap.missed;
    const std::optional<ChainPoint> p = first_point_from(*view_, r.gap.first, 0);
    if (p && p->seq < end) {
      leave_catch_up();
      if (p->seq == r.gap.first) {
        cursor_ = p->position;
        return read_record();
      }
      return report_gap(r.gap.first, {p->seq, p->position}, r.gap.cause);
    }
    return report_gap(r.gap.first, {end, cursor_}, r.gap.cause);
  }
  // The end of the archive, for now.
  if (auto back = back_to_ring()) return *back;
  const auto now = std::chrono::steady_clock::now();
  if (!s.archive_idle_since) s.archive_idle_since = now;
  if (now - *s.archive_idle_since < kArchiveWait) return {};  // a recorder behind the ring may still write it
  leave_catch_up();
  return on_lapped(position_, position_, GapCause::not_archived);
}

}  // namespace shmcast
