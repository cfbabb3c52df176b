// Opening, creating and mapping the shared-memory objects of a ring, and turning system
// failures into shmcast::Error. Opening a ring validates its header (geometry.hpp)
// before anything trusts a byte of it.
#pragma once

#include "layout.hpp"

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

// A mapped shared-memory object. Movable; unmaps and closes on destruction.
struct Segment {
  boost::interprocess::shared_memory_object object;
  boost::interprocess::mapped_region region;

  [[nodiscard]] std::byte* base() const noexcept { return static_cast<std::byte*>(region.get_address()); }
  [[nodiscard]] std::size_t size() const noexcept { return region.get_size(); }
  [[nodiscard]] int fd() const noexcept { return object.get_mapping_handle().handle; }
};

// Which object a mapping is: a name may later refer to another (removed, recreated).
struct ObjectIdentity {
  dev_t device = 0;
  ino_t inode = 0;
};
[[nodiscard]] ObjectIdentity identity_of(const Segment& segment) noexcept;
// The ring `name` no longer refers to the object `identity` (removed or recreated).
[[nodiscard]] bool ring_replaced(std::string_view name, const ObjectIdentity& identity) noexcept;

struct OpenedRing {
  Segment segment;
  RingHeader header{};  // the validated copy
  Geometry geometry;
};

// Opens and validates an existing ring. A ring still being created (magic not yet
// stored) is retried for `timeout`, then refused: not_ready if a process holds its
// producer lock (it is being created), abandoned if none does. A missing ring is retried
// too when wait_for_ring.
OpenedRing open_ring(std::string_view name, bool writable, std::chrono::milliseconds timeout,
                     bool wait_for_ring = false);

// Creates the object exclusively with exactly the permission bits `mode` (the umask does
// not narrow them), sized and with its pages committed, and maps it read-write. Throws
// already_exists, permission_denied, no_space about `ring`. With lock_as_producer, takes
// the producer lock (liveness.hpp) before anything else, so that the object is never seen
// unfinished and unlocked while its creator lives.
Segment create_object(const std::string& object_name, std::uint64_t size, unsigned mode, std::string_view ring,
                      bool lock_as_producer = false);
// Opens an existing object without mapping it (for its lock); false if it cannot.
bool open_object(Segment& segment, const std::string& object_name, bool writable) noexcept;
// Maps an existing object of at least `size` bytes; false with the reason if it cannot.
bool map_object(Segment& segment, const std::string& object_name, std::uint64_t size, bool writable,
                std::string& why);
// Unlinks an object by name, best effort (cleaning up after a failed creation).
void discard_object(const std::string& object_name) noexcept;
// Unlinks an object by name; false if there was none. Throws about `ring`
// (permission_denied, system) if it exists but cannot be removed.
bool remove_object(std::string_view ring, const std::string& object_name);

// Fills the page tables of a mapping now, instead of taking one fault per 4 KiB page on
// the first lap. For producers and readers, after validation; not for inspection. Best
// effort: kernels before 5.14 refuse the advice.
void populate(const Segment& segment, bool writable) noexcept;

// Translates an errno into a shmcast::Error about `ring` (not_found, already_exists,
// permission_denied, no_space, or system), saying what was being done.
[[noreturn]] void throw_system(std::string_view ring, std::string_view doing, int native_errno);

}  // namespace shmcast::detail
