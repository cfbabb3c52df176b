// Cooperative shutdown for long-running subcommands (tail, publish --rate, stat --watch,
// metrics --listen, bridge) and shmcast-demo: SIGINT/SIGTERM set a flag that their loops
// poll, holding the signal's number.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

namespace shmcast::cli {

inline std::atomic<int>& stop_flag() noexcept {
  static std::atomic<int> flag{0};
  return flag;
}

inline bool stop_requested() noexcept { return stop_flag().load(std::memory_order_relaxed) != 0; }
// The signal that asked for the stop; 0 if none did.
inline int stop_signal() noexcept { return stop_flag().load(std::memory_order_relaxed); }

// Sleeps until `when`, looking at the stop flag every 50 ms; false if a stop was requested.
inline bool sleep_until_unless_stopped(std::chrono::steady_clock::time_point when) {
  while (!stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= when) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(when - now, std::chrono::milliseconds(50)));
  }
  return false;
}

inline void install_stop_handlers() noexcept {
  struct sigaction sa {};
  sa.sa_handler = [](int sig) { stop_flag().store(sig, std::memory_order_relaxed); };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace shmcast::cli
