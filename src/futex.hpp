// Cross-process sleeping and waking, and the asymmetric fence that makes it cheap for
// the producer.
//
// The handshake (a Dekker pattern between producer P and a reader R about to sleep):
//   P: commit the record ; fence ; WaitLine::armed() -> if set: disarm(), bump the wake word, FUTEX_WAKE
//   R: WaitLine::arm() ; heavy_fence() ; load the wake word ; try_read() -> FUTEX_WAIT if nothing new
// (A registered reader also marks its entry waiting first; only `stat` reads that.)
// Either P sees the arming, or R sees the commit. P's fence (Producer::wake_if_armed) is a
// compiler barrier when P registered for membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED): R's
// membarrier then forces a full barrier on every CPU running P. Without membarrier, both
// are seq_cst fences, and the producer pays an mfence per publish (ReserveLine::full_fence
// tells readers so). docs/DESIGN.md, "Memory ordering" and "Waiting", places this among
// the other protocols.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

namespace shmcast::detail {

// The raw futex system call without FUTEX_PRIVATE_FLAG: std::atomic::wait uses private
// futexes, which cannot wake another process. FUTEX_WAIT works on a PROT_READ mapping.
// Returns false on timeout.
bool futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected, const timespec* timeout) noexcept;
void futex_wake_all(std::atomic<std::uint32_t>* word) noexcept;

// Producer side: registers this process for expedited global membarrier. False if the
// kernel does not offer it (the producer must then use full fences).
bool register_for_heavy_fence() noexcept;
// Reader side, before re-checking for data: a full barrier on every CPU running a
// registered process (falls back to a seq_cst fence when `producer_full_fence`).
void heavy_fence(bool producer_full_fence) noexcept;

}  // namespace shmcast::detail
