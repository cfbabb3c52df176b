// Whether the processes named in shared memory are alive. The producer's exclusivity is
// an open-file-description write lock on byte 0 of the ring object: the kernel drops it
// when the producer dies, so "is the producer alive" is a lock test, never a guess from a
// pid that may have been reused. Readers are identified by pid and process start time.
#pragma once

#include <cstdint>
#include <sys/types.h>

namespace shmcast::detail {

// Takes the producer lock on the ring object open as `fd`; false if another holds it.
bool try_lock_producer(int fd) noexcept;
// Tests the lock without taking it (F_OFD_GETLK).
bool producer_lock_held(int fd) noexcept;

// Process identity that survives pid reuse: start time in clock ticks since boot
// (field 22 of /proc/PID/stat); 0 if the process does not exist.
std::uint64_t process_start_time(pid_t pid) noexcept;
// start_time 0 (not known yet): alive if the pid exists. A zombie is not alive.
bool process_alive(pid_t pid, std::uint64_t start_time) noexcept;

}  // namespace shmcast::detail
