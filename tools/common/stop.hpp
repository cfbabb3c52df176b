// Cooperative shutdown for long-running subcommands (tail, publish --rate, stat --watch,
// metrics --listen, bridge): SIGINT/SIGTERM set a flag that their loops poll.
#pragma once

#include <atomic>
#include <csignal>

namespace shmcast::cli {

inline std::atomic<bool>& stop_flag() noexcept {
  static std::atomic<bool> flag{false};
  return flag;
}

inline bool stop_requested() noexcept { return stop_flag().load(std::memory_order_relaxed); }

inline void install_stop_handlers() noexcept {
  struct sigaction sa {};
  sa.sa_handler = [](int) { stop_flag().store(true, std::memory_order_relaxed); };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace shmcast::cli
