// shmcast tail NAME: prints a ring's messages as they arrive, like `tail -f`.
//
// Reading and writing are decoupled so that a slow terminal can never slow the
// producer (it cannot anyway) nor lose anything silently. A reader thread follows the
// ring and hands events to the main thread through a bounded lock-free SPSC queue of
// buffer indices (a second SPSC queue returns the buffers): the main thread formats and
// writes. When every buffer is in use the reader thread stops consuming the ring and
// lets the producer lap it; its next read reports the loss as a gap with the exact
// count, which the main thread prints in its place in the stream.
//
// The reader thread also watches the ring once every kCheckInterval: it reports once
// when the producer goes away and once when one comes back, and when the ring is
// removed or recreated it reports that and reattaches with backoff (unless
// --no-reattach). SIGINT/SIGTERM stop it cleanly: the thread stops reading, the main
// thread writes what was already queued, and tail exits 0.
#include "commands.hpp"
#include "common/format.hpp"
#include "common/json.hpp"
#include "common/stop.hpp"

#include <shmcast/error.hpp>
#include <shmcast/reader.hpp>

#include <boost/lockfree/spsc_queue.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <unistd.h>
#include <vector>

namespace shmcast::cli {

namespace {

using namespace std::chrono_literals;

constexpr auto kCheckInterval = 200ms;  // producer liveness and ring replacement
constexpr auto kReadTimeout = 100ms;    // how often the reader thread looks at the stop flag

enum class Format { text, json, hex };

struct TailArgs {
  std::string name;
  std::optional<std::string> from;
  std::string on_gap = "oldest";
  std::optional<std::uint64_t> count;
  std::string format = "text";
  std::optional<std::uint32_t> type;
  bool no_follow = false;
  std::string label = "tail";
  bool spin = false;
  bool no_reattach = false;
  std::optional<std::uint32_t> queue;
};

enum class Kind : std::uint8_t { message, gap, snapshot, notice };

// One queued event; `data` keeps its capacity from one use to the next.
struct Event {
  Kind kind = Kind::message;
  std::uint64_t seq = 0;  // message: seq; gap: first; snapshot: as_of
  std::uint64_t count = 0;  // gap: missed
  std::uint64_t timestamp_ns = 0;
  std::uint32_t type = 0;
  std::string data;  // payload, snapshot bytes or notice text
};

// What the two threads share. Indices of `events` travel between them through the queues.
struct Channel {
  explicit Channel(std::uint32_t depth) : events(depth), filled(depth), free(depth) {
    for (std::uint32_t i = 0; i < depth; ++i) free.push(i);
  }
  std::vector<Event> events;
  boost::lockfree::spsc_queue<std::uint32_t> filled;  // reader thread -> main thread
  boost::lockfree::spsc_queue<std::uint32_t> free;    // main thread -> reader thread
  std::atomic<bool> stop{false};                      // main -> reader: finish now
  std::atomic<bool> done{false};                      // reader -> main: nothing more will come
  std::atomic<bool> replaced_error{false};            // ring replaced and --no-reattach
};

class ReaderThread {
 public:
  ReaderThread(Reader& reader, Channel& channel, const TailArgs& args, GapPolicy on_gap)
      : reader_(reader), ch_(channel), args_(args), on_gap_(on_gap) {}

  void run() {
    try {
      loop();
    } catch (...) {
      // Nothing below throws in practice (allocation aside); end the stream rather than terminate.
    }
    ch_.done.store(true, std::memory_order_release);
  }

 private:
  bool stopping() const { return ch_.stop.load(std::memory_order_relaxed) || stop_requested(); }

  // A free event buffer, waiting for the writer to return one; nullopt when stopping.
  // While this waits the ring is not read: a slow writer turns into a reported gap.
  std::optional<std::uint32_t> acquire() {
    std::uint32_t idx = 0;
    for (;;) {
      if (ch_.free.pop(idx)) return idx;
      if (stopping()) return std::nullopt;
      if (args_.spin) std::this_thread::yield();
      else std::this_thread::sleep_for(200us);
    }
  }

  void push(std::uint32_t idx) { ch_.filled.push(idx); }

  bool notice(const std::string& text) {
    const std::optional<std::uint32_t> idx = acquire();
    if (!idx) return false;
    Event& e = ch_.events[*idx];
    e.kind = Kind::notice;
    e.data = "ring '" + reader_.name() + "': " + text;
    push(*idx);
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
    if (args_.no_reattach) {
      ch_.replaced_error.store(true, std::memory_order_relaxed);
      return false;
    }
    if (!notice("the ring was removed or recreated; reattaching when it is back")) return false;
    if (!reader_.reattach(Backoff{}, [this] { return stopping(); })) return false;
    producer_alive_ = reader_.producer_alive();
    next_check_ = std::chrono::steady_clock::now() + kCheckInterval;
    const Geometry& g = reader_.geometry();
    return notice("reattached to the new ring (" + std::to_string(g.slot_count) + " slots of " +
                  std::to_string(g.slot_size) + " bytes), reading from sequence " + std::to_string(reader_.position()));
  }

  void loop() {
    const bool follow = !args_.no_follow;
    const std::uint64_t end = reader_.head();  // --no-follow: what is held when we start
    producer_alive_ = reader_.producer_alive();
    if (follow && !producer_alive_) {
      const pid_t pid = reader_.producer_pid();
      if (!notice(pid != 0 ? "no live producer (the last was pid " + std::to_string(pid) + "); waiting for one"
                           : "no producer has attached yet; waiting for one"))
        return;
    }
    int idle_reads = 0;
    // With --on-gap snapshot a gap is followed by its snapshot, which the reader has
    // already positioned past: read that one more event before --no-follow stops.
    bool snapshot_follows = false;
    // The free event buffer this reader fills next; kNoSlot while it holds none.
    constexpr std::uint32_t kNoSlot = ~0u;
    std::uint32_t idx = kNoSlot;
    for (;;) {
      if (stopping()) return;
      if (!follow && reader_.position() >= end && !snapshot_follows) return;
      if (idx == kNoSlot) {
        const std::optional<std::uint32_t> got = acquire();
        if (!got) return;
        idx = *got;
      }
      if (follow && !check(std::chrono::steady_clock::now())) return;
      const ReadResult r = reader_.read(follow ? std::chrono::nanoseconds(kReadTimeout) : std::chrono::nanoseconds(50ms));
      if (!r) {
        if (!follow && ++idle_reads >= 20) return;  // a producer stuck mid-write: give up after ~1 s
        if (follow && replaced_ && !reattach()) return;
        continue;
      }
      idle_reads = 0;
      snapshot_follows = r.status == ReadStatus::gap && on_gap_ == GapPolicy::snapshot;
      Event& e = ch_.events[idx];
      switch (r.status) {
        case ReadStatus::message:
          if (args_.type && r.message.type != *args_.type) continue;
          e.kind = Kind::message;
          e.seq = r.message.seq;
          e.type = r.message.type;
          e.timestamp_ns = r.message.timestamp_ns;
          e.data.assign(text_of(r.message.payload));
          break;
        case ReadStatus::gap:
          e.kind = Kind::gap;
          e.seq = r.gap.first;
          e.count = r.gap.missed;
          break;
        case ReadStatus::snapshot:
          e.kind = Kind::snapshot;
          e.seq = r.snapshot.as_of;
          e.data.assign(text_of(r.snapshot.data));
          break;
        case ReadStatus::empty: continue;
      }
      push(idx);
      idx = kNoSlot;
    }
  }

  Reader& reader_;
  Channel& ch_;
  const TailArgs& args_;
  GapPolicy on_gap_;
  bool producer_alive_ = false;
  bool replaced_ = false;
  std::chrono::steady_clock::time_point next_check_{};
};

// The main thread's side: formats events and writes them to stdout (stderr for notices,
// and for gaps in text and hex formats).
class Writer {
 public:
  Writer(std::string ring, Format format) : ring_(std::move(ring)), format_(format) {}

  // False once standard output is gone (a closed pipe) or a stop interrupted a write.
  bool ok() const { return ok_; }
  [[nodiscard]] std::uint64_t messages() const { return messages_; }

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
      } else {
        ok_ = false;  // EPIPE: the consumer went away; EINTR on stop: don't wait for a stuck one
      }
    }
    out_.clear();
  }

 private:
  void err(const std::string& text) {
    flush();  // keep stdout and stderr in order on a terminal
    std::fprintf(stderr, "shmcast tail: %s\n", one_line(text).c_str());
  }

  void message(const Event& e) {
    ++messages_;
    switch (format_) {
      case Format::text:
        out_ += e.data;
        out_ += '\n';
        break;
      case Format::json:
        out_ += dump_with_bytes(Json{{"seq", e.seq}, {"type", e.type}, {"ts_ns", e.timestamp_ns}, {"len", e.data.size()}},
                                "data", e.data);
        out_ += '\n';
        break;
      case Format::hex:
        out_ += "seq=" + std::to_string(e.seq) + " type=" + std::to_string(e.type) +
                " ts_ns=" + std::to_string(e.timestamp_ns) + " len=" + std::to_string(e.data.size()) + "\n";
        append_hex_dump(out_, e.data);
        break;
    }
  }

  void gap(const Event& e) {
    if (format_ == Format::json) {
      out_ += dump(Json{{"gap", {{"first", e.seq}, {"missed", e.count}}}});
      out_ += '\n';
      return;
    }
    err("ring '" + ring_ + "': gap: missed " + std::to_string(e.count) + " messages from sequence " +
        std::to_string(e.seq) + " (this reader was lapped)");
  }

  void snapshot(const Event& e) {
    switch (format_) {
      case Format::json:
        // {"snapshot":{"as_of":N,"len":N,"data":"..."}}: the bytes field is the inner object's.
        out_ += "{\"snapshot\":" +
                dump_with_bytes(Json{{"as_of", e.seq}, {"len", e.data.size()}}, "data", e.data) + "}\n";
        break;
      case Format::text:
        err("ring '" + ring_ + "': snapshot as of sequence " + std::to_string(e.seq) + " (" +
            std::to_string(e.data.size()) + " bytes) follows");
        out_ += e.data;
        out_ += '\n';
        break;
      case Format::hex:
        out_ += "snapshot as_of=" + std::to_string(e.seq) + " len=" + std::to_string(e.data.size()) + "\n";
        append_hex_dump(out_, e.data);
        break;
    }
  }

  std::string ring_;
  Format format_;
  std::string out_;
  std::uint64_t messages_ = 0;
  bool ok_ = true;
};

ReaderOptions reader_options(const TailArgs& a) {
  ReaderOptions o;
  const std::string from = a.from.value_or(a.no_follow ? "oldest" : "latest");
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
      throw CLI::ValidationError("--from '" + from + "' must be oldest, latest, snapshot or a sequence number");
    o.start = StartAt::sequence;
    o.start_seq = seq;
  }
  if (a.on_gap == "oldest") o.on_gap = GapPolicy::oldest;
  else if (a.on_gap == "latest") o.on_gap = GapPolicy::latest;
  else o.on_gap = GapPolicy::snapshot;
  o.wait = a.spin ? WaitStrategy::spin : WaitStrategy::block;
  o.label = a.label;
  return o;
}

void run_tail(const TailArgs& a) {
  const Format format = a.format == "json" ? Format::json : a.format == "hex" ? Format::hex : Format::text;
  if (a.label.size() > kMaxLabelBytes)
    throw CLI::ValidationError("--label is longer than " + std::to_string(kMaxLabelBytes) + " bytes");
  if (a.queue && *a.queue < 2) throw CLI::ValidationError("--queue must be at least 2");
  const ReaderOptions options = reader_options(a);
  install_stop_handlers();

  Reader reader(a.name, options);
  if (!reader.registered() && !reader.registration_error().empty())
    std::fprintf(stderr, "shmcast tail: ring '%s': reading unregistered (`shmcast stat` will not list this reader): %s\n",
                 a.name.c_str(), one_line(reader.registration_error()).c_str());

  // Enough buffers to absorb bursts, bounded in memory for large slots.
  const std::uint64_t by_memory = (64ull << 20) / reader.geometry().slot_size;
  const auto depth = a.queue.value_or(static_cast<std::uint32_t>(std::clamp<std::uint64_t>(by_memory, 16, 1024)));
  Channel channel(depth);
  ReaderThread ring_reader(reader, channel, a, options.on_gap);
  std::thread thread([&] { ring_reader.run(); });

  Writer writer(a.name, format);
  const std::uint64_t limit = a.count.value_or(UINT64_MAX);
  auto idle_sleep = a.spin ? std::chrono::microseconds(50) : std::chrono::microseconds(1000);
  while (writer.ok() && writer.messages() < limit) {
    std::uint32_t idx = 0;
    if (channel.filled.pop(idx)) {
      writer.put(channel.events[idx]);
      channel.free.push(idx);
      continue;
    }
    writer.flush();
    if (channel.done.load(std::memory_order_acquire)) {
      if (channel.filled.read_available() == 0) break;
      continue;
    }
    if (stop_requested()) channel.stop.store(true, std::memory_order_relaxed);  // drain what is queued, then end
    std::this_thread::sleep_for(idle_sleep);
  }
  writer.flush();
  channel.stop.store(true, std::memory_order_relaxed);
  thread.join();
  if (channel.replaced_error.load(std::memory_order_relaxed))
    throw Error(Errc::replaced, a.name, "was removed or recreated");
}

}  // namespace

void add_tail_command(CLI::App& app) {
  auto args = std::make_shared<TailArgs>();
  CLI::App* sub = app.add_subcommand("tail", "Print a ring's messages as they arrive, like `tail -f`");
  sub->footer(
      "Gaps (messages this reader missed because the "
      "producer lapped it) are reported with their first sequence and exact count: on standard error in text and "
      "hex formats, in the stream in json format. Says when the producer goes away or comes back, and reattaches "
      "when the ring is recreated.\n"
      "JSON format, one object per line:\n"
      "  message  {\"seq\":N,\"type\":T,\"ts_ns\":N,\"len\":N,\"data\":\"...\"}\n"
      "  gap      {\"gap\":{\"first\":N,\"missed\":K}}\n"
      "  snapshot {\"snapshot\":{\"as_of\":N,\"len\":N,\"data\":\"...\"}}\n"
      "`data` is the payload as a JSON string: valid UTF-8 is kept, '\"', '\\' and control characters are "
      "escaped, and every byte that is not valid UTF-8 is written as \\u00XX (XX = the byte's value), so "
      "\\u0080-\\u00ff escapes stand for raw bytes.");
  sub->add_option("name", args->name, "Ring name")->required();
  sub->add_option("--from", args->from,
                  "Where to start: oldest (the oldest message held), latest (only new ones), snapshot (the newest "
                  "snapshot, then what follows it) or a sequence number SEQ. Default: latest, or oldest with --no-follow");
  sub->add_option("--on-gap", args->on_gap,
                  "After a gap continue at: oldest (replay as much as is held), latest (skip to new messages) or "
                  "snapshot (the newest snapshot, then what follows it)")
      ->check(CLI::IsMember({"oldest", "latest", "snapshot"}))
      ->capture_default_str();
  sub->add_option("-n,--count", args->count, "Exit after printing N messages");
  sub->add_option("--format", args->format, "Output format: text (payload as is, one per line), json or hex")
      ->check(CLI::IsMember({"text", "json", "hex"}))
      ->capture_default_str();
  sub->add_option("--type", args->type, "Print only messages of this type tag");
  sub->add_flag("--no-follow", args->no_follow, "Print what the ring holds now and exit");
  sub->add_option("--label", args->label,
                  "Label shown for this reader by `shmcast stat` (at most " + std::to_string(kMaxLabelBytes) + " bytes)")
      ->capture_default_str();
  sub->add_flag("--spin", args->spin, "Busy-poll for the lowest latency (burns a core); default: block on a futex");
  sub->add_flag("--no-reattach", args->no_reattach, "Exit with an error if the ring is removed or recreated");
  sub->add_option("--queue", args->queue,
                  "Messages buffered between reading the ring and writing the output (default: up to 1024); when "
                  "the output falls this far behind, the reader lets the ring lap it and reports the gap");
  sub->callback([args] { run_tail(*args); });
}

}  // namespace shmcast::cli
