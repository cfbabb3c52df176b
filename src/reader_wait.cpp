// How a Reader waits for the next event: spin, spin then yield, or block on the shared
// futex the producer wakes (the reader's half of the handshake in futex.hpp).
#include <shmcast/reader.hpp>

#include "clock_internal.hpp"
#include "futex.hpp"
#include "reader_state.hpp"

#include <algorithm>
#include <sched.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SHMCAST_PAUSE() _mm_pause()
#else
#define SHMCAST_PAUSE() std::atomic_signal_fence(std::memory_order_seq_cst)
#endif

namespace shmcast {

using namespace detail;

ReadResult Reader::read(std::chrono::nanoseconds timeout) noexcept {
  const auto deadline = deadline_after(timeout);
  constexpr int kSpinPolls = 256;
  // A blocking reader spins briefly before it sleeps, and yields the CPU every 32 polls of
  // that spin: readers sharing its CPU cannot run while it spins, and with messages coming
  // faster than the spin lasts it would never sleep (bench/README.md, "Blocking readers
  // sharing a CPU"). Alone on its CPU the yield returns at once.
  constexpr int kPollsPerYield = 32;
  for (std::uint64_t polls = 0;; ++polls) {
    if (ReadResult r = try_read()) return r;
    if (wait_ == WaitStrategy::block && polls >= kSpinPolls) return wait_block(deadline);
    const bool yield = wait_ == WaitStrategy::spin_yield ? polls >= kSpinPolls * 8
                                                         : wait_ == WaitStrategy::block && polls % kPollsPerYield == kPollsPerYield - 1;
    if (yield) ::sched_yield();
    else SHMCAST_PAUSE();
    if (polls % 256 == 255 && std::chrono::steady_clock::now() >= deadline) return {};
  }
}

// Reads here never stand back (ReaderOptions::stand_back_bytes): the re-check before a
// sleep must see every message there is, or the reader could sleep past one.
ReadResult Reader::wait_block(std::chrono::steady_clock::time_point deadline) noexcept {
  ReaderState& s = *state_;
  // No wait line to announce ourselves on: poll gently instead. A reader without a
  // registry entry still sleeps on the futex (unmarked: `stat` does not list it): the
  // producer clears `armed` when it wakes, so one that dies asleep costs one FUTEX_WAKE,
  // not one per publish.
  if (!s.registry) {
    for (;;) {
      if (ReadResult r = read_now()) return r;
      if (std::chrono::steady_clock::now() >= deadline) return {};
      timespec pause{0, 50'000};
      ::nanosleep(&pause, nullptr);
    }
  }
  WaitLine& wait_line = *s.registry->wait_line();
  for (;;) {
    // The reader's half of the sleep/wake handshake (futex.hpp).
    if (entry_ != nullptr) entry_->set_waiting();
    wait_line.arm();
    heavy_fence(reserve_->full_fence());
    const std::uint32_t word = line_->wake_word();
    ReadResult r = read_now();
    if (!r) {
      const auto now = std::chrono::steady_clock::now();
      if (now < deadline) {
        // Capped so that a wake lost to a failing membarrier costs at most this much.
        const auto slice = std::min<std::chrono::nanoseconds>(deadline - now, std::chrono::milliseconds(100));
        timespec ts{static_cast<time_t>(slice.count() / 1'000'000'000), static_cast<long>(slice.count() % 1'000'000'000)};
        futex_wait(line_->wake_word_address(), word, &ts);
      }
    }
    if (entry_ != nullptr) entry_->clear_waiting();
    if (r) return r;
    if (ReadResult again = read_now()) return again;
    if (std::chrono::steady_clock::now() >= deadline) {
      touch_registry();
      return {};
    }
  }
}

}  // namespace shmcast
