// shmcast::Producer: the one writer of a ring.
//
// A Producer creates a ring (or takes an existing one over) and publishes messages of any
// size up to the ring's max_message into it. Publishing never waits for a reader and never
// allocates; its one system call is the FUTEX_WAKE owed to readers that announced they are
// going to sleep (once per sleep). It writes the record (header and payload, rounded up to
// 32 bytes) at the tail of the byte ring, marks where the next one goes, and commits it
// with one release store. Every sixteenth of the ring (at most 64 KiB) it first moves the
// overwrite horizon that readers check their reads against. A reader that was a lap
// behind sees the overwrite as a gap.
//
// How the payload is copied depends on its size and the build (docs/DESIGN.md, "Copy
// paths shipped per build"): relaxed 8-byte atomic words, free of data races in the C++
// memory model (every payload under ThreadSanitizer and off x86-64; below 48 B
// elsewhere), or on x86-64 outside ThreadSanitizer plain 16-byte SSE stores from 48 B and
// one `rep movsb` from 1 KiB: formally data races with a lapped reader, which x86-TSO and
// the horizon check make harmless.
//
// Thread safety: a Producer is used by one thread at a time. One producer per ring is
// enforced across processes by an open-file-description lock the kernel drops when the
// producer dies; a second one gets Errc::producer_active naming the first one's pid.
#pragma once

#include <shmcast/types.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace shmcast {

namespace detail {
struct ProducerState;
struct ProducerLine;
struct ReserveLine;
struct WaitLine;
class RingView;
}  // namespace detail

// Pass as timestamp_ns to stamp a message with shmcast::now_ns().
inline constexpr std::uint64_t kNow = std::numeric_limits<std::uint64_t>::max();

// The reader registry's mode when none is given: the ring's, plus write for every class
// that may read it, since a reader registers by writing its entry (0644 -> 0666).
[[nodiscard]] constexpr unsigned default_registry_mode(unsigned ring_mode) noexcept {
  return (ring_mode | ((ring_mode & 0444u) >> 1)) & 0777u;
}

struct CreateOptions {
  unsigned mode = 0600;  // permission bits of the ring, applied exactly (not narrowed by the umask)
  // Remove an existing ring of that name first (`create --force`): Producer::remove_unless_live,
  // so Errc::producer_active while a live producer holds it.
  bool replace = false;
  // Permission bits of the reader registry, which readers must be able to write to
  // register. Default: whoever may read the ring may also write the registry (0644 -> 0666,
  // 0640 -> 0660, 0600 -> 0600), so every reader of a shared-read ring shows in `stat`.
  // (Last, so that code initialising the fields in order keeps its meaning.)
  std::optional<unsigned> registry_mode{};
  // How many registered readers the ring holds at once: 1 to kMaxReadersLimit. A reader
  // that finds every entry held by a live reader reads on unregistered, and says why
  // (Reader::registration_error). A registry recreated by a takeover gets the default.
  std::uint32_t max_readers = kDefaultMaxReaders;
};

// What open_or_create() does with a ring that already exists under the name.
enum class ExistingRing {
  must_match,  // take it over only if its geometry equals the one given (else Errc::geometry_mismatch)
  use_as_is,   // take it over whatever its geometry: the geometry given is only for creating
};

class Producer {
 public:
  // Creates a new ring; Errc::already_exists if the name is taken (unless replace).
  static Producer create(std::string_view name, const Geometry& geometry, const CreateOptions& options = {});
  // Takes over an existing ring where its predecessor stopped, keeping a record it committed but did not count.
  static Producer open(std::string_view name);
  // Takes the ring over if it exists (subject to `existing`), else creates it with
  // `geometry` and `options`; safe against concurrent creators. A ring whose creator died
  // before finishing it (not ready, and nobody holds its producer lock) is replaced.
  static Producer open_or_create(std::string_view name, const Geometry& geometry,
                                 const CreateOptions& options = {},
                                 ExistingRing existing = ExistingRing::must_match);
  // Removes a ring and its registry, whatever holds them. Attached processes keep their
  // mappings; a live producer goes on writing into the removed ring, unseen by readers.
  // False if absent; Errc::permission_denied if this user may not remove them.
  static bool remove(std::string_view name);
  // remove(), but Errc::producer_active, removing nothing, while a live producer holds the
  // ring (what `shmcast rm` does without --even-if-live).
  static bool remove_unless_live(std::string_view name);

  Producer(Producer&&) noexcept;
  Producer& operator=(Producer&&) noexcept;
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;
  ~Producer();

  // Publishes one message and returns its sequence number. Throws, writing nothing,
  // Errc::message_too_large if the payload exceeds max_message(), and Errc::invalid_argument
  // if the ring has used its last sequence (head() past kMaxSequence, after a publish_at of it).
  std::uint64_t publish(std::span<const std::byte> payload, std::uint32_t type = 0,
                        std::uint64_t timestamp_ns = kNow);

  // Publishes at an explicit sequence `seq` >= head() (a relay keeping its source's
  // numbering). Sequences in [head(), seq) are skipped: readers see them as one gap.
  // Throws Errc::invalid_argument if seq < head() or seq > kMaxSequence.
  std::uint64_t publish_at(std::uint64_t seq, std::span<const std::byte> payload, std::uint32_t type = 0,
                           std::uint64_t timestamp_ns = kNow);

  // Advances head to `seq` without publishing (a relay whose source lost [head(), seq)):
  // readers see the skipped run as one gap now, not with the next message. No-op if seq == head().
  // Throws Errc::invalid_argument if seq < head() or seq > kMaxSequence.
  void skip_to(std::uint64_t seq);

  // Zero-copy publishing: claim room for up to `max` bytes, fill it in place, commit the
  // length used; only that length takes room in the ring. Until commit (or the Claim's
  // destruction, which abandons it and leaves no trace for readers) the producer must not
  // publish anything else.
  class Claim {
   public:
    Claim(Claim&& other) noexcept;
    Claim& operator=(Claim&&) = delete;
    ~Claim();

    [[nodiscard]] std::uint64_t seq() const noexcept { return seq_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    // Copies bytes into the claimed payload at `offset` with relaxed 8-byte atomic words, in
    // every build and at every size. Precondition: offset + bytes.size() <= size().
    void write(std::size_t offset, std::span<const std::byte> bytes) noexcept;
    // Raw access for writers that cannot go through write(). Plain stores through it are
    // data races in C++ terms with readers still reading the bytes' previous lap; the
    // horizon's fences keep them after its move and the horizon check discards what such
    // a reader saw (docs/DESIGN.md, "Copy paths shipped per build").
    [[nodiscard]] std::byte* data() noexcept { return payload_; }
    // Commits the first `length` bytes (default: all of size()) and returns the sequence.
    // Throws Errc::invalid_argument if the claim was already committed.
    std::uint64_t commit(std::size_t length);
    std::uint64_t commit() { return commit(size_); }

   private:
    friend class Producer;
    Claim(Producer* owner, std::uint64_t position, std::byte* payload, std::uint64_t seq, std::size_t size) noexcept;
    Producer* owner_;
    std::uint64_t position_;
    std::byte* payload_;
    std::uint64_t seq_;
    std::size_t size_;
  };
  // Throws Errc::message_too_large if max exceeds max_message(), and as publish() past the last sequence.
  [[nodiscard]] Claim claim(std::size_t max, std::uint32_t type = 0, std::uint64_t timestamp_ns = kNow);

  // Stores a snapshot of the producer's state as of head(): it must reflect every message
  // published so far. Throws Errc::message_too_large if it exceeds the snapshot capacity,
  // Errc::no_snapshot_area if the ring has none.
  void publish_snapshot(std::span<const std::byte> state);

  [[nodiscard]] std::uint64_t head() const noexcept { return head_; }
  // The largest message the ring accepts (Geometry::max_message, resolved).
  [[nodiscard]] std::uint32_t max_message() const noexcept;
  [[nodiscard]] const Geometry& geometry() const noexcept;
  [[nodiscard]] const std::string& name() const noexcept;
  [[nodiscard]] std::uint64_t ring_id() const noexcept;
  // Live registered readers: one scan of the registry, for coarse use (not per message).
  [[nodiscard]] std::size_t reader_count() const;
  // FUTEX_WAKE calls made: zero while no reader has blocked.
  [[nodiscard]] std::uint64_t wakeups() const noexcept { return wakeups_; }
  // A relay's own position in its source, kept in the ring so it survives restarts.
  void set_source_position(std::uint64_t position) noexcept;
  [[nodiscard]] std::uint64_t source_position() const noexcept;
  // A relay's view of its source, shown by `shmcast stat` and `metrics`, kept in the ring
  // so that a restarted relay carries its loss counters on.
  void set_source_status(const SourceStatus& status) noexcept;
  [[nodiscard]] SourceStatus source_status() const noexcept;
  // Sequences this ring skipped (publish_at, skip_to) that the source status stored last
  // does not count as missed, leaving out skips made before any status was stored; 0 if
  // none ever was. A relay that died between a jump and storing its counters finds that
  // jump here when it starts again.
  [[nodiscard]] std::uint64_t uncounted_skips() const noexcept;

 private:
  explicit Producer(std::unique_ptr<detail::ProducerState> state);
  // open(), refusing a ring whose geometry is not `*expected` before taking it over.
  static Producer take_over(std::string_view name, const Geometry* expected);
  std::uint64_t place(std::uint64_t size) noexcept;
  void reserve(std::uint64_t end) noexcept;
  void commit_record(std::uint64_t seq, std::uint64_t position, std::uint64_t bytes) noexcept;
  void end_write(std::uint64_t seq, std::uint64_t position, std::size_t size, std::uint64_t timestamp_ns) noexcept;
  void jump_to(std::uint64_t seq) noexcept;
  void wake_if_armed() noexcept;
  void wake_readers() noexcept;
  [[noreturn]] void throw_refused(std::size_t size) const;
  void check_sequence(std::uint64_t seq, const char* call) const;

  std::unique_ptr<detail::ProducerState> state_;
  // Hot-path pointers into state_ and the mapping (process-local: src/ring_view.hpp).
  const detail::RingView* view_ = nullptr;
  detail::ProducerLine* line_ = nullptr;
  detail::ReserveLine* reserve_line_ = nullptr;
  detail::WaitLine* wait_ = nullptr;  // the registry's wait line: is a reader about to sleep?
  std::uint64_t head_ = 0;
  std::uint64_t tail_ = 0;      // where the next record goes
  std::uint64_t records_ = 0;   // records written: the next record's index entry
  std::uint64_t reserved_ = 0;  // the horizon as last stored
  std::uint64_t reserve_step_ = 0;
  std::uint64_t published_ = 0;
  std::uint64_t published_bytes_ = 0;
  std::uint64_t wakeups_ = 0;
  std::uint32_t max_message_ = 0;
  bool full_fence_ = false;
};

}  // namespace shmcast
