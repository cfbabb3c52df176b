#include "fork_generation.hpp"

#include <atomic>
#include <pthread.h>

namespace shmcast::detail {

namespace {

std::atomic<std::uint64_t> g_generation{0};

// Runs in the child only, right after fork(), in its one thread: no lock is taken.
void count_fork_in_child() noexcept { g_generation.fetch_add(1, std::memory_order_relaxed); }

// When the library is loaded, before any object that asks for the generation exists.
[[maybe_unused]] const int g_registered = ::pthread_atfork(nullptr, nullptr, &count_fork_in_child);

}  // namespace

std::uint64_t fork_generation() noexcept { return g_generation.load(std::memory_order_relaxed); }

}  // namespace shmcast::detail
