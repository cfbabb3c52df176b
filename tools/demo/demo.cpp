// shmcast-demo: a producer and three reader processes on one ring, live.
//
// The producer keeps a small key-value table (16 sensors) and publishes its changes in
// messages of mixed sizes, which the ring packs back to back (layout version 3): mostly
// ticks of one change (16 bytes), and every 64th message a batch of 4 to 255 changes (64
// bytes to 4 KiB). A snapshot of the whole table follows every 256 messages. Three
// readers follow it:
//   fast      reads everything as it comes (blocking wait: sleeps when idle)
//   slow      stalls 2 ms every 200 messages, is lapped again and again, and reports
//             each gap (first missed sequence, exact count) and resumes at the oldest held
//   rebuild   stalls like `slow` but with the snapshot gap policy: when lapped it takes
//             the newest snapshot and continues after it, so its table ends up equal to
//             the producer's, byte for byte
// While it runs, the parent prints what an operator would see (`shmcast stat`); at the
// end, each reader's delivered/gaps/missed, which always add up to the span it covered.
#include "common/output.hpp"
#include "common/stop.hpp"

#include <shmcast/shmcast.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>
#include <random>
#include <span>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Table = std::array<std::int64_t, 16>;

struct Change {
  std::uint32_t key;
  std::uint32_t pad;
  std::int64_t value;
};

// Message types: a tick carries one Change, a batch several, back to back.
constexpr std::uint32_t kTick = 1;
constexpr std::uint32_t kBatch = 2;
constexpr std::size_t kMaxBatch = 255;  // changes: 4080 bytes, under the ring's max_message
constexpr std::uint64_t kRingBytes = 256 * 1024;
constexpr std::uint32_t kMaxMessage = 4096;

// Applies every change a message carries (a tick's one, a batch's many) to `table`.
void apply(Table& table, std::span<const std::byte> payload) {
  for (std::size_t at = 0; at + sizeof(Change) <= payload.size(); at += sizeof(Change)) {
    Change c{};
    std::memcpy(&c, payload.data() + at, sizeof c);
    table[c.key % table.size()] = c.value;
  }
}

// Results shared between the demo's processes (an anonymous shared mapping made before fork).
struct ReaderResult {
  std::atomic<int> ready{0};
  std::uint64_t delivered = 0, gaps = 0, missed = 0, snapshots = 0, span = 0;
  std::uint64_t bytes = 0, batches = 0, largest = 0;  // payload bytes delivered; batch messages; the largest
  std::uint64_t first_gap_at = 0, first_gap_missed = 0, first_gap_resumed = 0;
  bool table_matches = false;
  bool done = false;
};
struct Shared {
  std::atomic<bool> producer_done{false};
  std::uint64_t final_head = 0;
  std::uint64_t published = 0;
  std::uint64_t published_bytes = 0;
  std::uint64_t batches = 0;
  Table final_table{};
  ReaderResult readers[3];
};

const char* kLabels[3] = {"fast", "slow", "rebuild"};

int run_reader(const std::string& ring, int which, Shared& shared) {
  shmcast::ReaderOptions options;
  // Every change from the ring's first sequence: the tables are rebuilt from an empty one,
  // so a loss before the first read must be a gap (an oldest start would be taken again).
  options.start = shmcast::StartAt::sequence;
  options.start_seq = 0;
  options.label = kLabels[which];
  options.on_gap = which == 2 ? shmcast::GapPolicy::snapshot : shmcast::GapPolicy::oldest;
  shmcast::Reader reader(ring, options);
  ReaderResult& out = shared.readers[which];
  out.ready = 1;
  Table table{};
  bool table_valid = true;  // `rebuild` starts from an empty table, as the producer did
  std::uint64_t since_stall = 0;
  for (;;) {
    // Finished only on an empty read once caught up: a gap is followed by its snapshot.
    const bool done = shared.producer_done.load(std::memory_order_acquire);
    shmcast::ReadResult e = reader.read(100ms);
    if (!e && done && reader.position() >= shared.final_head) break;
    switch (e.status) {
      case shmcast::ReadStatus::message: {
        apply(table, e.message.payload);
        out.bytes += e.message.payload.size();
        out.largest = std::max<std::uint64_t>(out.largest, e.message.payload.size());
        if (e.message.type == kBatch) ++out.batches;
        if (which != 0 && ++since_stall == 200) {
          since_stall = 0;
          std::this_thread::sleep_for(2ms);
        }
        break;
      }
      case shmcast::ReadStatus::gap:
        if (out.gaps == 0) {
          out.first_gap_at = e.gap.first;
          out.first_gap_missed = e.gap.missed;
          out.first_gap_resumed = reader.position();
        }
        ++out.gaps;
        table_valid = false;  // changes were lost: this reader's table is no longer the producer's
        break;
      case shmcast::ReadStatus::snapshot:
        std::memcpy(table.data(), e.snapshot.data.data(), std::min(sizeof table, e.snapshot.data.size()));
        table_valid = true;
        break;
      case shmcast::ReadStatus::empty: break;
    }
  }
  out.delivered = reader.delivered();
  out.gaps = reader.gaps();
  out.missed = reader.missed();
  out.snapshots = reader.snapshots();
  out.span = reader.position() - reader.start();
  out.table_matches = table_valid && table == shared.final_table;
  out.done = true;
  return 0;
}

int run_producer(const std::string& ring, Shared& shared, std::chrono::milliseconds duration) {
  shmcast::Producer producer = shmcast::Producer::open(ring);
  std::mt19937_64 rng(42);
  Table table{};
  const auto end = std::chrono::steady_clock::now() + duration;
  std::vector<Change> changes(kMaxBatch);
  std::uint64_t n = 0, bytes = 0, batches = 0;
  while (std::chrono::steady_clock::now() < end) {
    // About 200k messages a second: bursts of 200, then a millisecond's pause.
    for (int i = 0; i < 200; ++i, ++n) {
      const bool batch = n % 64 == 63;
      const std::size_t count = batch ? 4 + rng() % (kMaxBatch - 3) : 1;
      for (std::size_t k = 0; k < count; ++k) {
        Change& c = changes[k];
        c = Change{static_cast<std::uint32_t>(rng() % table.size()), 0, static_cast<std::int64_t>(rng() % 1'000'000)};
        table[c.key] = c.value;
      }
      const auto payload = std::as_bytes(std::span(changes.data(), count));
      producer.publish(payload, batch ? kBatch : kTick);
      bytes += payload.size();
      batches += batch ? 1 : 0;
      if (n % 256 == 255) producer.publish_snapshot(std::as_bytes(std::span(table)));
    }
    std::this_thread::sleep_for(1ms);
  }
  shared.final_table = table;
  shared.final_head = producer.head();
  shared.published = n;
  shared.published_bytes = bytes;
  shared.batches = batches;
  shared.producer_done.store(true, std::memory_order_release);
  return 0;
}

void print_live(shmcast::RingObserver& observer) {
  try {
    const shmcast::RingStatus st = observer.sample();
    std::printf("  head %-8" PRIu64, st.head);
    for (const char* label : kLabels)
      for (const shmcast::ReaderStatus& r : st.readers)
        if (r.label == label)
          std::printf(" | %s lag %" PRIu64 " gaps %" PRIu64 " missed %" PRIu64, label, r.lag, r.gaps, r.missed);
    std::printf("\n");
    std::fflush(stdout);
  } catch (const shmcast::Error&) {
  }
}

// "1 message", "2 messages"; "once", "twice", "3 times".
std::string counted(std::uint64_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}
std::string times(std::uint64_t n) { return n == 1 ? "once" : n == 2 ? "twice" : std::to_string(n) + " times"; }

constexpr const char* kUsage =
    "Usage: shmcast-demo [SECONDS]\n"
    "\n"
    "A producer and three reader processes (fast, slow, rebuild) on one temporary ring, live.\n"
    "SECONDS: how long the producer runs, a whole number from 1 to 3600 (default 4).\n"
    "Exit codes: 0 every reader's accounting added up, 1 it did not (or the demo failed), 2 usage error.\n";

// SECONDS from the command line; 0 after printing usage (--help), -1 on a usage error.
int parse_seconds(int argc, char** argv) {
  if (argc == 1) return 4;
  const std::string arg = argv[1];
  if (arg == "--help" || arg == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  int seconds = 0;
  const char* end = arg.data() + arg.size();
  auto [p, ec] = std::from_chars(arg.data(), end, seconds);
  if (argc > 2 || ec != std::errc() || p != end || seconds < 1 || seconds > 3600) {
    std::fprintf(stderr, "shmcast-demo: %s '%s': expected SECONDS, a whole number from 1 to 3600 (see `shmcast-demo --help`)\n",
                 argc > 2 ? "unexpected argument" : "bad SECONDS", argc > 2 ? argv[2] : argv[1]);
    return -1;
  }
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  using shmcast::cli::stop_requested;
  using shmcast::cli::stop_signal;
  shmcast::cli::guard_standard_descriptors();  // before the ring is opened (output.hpp)
  // Output that goes away (`| head`) does not end the demo early (SIGPIPE is ignored): it
  // runs to its end and removes its ring. Ctrl-C or a termination request removes it too
  // (below); the children inherit the handlers, so only the parent decides when they stop.
  shmcast::cli::install_stop_handlers();
  const int seconds = parse_seconds(argc, argv);
  if (seconds <= 0) return seconds == 0 ? 0 : 2;
  const auto duration = std::chrono::milliseconds(seconds * 1000);
  const std::string ring = "demo-" + std::to_string(::getpid());
  std::printf("shmcast demo: ring '%s', %llu KiB ring, messages up to %u bytes, 128-byte snapshot area\n", ring.c_str(),
              static_cast<unsigned long long>(kRingBytes / 1024), kMaxMessage);
  std::printf("producer: a 16-sensor table; its changes as messages of mixed sizes (~200k/s): ticks of one change "
              "(16 B) and every 64th a batch of 4-%zu changes (64 B-%zu B); a snapshot every 256 messages\n",
              kMaxBatch, kMaxBatch * sizeof(Change));
  std::printf("readers:  fast (keeps up), slow (stalls; gap policy oldest), rebuild (stalls; gap policy snapshot)\n\n");
  try {
    shmcast::Producer::create(ring, {.ring_bytes = kRingBytes, .max_message = kMaxMessage, .snapshot_capacity = sizeof(Table)});
  } catch (const shmcast::Error& e) {
    std::fprintf(stderr, "shmcast-demo: %s\n", e.what());
    return 1;
  }
  void* mem = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 1;
  auto* shared = new (mem) Shared;
  auto fork_run = [&](auto&& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int rc = 1;
      try {
        rc = body();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "shmcast-demo: %s\n", e.what());
      }
      std::_Exit(rc);
    }
    return pid;
  };
  pid_t children[4] = {-1, -1, -1, -1};
  int statuses[4] = {};
  bool ended[4] = {};
  // Whether child i has ended (its status kept for the end).
  const auto reaped = [&](int i) {
    if (!ended[i] && children[i] > 0 && ::waitpid(children[i], &statuses[i], WNOHANG) == children[i]) ended[i] = true;
    return ended[i];
  };
  // Stops everything early, and removes the ring: nothing is left in /dev/shm.
  const auto abandon = [&](const std::string& why, int code) {
    for (int i = 0; i < 4; ++i)
      if (children[i] > 0 && !ended[i]) ::kill(children[i], SIGKILL);
    for (int i = 0; i < 4; ++i)
      if (children[i] > 0 && !ended[i]) ::waitpid(children[i], &statuses[i], 0);
    shmcast::Producer::remove(ring);
    std::fprintf(stderr, "shmcast-demo: %s; ring '%s' removed\n", why.c_str(), ring.c_str());
    return code;
  };
  const auto stopped = [&] { return abandon("stopped by signal " + std::to_string(stop_signal()), 128 + stop_signal()); };
  for (int i = 0; i < 3; ++i) children[i] = fork_run([&, i] { return run_reader(ring, i, *shared); });
  for (int i = 0; i < 3; ++i) {
    while (shared->readers[i].ready.load() == 0) {
      if (stop_requested()) return stopped();
      if (reaped(i)) return abandon(std::string("reader ") + kLabels[i] + " ended before it was ready", 1);
      std::this_thread::sleep_for(1ms);
    }
  }
  children[3] = fork_run([&] { return run_producer(ring, *shared, duration); });

  std::printf("live (as `shmcast stat %s` would show it):\n", ring.c_str());
  shmcast::RingObserver observer(ring);  // maps the ring once, as `shmcast stat --watch` does
  while (!shared->producer_done.load()) {
    for (int slice = 0; slice < 10 && !shared->producer_done.load(); ++slice) {
      if (stop_requested()) return stopped();
      if (reaped(3) && !shared->producer_done.load()) return abandon("the producer ended early", 1);
      std::this_thread::sleep_for(50ms);
    }
    print_live(observer);
  }
  int failures = 0;
  for (int i = 0; i < 4; ++i) {
    if (children[i] <= 0) {  // fork failed
      ++failures;
      continue;
    }
    // A stop while the readers drain interrupts the wait (no SA_RESTART): it ends the run.
    while (!ended[i]) {
      if (::waitpid(children[i], &statuses[i], 0) == children[i]) {
        ended[i] = true;
      } else if (stop_requested()) {
        return stopped();
      } else if (errno != EINTR) {
        ended[i] = true;
        statuses[i] = -1;  // lost: counted as a failure below
      }
    }
    if (!WIFEXITED(statuses[i]) || WEXITSTATUS(statuses[i]) != 0) ++failures;
  }
  std::printf("\nproducer published %" PRIu64 " message%s (head %" PRIu64 "), %" PRIu64 " payload bytes, %" PRIu64
              " of them batches\n\n",
              shared->published, shared->published == 1 ? "" : "s", shared->final_head, shared->published_bytes,
              shared->batches);
  std::printf("%-8s %10s %6s %10s %9s %10s %8s %8s  %s\n", "reader", "delivered", "gaps", "missed", "snapshots", "span",
              "batches", "largest", "check");
  for (int i = 0; i < 3; ++i) {
    const ReaderResult& r = shared->readers[i];
    const bool exact = r.delivered + r.missed == r.span;
    if (!exact || !r.done) ++failures;
    std::printf("%-8s %10" PRIu64 " %6" PRIu64 " %10" PRIu64 " %9" PRIu64 " %10" PRIu64 " %8" PRIu64 " %6" PRIu64
                " B  delivered+missed==span: %s\n",
                kLabels[i], r.delivered, r.gaps, r.missed, r.snapshots, r.span, r.batches, r.largest,
                exact ? "yes" : "NO");
  }
  const ReaderResult& slow = shared->readers[1];
  if (slow.gaps != 0)
    std::printf("\nslow was lapped %s; first: gap at seq %" PRIu64 ", %s missed, resumed at seq %" PRIu64
                " (the oldest still safely held)\n",
                times(slow.gaps).c_str(), slow.first_gap_at, counted(slow.first_gap_missed, "message").c_str(),
                slow.first_gap_resumed);
  const ReaderResult& rebuild = shared->readers[2];
  std::printf("rebuild was lapped %s and recovered from %s; its table %s the producer's\n", times(rebuild.gaps).c_str(),
              counted(rebuild.snapshots, "snapshot").c_str(), rebuild.table_matches ? "equals" : "DIFFERS FROM");
  const ReaderResult& fast = shared->readers[0];
  if (fast.gaps == 0) {
    std::printf("fast kept up: every change, no gap; its table %s the producer's\n", fast.table_matches ? "equals" : "DIFFERS FROM");
    if (!fast.table_matches) ++failures;
  } else {
    // On a busy machine even `fast` can be descheduled for longer than the ring holds
    // (256 KiB: about 3000 of these messages): then it was lapped, and
    // said so, like `slow`.
    std::printf("fast was lapped %s (the machine was busy), each gap reported with its exact count\n",
                times(fast.gaps).c_str());
  }
  if (!rebuild.table_matches) ++failures;
  shmcast::Producer::remove(ring);
  ::munmap(mem, sizeof(Shared));
  return failures == 0 ? 0 : 1;
}
