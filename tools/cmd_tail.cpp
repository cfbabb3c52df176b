// shmcast tail NAME: prints a ring's messages as they arrive, like `tail -f`.
//
// Reading and writing are decoupled so that a slow terminal can never slow the
// producer (it cannot anyway) nor lose anything silently. A reader thread follows the
// ring and hands events to the main thread through a bounded lock-free SPSC queue of
// event buffers (a second SPSC queue returns the buffers): the main thread formats and
// writes. Buffers are allocated as the queue fills, up to --queue, and the payload bytes
// queued are bounded too (kQueueBytes), since a message may be as large as the ring's
// max_message: a 1 GiB message passes alone. When every buffer is in use, or the bytes
// are, the reader thread stops consuming the ring and lets the producer lap it; its next
// read reports the loss as a gap with the exact count, which the main thread prints in
// its place in the stream.
//
// Neither thread polls while idle: the reader thread sleeps in the library's blocking
// read (or, when the writer holds every buffer, on an eventfd the writer signals), the
// main thread in poll() on an eventfd the reader thread signals and on standard output
// itself, so it notices at once when the reader of its output goes away (`| head -3`)
// and ends, with status 0 as cat(1) does, whether or not a message arrives. Both wake at
// least every few hundred milliseconds to look at the stop flag.
//
// The reader thread also watches the ring once every kCheckInterval: it reports once
// when the producer goes away and once when one comes back, and when the ring is
// removed or recreated it reports that and reattaches with backoff (unless
// --no-reattach). SIGINT/SIGTERM stop it cleanly: the thread stops reading, the main
// thread writes what was already queued, and tail exits 0.
#include "commands.hpp"
#include "common/event_format.hpp"
#include "common/format.hpp"
#include "common/utf8.hpp"
#include "common/json.hpp"
#include "common/output.hpp"
#include "common/status_render.hpp"
#include "common/stop.hpp"

#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>
#include <shmcast/reader.hpp>

#include <boost/lockfree/spsc_queue.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace shmcast::cli {

namespace {

using namespace std::chrono_literals;

constexpr auto kCheckInterval = 200ms;  // producer liveness and ring replacement
constexpr auto kReadTimeout = 100ms;    // how often the reader thread looks at the stop flag
constexpr int kWriterWakeMs = 200;      // how often an idle main thread looks at the stop flag
constexpr std::uint64_t kMaxQueue = 1u << 20;
constexpr std::uint32_t kDefaultQueue = 1024;
// Payload bytes queued between the threads, at most: the reader thread takes no new event
// while this many are queued (one larger message is queued alone).
constexpr std::uint64_t kQueueBytes = std::uint64_t{64} << 20;
// A buffer that held more than this is freed when returned, so that a few large messages
// do not keep their memory for the rest of the run.
constexpr std::size_t kKeepCapacity = std::size_t{1} << 20;


// The options as given (numbers as text: parsed and range-checked by parse_uint, so
// that "-1" is not wrapped into a huge unsigned value).
struct TailArgs {
  std::string name;
  std::optional<std::string> from;
  std::string on_gap = "oldest";
  std::optional<std::string> last;   // -n
  std::optional<std::string> first;  // --first
  std::optional<std::string> count;  // --count
  std::string format = "text";
  std::optional<std::string> type;
  bool no_follow = false;
  std::string label = "tail";
  bool spin = false;
  bool no_reattach = false;
  std::optional<std::string> queue;
  std::string archive;
};

// The options, checked.
struct TailPlan {
  std::optional<std::uint64_t> last;   // start with the last N held
  std::optional<std::uint64_t> limit;  // exit after N messages (--first, --count)
  std::optional<std::uint32_t> type;
  std::optional<std::uint32_t> queue;
  bool follow = true;
  bool spin = false;
  bool no_reattach = false;
  bool from_snapshot = false;
};

enum class Kind : std::uint8_t { message, gap, snapshot, notice };

// One queued event; `data` keeps its capacity from one use to the next.
struct Event {
  Kind kind = Kind::message;
  std::uint64_t seq = 0;  // message: seq; gap: first; snapshot: as_of
  std::uint64_t count = 0;  // gap: missed
  GapCause cause = GapCause::overwritten;  // gap: why
  std::uint64_t timestamp_ns = 0;
  std::uint32_t type = 0;
  std::string data;  // payload, snapshot bytes or notice text
};

// One thread sleeps until another has something for it: an eventfd written only while
// the sleeper says it is waiting, so a busy stream costs no system call. The waiter may
// also watch another descriptor (standard output, for POLLERR/POLLHUP).
class Wakeup {
 public:
  Wakeup() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw Error(Errc::system, std::string("eventfd: ") + std::strerror(errno));
  }
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;
  ~Wakeup() { ::close(fd_); }

  // Sleeps up to timeout_ms unless ready() already holds. Returns the error bits
  // (POLLERR, POLLHUP, POLLNVAL) seen on `watch` (-1: none watched), 0 if none.
  template <class Ready>
  short wait(int watch, int timeout_ms, Ready ready) {
    waiting_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with notify()'s
    short bad = 0;
    if (!ready()) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {watch, 0, 0}};
      if (::poll(fds, watch >= 0 ? 2 : 1, timeout_ms) > 0 && watch >= 0)
        bad = static_cast<short>(fds[1].revents & (POLLERR | POLLHUP | POLLNVAL));
    }
    waiting_.store(false, std::memory_order_relaxed);
    std::uint64_t drained = 0;
    [[maybe_unused]] const ssize_t n = ::read(fd_, &drained, sizeof drained);  // EAGAIN when nothing was written
    return bad;
  }

  // After making ready() true for the waiter.
  void notify() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!waiting_.load(std::memory_order_relaxed)) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd_, &one, sizeof one);
  }

 private:
  int fd_;
  std::atomic<bool> waiting_{false};
};

// What the two threads share. Events travel between them through the queues; the reader
// thread allocates them as needed, up to `depth`, and owns them. `queued_bytes` counts
// the data of the events pushed and not yet written (a counter only: the queues carry
// the events themselves).
struct Channel {
  explicit Channel(std::uint32_t max_events) : depth(max_events), filled(max_events), free(max_events) {}
  const std::uint32_t depth;
  std::vector<std::unique_ptr<Event>> owned;        // reader thread only (main: after join)
  boost::lockfree::spsc_queue<Event*> filled;       // reader thread -> main thread
  boost::lockfree::spsc_queue<Event*> free;         // main thread -> reader thread
  Wakeup filled_wake;                               // main thread sleeps on it
  Wakeup free_wake;                                 // reader thread sleeps on it when the writer holds every buffer
  std::atomic<bool> stop{false};                    // main -> reader: finish now
  std::atomic<bool> done{false};                    // reader -> main: nothing more will come
  std::atomic<bool> replaced_error{false};          // ring replaced and --no-reattach
  std::atomic<bool> archive_failed{false};          // the archive was given up mid-read (exit status 1)
  std::atomic<bool> incomplete{false};              // --no-follow ended short of the end, and said why (exit status 1)
  std::atomic<std::uint64_t> queued_bytes{0};       // reader adds on push, main subtracts once written
};

class ReaderThread {
 public:
  ReaderThread(Reader& reader, Channel& channel, const TailPlan& plan, GapPolicy on_gap)
      : reader_(reader), ch_(channel), plan_(plan), on_gap_(on_gap) {}

  void run() {
    try {
      loop();
    } catch (...) {
      // Nothing below throws in practice (allocation aside); end the stream rather than terminate.
    }
    ch_.done.store(true, std::memory_order_release);
    ch_.filled_wake.notify();
  }

 private:
  bool stopping() const { return ch_.stop.load(std::memory_order_relaxed) || stop_requested(); }

  bool bytes_full() const { return ch_.queued_bytes.load(std::memory_order_relaxed) >= kQueueBytes; }
  bool can_acquire() const {
    return !bytes_full() && (ch_.free.read_available() > 0 || ch_.owned.size() < ch_.depth);
  }

  // A free event buffer: a returned one, a new one while fewer than --queue exist, or
  // one the writer returns, once fewer than kQueueBytes are queued; nullptr when
  // stopping. While this waits the ring is not read: a slow writer turns into a
  // reported gap.
  Event* acquire() {
    Event* e = nullptr;
    for (;;) {
      if (!bytes_full()) {
        if (ch_.free.pop(e)) return e;
        if (ch_.owned.size() < ch_.depth) {
          ch_.owned.push_back(std::make_unique<Event>());
          return ch_.owned.back().get();
        }
      }
      if (stopping()) return nullptr;
      if (plan_.spin) std::this_thread::yield();
      else ch_.free_wake.wait(-1, static_cast<int>(kReadTimeout.count()), [this] { return can_acquire(); });
    }
  }

  void push(Event* e) {
    ch_.queued_bytes.fetch_add(e->data.size(), std::memory_order_relaxed);
    ch_.filled.push(e);
    ch_.filled_wake.notify();
  }

  bool notice(const std::string& text) {
    Event* e = acquire();
    if (e == nullptr) return false;
    e->kind = Kind::notice;
    e->data = "ring '" + reader_.name() + "': " + text;
    push(e);
    return true;
  }

  // Producer liveness and ring replacement, once every kCheckInterval.
  // Returns false when the thread should end.
  bool check(std::chrono::steady_clock::time_point now) {
    if (now < next_check_) return true;
    next_check_ = now + kCheckInterval;
    const bool alive = reader_.producer_alive();
    if (alive != producer_alive_) {
      producer_alive_ = alive;
      const std::string pid = std::to_string(reader_.producer_pid());
      if (!notice(alive ? "a producer is back (pid " + pid + "); reading on"
                        : "its producer (pid " + pid + ") is gone; waiting for one to come back"))
        return false;
    }
    if (!replaced_ && reader_.replaced()) replaced_ = true;  // reattach once what is held is drained
    return true;
  }

  bool reattach() {
    replaced_ = false;
    awaiting_said_ = false;  // a new ring: a wait there is told anew
    if (plan_.no_reattach) {
      ch_.replaced_error.store(true, std::memory_order_relaxed);
      return false;
    }
    if (!notice("the ring was removed or recreated; reattaching when it is back")) return false;
    if (!reader_.reattach(Backoff{}, [this] { return stopping(); })) return false;
    producer_alive_ = reader_.producer_alive();
    next_check_ = std::chrono::steady_clock::now() + kCheckInterval;
    const Geometry& g = reader_.geometry();
    return notice("reattached to the new ring (" + human_bytes(g.ring_bytes) + ", messages up to " +
                  std::to_string(g.message_limit()) + " bytes), reading from sequence " +
                  std::to_string(reader_.position()));
  }

  void loop() {
    const bool follow = plan_.follow;
    const std::uint64_t end = reader_.head();  // --no-follow: what is held when we start
    producer_alive_ = reader_.producer_alive();
    if (follow && !producer_alive_) {
      const pid_t pid = reader_.producer_pid();
      // A ring nothing was ever published into (only made by `shmcast create`) has had no
      // producer to speak of, whatever pid its creator left: the rule `stat` and `list` use.
      bool never_produced = pid == 0;  // what the reader knows, if the ring cannot be inspected now
      try {
        never_produced = no_producer_yet(inspect(reader_.name()));
      } catch (const Error&) {
      }
      if (!notice(never_produced ? "no producer has published yet; waiting for one"
                                 : "no live producer (the last was pid " + std::to_string(pid) + "); waiting for one"))
        return;
    }
    int idle_reads = 0;
    // A snapshot comes before the position it is as of: with --from snapshot the first
    // read may deliver one even where nothing else is held (a ring that holds only a
    // snapshot), and with --on-gap snapshot a gap is followed by its snapshot, which the
    // reader has already positioned past. Read that one more event before --no-follow stops.
    bool snapshot_follows = plan_.from_snapshot;
    Event* e = nullptr;  // the free event buffer this reader fills next
    for (;;) {
      if (stopping()) return;
      if (!follow && reader_.position() >= end && !snapshot_follows) return;
      if (e == nullptr && (e = acquire()) == nullptr) return;
      if (follow && !check(std::chrono::steady_clock::now())) return;
      const ReadResult r = reader_.read(follow ? std::chrono::nanoseconds(kReadTimeout) : std::chrono::nanoseconds(50ms));
      if (!r && on_gap_ == GapPolicy::snapshot && reader_.awaiting_newer_snapshot()) {
        // Never silent: say once why nothing comes. Without --follow nothing will come.
        if (!awaiting_said_ &&
            !notice("lost its place at sequence " + std::to_string(reader_.position()) +
                    " and the newest snapshot is older than what the ring holds: " +
                    (follow ? "waiting for the producer to publish a newer one" : "nothing to print without one")))
          return;
        awaiting_said_ = true;
        if (!follow) {
          ch_.incomplete.store(true, std::memory_order_relaxed);
          return;
        }
      }
      if (r) awaiting_said_ = false;
      if (!r) {  // (a reader waiting for a snapshot too: the ring may be recreated meanwhile)
        if (!follow && ++idle_reads >= 20) return;  // a producer stuck mid-write: give up after ~1 s
        if (follow && replaced_ && !reattach()) return;
        continue;
      }
      idle_reads = 0;
      snapshot_follows = r.status == ReadStatus::gap && on_gap_ == GapPolicy::snapshot;
      switch (r.status) {
        case ReadStatus::message:
          if (plan_.type && r.message.type != *plan_.type) continue;
          e->kind = Kind::message;
          e->seq = r.message.seq;
          e->type = r.message.type;
          e->timestamp_ns = r.message.timestamp_ns;
          e->data.assign(text_of(r.message.payload));
          break;
        case ReadStatus::gap:
          // A catch-up that gives its archive up (a damaged record) reports what it could
          // not read as this gap: say why, once, before it.
          if (!archive_error_said_ && !reader_.archive_error().empty()) {
            archive_error_said_ = true;
            ch_.archive_failed.store(true, std::memory_order_relaxed);
            if (!notice(reader_.archive_error() + "; reading on without the archive")) return;
          }
          e->kind = Kind::gap;
          e->seq = r.gap.first;
          e->count = r.gap.missed;
          e->cause = r.gap.cause;
          break;
        case ReadStatus::snapshot:
          e->kind = Kind::snapshot;
          e->seq = r.snapshot.as_of;
          e->data.assign(text_of(r.snapshot.data));
          break;
        case ReadStatus::empty: continue;
      }
      push(e);
      e = nullptr;
    }
  }

  Reader& reader_;
  Channel& ch_;
  const TailPlan& plan_;
  GapPolicy on_gap_;
  bool producer_alive_ = false;
  bool replaced_ = false;
  // An archive is given up once at most (the reader then reads without one): at start-up,
  // where run_tail says why, or here.
  bool archive_error_said_ = !reader_.archive_error().empty();
  bool awaiting_said_ = false;  // the wait for a newer snapshot has been told
  std::chrono::steady_clock::time_point next_check_{};
};

// The main thread's side: formats events and writes them to stdout (stderr for notices,
// and for gaps in text and hex formats).
class Writer {
 public:
  Writer(std::string ring, OutputFormat format) : ring_(std::move(ring)), format_(format) {}

  // False once standard output is gone (a closed pipe), failed, or a stop interrupted a write.
  bool ok() const { return ok_; }
  // The error that ended the output, if it was not a reader going away (EPIPE) or a stop.
  [[nodiscard]] int write_error() const { return write_error_; }
  [[nodiscard]] std::uint64_t messages() const { return messages_; }
  // poll() saw POLLERR/POLLHUP on standard output (its reader went away: a normal end)
  // or POLLNVAL (it was never open: an error, as a write would have said).
  void output_gone(short revents) {
    if (revents & POLLNVAL) write_error_ = EBADF;
    ok_ = false;
  }

  void put(const Event& e) {
    switch (e.kind) {
      case Kind::message: message(e); break;
      case Kind::gap: gap(e); break;
      case Kind::snapshot: snapshot(e); break;
      case Kind::notice: err(e.data); break;
    }
    if (out_.size() >= 64 * 1024) flush();
  }

  void flush() {
    std::size_t done = 0;
    while (ok_ && done < out_.size()) {
      const ssize_t n = ::write(STDOUT_FILENO, out_.data() + done, out_.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR && !stop_requested()) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // A non-blocking output (set by whoever shares the pipe) that is full: wait for
        // room as a blocking write would, looking for a stop between short waits (a
        // signal between the write and the poll would not interrupt a long one).
        if (stop_requested()) {
          ok_ = false;
        } else {
          pollfd out{STDOUT_FILENO, POLLOUT, 0};
          (void)::poll(&out, 1, 100);
        }
      } else {
        // EPIPE: the consumer went away, a normal end; EINTR on stop: don't wait for a stuck one.
        if (n < 0 && errno != EPIPE && errno != EINTR) write_error_ = errno;
        ok_ = false;
      }
    }
    out_.clear();
  }

 private:
  void err(const std::string& text) {
    flush();  // keep stdout and stderr in order on a terminal
    std::fprintf(stderr, "shmcast tail: %s\n", printable(one_line(text)).c_str());
  }

  void message(const Event& e) {
    ++messages_;
    append_message(out_, format_, e.seq, e.type, e.timestamp_ns, e.data);
  }

  void gap(const Event& e) {
    const Gap gap{e.seq, e.count, e.cause};
    if (format_ == OutputFormat::json) return append_gap_json(out_, gap);
    err("ring '" + ring_ + "': " + gap_notice(gap));
  }

  void snapshot(const Event& e) {
    switch (format_) {
      case OutputFormat::json:
        // {"snapshot":{"as_of":N,"len":N,"data":"..."}}: the bytes field is the inner object's.
        out_ += "{\"snapshot\":" +
                dump_with_bytes(Json{{"as_of", e.seq}, {"len", e.data.size()}}, "data", e.data) + "}\n";
        break;
      case OutputFormat::text:
        err("ring '" + ring_ + "': snapshot as of sequence " + std::to_string(e.seq) + " (" +
            std::to_string(e.data.size()) + " bytes) follows");
        append_escaped(out_, e.data);
        out_ += '\n';
        break;
      case OutputFormat::hex:
        out_ += "snapshot as_of=" + std::to_string(e.seq) + " len=" + std::to_string(e.data.size()) + "\n";
        append_hex_dump(out_, e.data);
        break;
    }
  }

  std::string ring_;
  OutputFormat format_;
  std::string out_;
  std::uint64_t messages_ = 0;
  int write_error_ = 0;
  bool ok_ = true;
};

TailPlan plan_of(const TailArgs& a) {
  TailPlan p;
  constexpr std::uint64_t kAny = UINT64_MAX;
  if (a.last) p.last = parse_uint("-n", *a.last, 0, kAny);
  if (a.first) p.limit = parse_uint("--first", *a.first, 1, kAny);
  if (a.count) p.limit = parse_uint("--count", *a.count, 1, kAny);
  if (a.type) p.type = static_cast<std::uint32_t>(parse_uint("--type", *a.type, 0, UINT32_MAX));
  if (a.queue) p.queue = static_cast<std::uint32_t>(parse_uint("--queue", *a.queue, 2, kMaxQueue));
  p.follow = !a.no_follow;
  p.spin = a.spin;
  p.no_reattach = a.no_reattach;
  p.from_snapshot = a.from == "snapshot";
  return p;
}

ReaderOptions reader_options(const TailArgs& a) {
  ReaderOptions o;
  // -n starts at a place known only once attached (run_tail seeks there); --first reads from the oldest.
  const std::string from = a.last ? "latest" : a.from.value_or(a.no_follow || a.first ? "oldest" : "latest");
  if (from == "latest") {
    o.start = StartAt::latest;
  } else if (from == "oldest") {
    o.start = StartAt::oldest;
  } else if (from == "snapshot") {
    o.start = StartAt::snapshot;
  } else {
    std::uint64_t seq = 0;
    auto [p, ec] = std::from_chars(from.data(), from.data() + from.size(), seq);
    if (ec != std::errc() || p != from.data() + from.size() || from.empty())
      throw CLI::ValidationError("--from '" + from + "' must be oldest, latest, snapshot or a sequence number from 0 to " +
                                 std::to_string(UINT64_MAX));
    o.start = StartAt::sequence;
    o.start_seq = seq;
  }
  if (a.on_gap == "oldest") o.on_gap = GapPolicy::oldest;
  else if (a.on_gap == "latest") o.on_gap = GapPolicy::latest;
  else o.on_gap = GapPolicy::snapshot;
  o.wait = a.spin ? WaitStrategy::spin : WaitStrategy::block;
  o.label = a.label;
  o.archive = a.archive;
  return o;
}

// Where `-n N` starts: the N-th last message held, or with --type the N-th last of that
// type; the oldest held when fewer are held. Sequences count messages only in a ring that
// never skipped any (skip_to, publish_at, a relay's gaps): otherwise, and with --type, the
// messages are counted by a first pass over what is held, with a reader of its own that
// does not register, so the counters `stat` shows are this reader's alone.
std::uint64_t start_of_last(const std::string& name, const Reader& reader, std::uint64_t n,
                            std::optional<std::uint32_t> type) {
  const std::uint64_t head = reader.head();
  const std::uint64_t oldest = reader.oldest();
  if (n == 0) return head;
  if (!type && inspect(name).skipped == 0) return std::max(oldest, head - std::min(head, n));
  ReaderOptions scan_options;
  scan_options.start = StartAt::oldest;
  scan_options.register_reader = false;
  Reader scan(name, scan_options);
  const std::uint64_t held = head - std::min(head, scan.position());
  std::vector<std::uint64_t> last(static_cast<std::size_t>(std::min(n, std::max<std::uint64_t>(held, 1))));
  std::uint64_t found = 0;  // matching messages seen; the latest `last.size()` are kept, round robin
  while (scan.position() < head) {
    const ReadResult r = scan.try_read();
    if (!r) break;  // a producer stuck mid-write
    if (r.status == ReadStatus::message && (!type || r.message.type == *type)) last[found++ % last.size()] = r.message.seq;
  }
  if (found < n) return oldest;
  return last[found % last.size()];  // the oldest of the latest N kept
}

// Starts the reader thread with SIGINT and SIGTERM blocked in it, so that they reach the
// main thread and interrupt its poll() or a write() to a stalled consumer.
std::thread start_blocking_signals(ReaderThread& reader_thread) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  std::thread thread([&reader_thread] { reader_thread.run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return thread;
}

void run_tail(const TailArgs& a) {
  const OutputFormat format = a.format == "json" ? OutputFormat::json : a.format == "hex" ? OutputFormat::hex : OutputFormat::text;
  if (a.label.size() > kMaxLabelBytes)
    throw CLI::ValidationError("--label is longer than " + std::to_string(kMaxLabelBytes) + " bytes");
  const TailPlan plan = plan_of(a);
  const ReaderOptions options = reader_options(a);
  // main() put /dev/null, read-only, where a closed standard output was (output.hpp): say so
  // now rather than fail at the first message.
  if (started_closed(STDOUT_FILENO))
    throw Error(Errc::system, std::string("standard output is not open: ") + std::strerror(EBADF));
  install_stop_handlers();

  Reader reader(a.name, options);
  if (reader.geometry().snapshot_capacity == 0) {
    const char* option = a.from == "snapshot" ? "--from snapshot" : options.on_gap == GapPolicy::snapshot ? "--on-gap snapshot" : nullptr;
    if (option != nullptr)
      throw Error(Errc::no_snapshot_area, a.name, std::string("has no snapshot area, so ") + option + " cannot be used");
  }
  if (!reader.registered() && !reader.registration_error().empty())
    std::fprintf(stderr, "shmcast tail: ring '%s': reading unregistered (`shmcast stat` will not list this reader): %s\n",
                 a.name.c_str(), printable(one_line(reader.registration_error())).c_str());
  if (!reader.archive_error().empty())
    std::fprintf(stderr, "shmcast tail: ring '%s': %s\n", a.name.c_str(), printable(one_line(reader.archive_error())).c_str());
  if (plan.last) reader.seek(start_of_last(a.name, reader, *plan.last, plan.type));

  // Enough buffers to absorb bursts, allocated as they fill; the bytes they hold are
  // bounded apart (kQueueBytes), whatever the messages' sizes.
  Channel channel(plan.queue.value_or(kDefaultQueue));
  ReaderThread ring_reader(reader, channel, plan, options.on_gap);
  std::thread thread = start_blocking_signals(ring_reader);
  struct Joiner {  // stops and joins the reader thread however this scope is left
    Channel& ch;
    std::thread& t;
    ~Joiner() {
      ch.stop.store(true, std::memory_order_relaxed);
      ch.free_wake.notify();
      if (t.joinable()) t.join();
    }
  } joiner{channel, thread};

  Writer writer(a.name, format);
  const std::uint64_t limit = plan.limit.value_or(UINT64_MAX);
  bool flowing = false;  // events came since the last nap
  std::uint64_t returned = 0;
  while (writer.ok() && writer.messages() < limit) {
    Event* e = nullptr;
    if (channel.filled.pop(e)) {
      writer.put(*e);
      const std::uint64_t bytes = e->data.size();
      if (e->data.capacity() > kKeepCapacity) std::string().swap(e->data);
      const std::uint64_t queued = channel.queued_bytes.fetch_sub(bytes, std::memory_order_relaxed);
      channel.free.push(e);
      // A reader thread waiting for buffers is woken once a batch is free, not for each,
      // or once the bytes queued fall below the bound.
      if (++returned % 64 == 0 || (queued >= kQueueBytes && queued - bytes < kQueueBytes)) channel.free_wake.notify();
      flowing = true;
      continue;
    }
    channel.free_wake.notify();
    writer.flush();
    if (!writer.ok()) break;
    if (channel.done.load(std::memory_order_acquire)) {
      if (channel.filled.read_available() == 0) break;
      continue;
    }
    if (stop_requested()) channel.stop.store(true, std::memory_order_relaxed);  // drain what is queued, then end
    if (flowing) {
      // While a stream flows, a short nap lets events gather into one write, with no
      // wake-up to signal; a nap that brings nothing leads to the sleep below.
      flowing = false;
      std::this_thread::sleep_for(plan.spin ? 50us : 1ms);
      continue;
    }
    // Sleep until an event comes, standard output is closed, or it is time to look at the stop flag.
    const short bad = channel.filled_wake.wait(STDOUT_FILENO, plan.spin ? 0 : kWriterWakeMs, [&] {
      return channel.filled.read_available() > 0 || channel.done.load(std::memory_order_relaxed);
    });
    if (bad != 0) writer.output_gone(bad);
    else if (plan.spin) std::this_thread::sleep_for(50us);
  }
  writer.flush();
  channel.stop.store(true, std::memory_order_relaxed);
  channel.free_wake.notify();
  thread.join();  // before reading what it reported
  if (writer.write_error() != 0)
    throw Error(Errc::system, std::string("writing standard output: ") + std::strerror(writer.write_error()));
  if (channel.replaced_error.load(std::memory_order_relaxed))
    throw Error(Errc::replaced, a.name, "was removed or recreated");
  // Said in their notices; an output whose reader went away (`| head`) ends well regardless.
  if (writer.ok() &&
      (channel.archive_failed.load(std::memory_order_relaxed) || channel.incomplete.load(std::memory_order_relaxed)))
    throw CLI::RuntimeError(1);
}

}  // namespace

void add_tail_command(CLI::App& app) {
  auto args = std::make_shared<TailArgs>();
  CLI::App* sub = app.add_subcommand("tail", "Print a ring's messages as they arrive, like `tail -f`");
  sub->footer(
      "Gaps (messages this reader will never see: overwritten because the producer lapped it, skipped by the "
      "producer, or a corrupt record) are reported with their first sequence, exact count and cause: on standard "
      "error in text and hex formats, in the stream in json format. Says when the producer goes away or comes back, and reattaches "
      "when the ring is recreated. Ends with status 0 when the reader of its output goes away (`| head`), and with "
      "status 1 (after a notice saying why) when a damaged --archive is given up, or when --no-follow can print "
      "nothing because --on-gap snapshot waits for a snapshot newer than the one the ring has.\n"
      "Text format: each payload on one line as it is, except control characters (C0 but tab, DEL, C1) and "
      "bidi controls and invisible format characters (such as U+202E, U+200B, U+FEFF), which are shown as "
      "\\n, \\r or \\xNN so that a payload cannot break the line, drive the terminal or disguise what it shows. "
      "For the exact bytes use json or hex.\n"
      "JSON format, one object per line:\n"
      "  message  {\"seq\":N,\"type\":T,\"ts_ns\":N,\"len\":N,\"data\":\"...\"}\n"
      "  gap      {\"gap\":{\"first\":N,\"missed\":K,\"cause\":C}}  C: overwritten, skipped, not_archived (--archive) or corrupt\n"
      "  snapshot {\"snapshot\":{\"as_of\":N,\"len\":N,\"data\":\"...\"}}\n"
      "`data` is the payload as a JSON string: valid UTF-8 is kept, '\"', '\\' and control characters are "
      "escaped, and every byte that is not valid UTF-8 is written as \\u00XX (XX = the byte's value). A parsed "
      "string cannot tell such a byte from the character U+00XX, so a payload that is not valid UTF-8 also "
      "carries its exact bytes in a `data_base64` field (RFC 4648) after `data`; read that when it is there.");
  sub->add_option("name", args->name, "Ring name")->required();
  CLI::Option* from =
      sub->add_option("--from", args->from,
                      "Where to start: oldest (the oldest message held), latest (only new ones), snapshot (the newest "
                      "snapshot, then what follows it; the ring needs a snapshot area) or a sequence number SEQ. "
                      "Default: latest, or oldest with --no-follow or --first")
          ->type_name("WHERE");
  sub->add_option("--on-gap", args->on_gap,
                  "After a gap continue at: oldest (replay as much as is held), latest (skip to new messages) or "
                  "snapshot (the newest snapshot, then what follows it; the ring needs a snapshot area)")
      ->check(CLI::IsMember({"oldest", "latest", "snapshot"}))
      ->capture_default_str();
  CLI::Option* last = sub->add_option("-n,--lines", args->last,
                                      "Start with the last N messages held (with --type: the last N of that type; 0: "
                                      "none, only new ones), then follow, or exit with --no-follow, like tail(1). N: 0 "
                                      "to 18446744073709551615")
                            ->type_name("N");
  CLI::Option* first = sub->add_option("--first", args->first,
                                       "Print the first N messages from the start (--from, default oldest: the first N "
                                       "held) and exit, like head(1). N: 1 to 18446744073709551615")
                             ->type_name("N");
  CLI::Option* count = sub->add_option("--count", args->count,
                                       "Exit after printing N messages, wherever it starts. N: 1 to 18446744073709551615")
                             ->type_name("N");
  last->excludes(from)->excludes(first);
  first->excludes(count);
  sub->add_option("--format", args->format,
                  "Output format: text (one line per payload, control characters escaped), json or hex")
      ->check(CLI::IsMember({"text", "json", "hex"}))
      ->capture_default_str();
  sub->add_option("--type", args->type, "Print only messages of this type tag (0 to 4294967295)")->type_name("T");
  sub->add_flag("--no-follow", args->no_follow, "Print what the ring holds now and exit");
  sub->add_option("--label", args->label,
                  "Label shown for this reader by `shmcast stat` (at most " + std::to_string(kMaxLabelBytes) + " bytes)")
      ->capture_default_str();
  sub->add_flag("--spin", args->spin, "Busy-poll for the lowest latency (burns a core); default: block on a futex");
  sub->add_flag("--no-reattach", args->no_reattach, "Exit with an error if the ring is removed or recreated");
  sub->add_option("--archive", args->archive,
                  "An archive of the ring (`shmcast record --dir DIR`): what the ring no longer holds, at the start or after "
                  "a lap, is read from it, then the ring again from exactly the next sequence")
      ->type_name("DIR");
  sub->add_option("--queue", args->queue,
                  "Messages buffered between reading the ring and writing the output: 2 to " + std::to_string(kMaxQueue) +
                      " (default: up to " + std::to_string(kDefaultQueue) + "), allocated as the queue fills, and at "
                      "most 64 MiB of payload (a larger message passes alone); when the output falls this far behind, "
                      "the reader lets the ring lap it and reports the gap")
      ->type_name("N");
  sub->callback([args] { run_tail(*args); });
}

}  // namespace shmcast::cli
