// Naming, opening, creating, mapping and validating the shared-memory objects of a ring.
// Everything that trusts bytes from shared memory goes through validate_header() first.
#pragma once

#include "layout.hpp"

#include <shmcast/error.hpp>
#include <shmcast/types.hpp>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace shmcast::detail {

// Ring names: 1-200 of [A-Za-z0-9._-], not starting with '.', not ending in ".readers".
// Throws Errc::invalid_argument saying what is wrong.
void validate_name(std::string_view name);
std::string ring_object_name(std::string_view name);      // "shmcast.NAME" (Boost adds the '/')
std::string registry_object_name(std::string_view name);  // "shmcast.NAME.readers"
std::string object_path(std::string_view object_name);    // "/dev/shm/" + object name

// A mapped shared-memory object. Movable; unmaps and closes on destruction.
struct Segment {
  boost::interprocess::shared_memory_object object;
  boost::interprocess::mapped_region region;

  [[nodiscard]] std::byte* base() const noexcept { return static_cast<std::byte*>(region.get_address()); }
  [[nodiscard]] std::size_t size() const noexcept { return region.get_size(); }
  [[nodiscard]] int fd() const noexcept { return object.get_mapping_handle().handle; }
};

// Object size and geometry derived from a Geometry; throws Errc::invalid_argument.
void check_geometry(const Geometry& geometry, std::string_view ring);
std::uint64_t snapshot_stride(std::uint64_t snapshot_capacity) noexcept;
std::uint64_t ring_size(const Geometry& geometry) noexcept;

// Validates a header copy against the object's real size. Throws a distinct Errc for
// foreign, version_mismatch, corrupt and truncated objects. Returns the geometry.
Geometry validate_header(const RingHeader& header, std::uint64_t object_size, std::string_view name);

struct OpenedRing {
  Segment segment;
  RingHeader header;  // the validated copy
  Geometry geometry;
};
// Opens and validates an existing ring. A ring still being created (magic not yet
// stored) is retried for `timeout`; so is a missing one when wait_for_ring.
OpenedRing open_ring(std::string_view name, bool writable, std::chrono::milliseconds timeout,
                     bool wait_for_ring = false);

// Creates the object exclusively with `mode`, sized and with its pages committed, and
// maps it read-write. Throws already_exists, permission_denied, no_space.
Segment create_object(const std::string& object_name, std::uint64_t size, unsigned mode, std::string_view ring);

// Fills the page tables of a mapping now, instead of taking one fault per 4 KiB page on
// the first lap (about 29 us a page on the project's VMs: a 4 MiB ring's first lap cost
// 30 ms, in the producer and again in every reader). For producers and readers, after
// validation; not for inspection. Best effort: kernels before 5.14 refuse the advice.
void populate(const Segment& segment, bool writable) noexcept;

// Translates a Boost.Interprocess or errno failure into a shmcast::Error naming the ring.
[[noreturn]] void throw_system(std::string_view ring, std::string_view doing, int native_errno);

// The producer's exclusivity: an open-file-description write lock on byte 0 of the ring
// object. The kernel drops it when the last descriptor of that open file goes away,
// i.e. when the producer process dies; testing it (F_OFD_GETLK) takes nothing.
bool try_lock_producer(int fd) noexcept;
bool producer_lock_held(int fd) noexcept;

// Process identity that survives pid reuse: start time in clock ticks since boot
// (field 22 of /proc/PID/stat); 0 if the process does not exist.
std::uint64_t process_start_time(pid_t pid) noexcept;
// start_time 0 (not known yet): alive if the pid exists.
bool process_alive(pid_t pid, std::uint64_t start_time) noexcept;

std::uint64_t random_u64();
std::uint64_t realtime_ns() noexcept;

// Word-wise relaxed atomic access to shared memory (see slot_io.hpp for the copies).
inline std::uint64_t load_acquire(const std::uint64_t& word) noexcept {
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(word)).load(std::memory_order_acquire);
}

}  // namespace shmcast::detail
