#include "futex.hpp"

#include <cerrno>
#include <climits>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace shmcast::detail {

bool futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected, const timespec* timeout) noexcept {
  long r = ::syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(word), FUTEX_WAIT, expected, timeout, nullptr, 0);
  return !(r == -1 && errno == ETIMEDOUT);
}

void futex_wake_all(std::atomic<std::uint32_t>* word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

bool register_for_heavy_fence() noexcept {
  long supported = ::syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (supported < 0 || (supported & MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0) return false;
  return ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
}

void heavy_fence(bool producer_full_fence) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!producer_full_fence) ::syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
}

}  // namespace shmcast::detail
