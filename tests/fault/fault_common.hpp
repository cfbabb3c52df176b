// Helpers for the fault tests: sanitizer-aware scaling, result blocks shared with forked
// children, child watchdogs, and the checked reader loop that torture and crash-loop
// readers run. Catch2 assertions stay in the parent; children report through a
// MAP_SHARED block and their exit code.
#pragma once

#include "test_support.hpp"

#include <shmcast/shmcast.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <new>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace shmcast::fault {

// Sanitized builds run 5-15x slower: scale iteration counts down and time limits up.
using test::kSanitized;
inline constexpr int kSlow = kSanitized ? 8 : 1;

using Clock = std::chrono::steady_clock;

// The largest message the checked producer and readers use (rings may allow more).
inline constexpr std::size_t kMaxTestMessage = std::size_t{1} << 16;
using namespace std::chrono_literals;

// CLOCK_MONOTONIC nanoseconds: comparable between processes on one host.
inline std::uint64_t mono_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

inline void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
  while (::nanosleep(&ts, &ts) != 0) {
  }
}

// A T in anonymous shared memory, visible to children forked after this call.
template <class T>
class SharedBlock {
 public:
  SharedBlock() {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap of a shared result block failed");
    ptr_ = new (p) T{};
  }
  ~SharedBlock() {
    ptr_->~T();
    ::munmap(ptr_, sizeof(T));
  }
  SharedBlock(const SharedBlock&) = delete;
  SharedBlock& operator=(const SharedBlock&) = delete;
  T* operator->() const noexcept { return ptr_; }
  T& operator*() const noexcept { return *ptr_; }
  T* get() const noexcept { return ptr_; }

 private:
  T* ptr_ = nullptr;
};

// Waits for `pid` up to `limit`; on overrun kills it (SIGKILL) and returns -1.
inline int wait_exit_for(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return 255;
    }
    if (r < 0) return -2;
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
      test::wait_exit(pid);
      return -1;
    }
    sleep_ms(2);
  }
}

// Kills (SIGCONT then SIGKILL) and reaps every registered child still unreaped when the
// scope ends, so that a failed REQUIRE leaves no process behind.
class ChildGuard {
 public:
  ChildGuard() = default;
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    for (pid_t pid : pids_) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) != 0) continue;  // reaped already, or gone
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
  }
  pid_t add(pid_t pid) {
    pids_.push_back(pid);
    return pid;
  }

 private:
  std::vector<pid_t> pids_;
};

// Polls `pred` until true or `limit` passes; returns the last value.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    sleep_ms(1);
  }
}

// Whether process `pid` is blocked in the futex system call now (/proc/PID/syscall
// names the call a sleeping task is in). For readers that leave no other trace of it.
inline bool in_futex_call(pid_t pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/syscall").c_str(), "r");
  if (f == nullptr) return false;
  long nr = -1;
  const bool read = std::fscanf(f, "%ld", &nr) == 1;
  std::fclose(f);
  return read && nr == SYS_futex;
}

// xorshift64*: cheap, deterministic per seed, fine in any process.
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  std::uint64_t next() noexcept {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }
};

// What a checked reader process saw, filled in by the reader, read by the parent.
struct ReaderReport {
  std::atomic<int> ready{0};
  std::atomic<int> finished{0};
  std::atomic<std::uint64_t> start{0};       // position when attached
  std::atomic<std::uint64_t> end{0};         // position when it stopped
  std::atomic<std::uint64_t> delivered{0};   // messages, counted by the test
  std::atomic<std::uint64_t> missed{0};      // sum of gap.missed, counted by the test
  std::atomic<std::uint64_t> gaps{0};
  std::atomic<std::uint64_t> corrupt{0};     // payloads failing verify_sized (size, bytes or type not the sequence's)
  std::atomic<std::uint64_t> disorder{0};    // seq not strictly increasing / not where expected
  std::atomic<std::uint64_t> unexpected{0};  // snapshots or other events this test never asks for
  std::atomic<std::uint64_t> lib_delivered{0};
  std::atomic<std::uint64_t> lib_missed{0};
  std::atomic<std::uint64_t> lib_gaps{0};
  std::atomic<std::uint64_t> events{0};      // progress, for the parent's watchdog
};

// The checked loop: every message must be the next expected sequence, strictly above the
// previous one, with the size, bytes and type its sequence gives (test_support.hpp,
// fill_sized); every gap must start where the reader was. Runs until *stop is set, then
// drains (stop flag first, then one more probe).
inline int run_checked_reader(const std::string& name, ReaderReport* rep, const std::atomic<int>* stop,
                              WaitStrategy wait, StartAt start, const std::string& label) {
  ReaderOptions options;
  options.start = start;
  options.wait = wait;
  options.label = label;
  options.attach_timeout = 5000ms;
  Reader r(name, options);
  const std::size_t max = std::min<std::size_t>(r.geometry().message_limit(), kMaxTestMessage);
  std::uint64_t expect = r.position();
  rep->start.store(expect);
  rep->ready.store(1);
  std::uint64_t delivered = 0, missed = 0, gaps = 0, corrupt = 0, disorder = 0, unexpected = 0;
  std::uint64_t last_seq = 0;
  bool have_last = false;
  std::uint64_t events = 0;
  auto publish = [&] {
    rep->delivered.store(delivered, std::memory_order_relaxed);
    rep->missed.store(missed, std::memory_order_relaxed);
    rep->gaps.store(gaps, std::memory_order_relaxed);
    rep->corrupt.store(corrupt, std::memory_order_relaxed);
    rep->disorder.store(disorder, std::memory_order_relaxed);
    rep->unexpected.store(unexpected, std::memory_order_relaxed);
    rep->events.store(events, std::memory_order_relaxed);
  };
  for (;;) {
    const bool stopping = stop->load(std::memory_order_acquire) != 0;
    const ReadResult e = r.read(20ms);
    if (!e) {
      if (stopping) break;
      continue;
    }
    if (events++ == 0) {
      // A latest/oldest start lost before the first event is taken again (StartAt): the
      // span begins at the start the library settled on.
      expect = r.start();
      rep->start.store(expect);
    }
    switch (e.status) {
      case ReadStatus::message:
        if (e.message.seq != expect) ++disorder;
        if (have_last && e.message.seq <= last_seq) ++disorder;
        if (!test::verify_sized(e.message.payload, e.message.seq, max) || e.message.type != test::sized_type(e.message.seq))
          ++corrupt;
        last_seq = e.message.seq;
        have_last = true;
        ++delivered;
        expect = e.message.seq + 1;
        break;
      case ReadStatus::gap:
        if (e.gap.first != expect || e.gap.missed == 0) ++disorder;
        missed += e.gap.missed;
        ++gaps;
        expect = e.gap.first + e.gap.missed;
        break;
      default: ++unexpected; break;
    }
    if (r.position() != expect) ++disorder;
    if ((events & 1023) == 0) publish();
  }
  publish();
  rep->lib_delivered.store(r.delivered());
  rep->lib_missed.store(r.missed());
  rep->lib_gaps.store(r.gaps());
  rep->end.store(r.position());
  rep->finished.store(1);
  return 0;
}

// A producer loop at full speed: message seq has the size (0 to max_message, at most
// kMaxTestMessage), bytes and type fill_sized gives it, so that a reader checks it whoever
// published it. Publishes until *stop is set or `limit` messages; returns how many it published.
inline std::uint64_t run_random_producer(Producer& p, Rng& rng, const std::atomic<int>* stop, std::uint64_t limit,
                                         std::atomic<std::uint64_t>* published = nullptr) {
  (void)rng;
  alignas(8) static std::byte buf[kMaxTestMessage];
  const std::size_t max = std::min<std::size_t>(p.max_message(), kMaxTestMessage);
  std::uint64_t n = 0;
  while (n < limit) {
    if ((n & 255) == 0) {
      if (stop != nullptr && stop->load(std::memory_order_relaxed) != 0) break;
      if (published != nullptr) published->store(n, std::memory_order_relaxed);
    }
    const std::uint64_t seq = p.head();
    const std::size_t size = test::fill_sized(buf, seq, max);
    p.publish(std::span<const std::byte>(buf, size), test::sized_type(seq));
    ++n;
  }
  if (published != nullptr) published->store(n, std::memory_order_relaxed);
  return n;
}

// Creates the ring and lets go of it at once, so that no later child inherits the
// producer's lock through fork.
inline void create_ring(const std::string& name, const Geometry& g) {
  Producer p = Producer::create(name, g);
  (void)p;
}

}  // namespace shmcast::fault
