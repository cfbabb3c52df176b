#include "mapping.hpp"

#include "clock_internal.hpp"
#include "geometry.hpp"
#include "liveness.hpp"
#include "names.hpp"
#include "ring_view.hpp"

#include <shmcast/error.hpp>

#include <boost/interprocess/exceptions.hpp>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace bip = boost::interprocess;

namespace shmcast::detail {

namespace {

// Boost reports the errno it saw as the native error.
int native_errno(const bip::interprocess_exception& e) noexcept {
  const int native = e.get_native_error();
  if (native != 0) return native;
  switch (e.get_error_code()) {
    case bip::not_found_error: return ENOENT;
    case bip::already_exists_error: return EEXIST;
    case bip::security_error: return EACCES;
    case bip::out_of_space_error: return ENOSPC;
    default: return EIO;
  }
}

// Boost opens an object with shm_open, an open() that blocks on a FIFO until something
// opens its other end, and anyone may make one in /dev/shm under a ring's name (it hung
// `shmcast list` and every reader). So the name is looked at first, without blocking: why
// it is no shared-memory object (which is always a regular file), or empty if it is one
// or cannot be opened at all (missing, denied: the open that follows reports that).
std::string not_an_object(const std::string& object_name) {
  const std::string path = object_path(object_name);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  const bool stated = ::fstat(fd, &st) == 0;
  ::close(fd);
  if (!stated || S_ISREG(st.st_mode)) return {};
  const char* kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory" : "a special file";
  return path + " is " + kind + ", not a shared-memory object: something other than shmcast made it";
}

std::uint64_t object_size(const bip::shared_memory_object& object) {
  bip::offset_t size = 0;
  if (!object.get_size(size) || size < 0) return 0;
  return static_cast<std::uint64_t>(size);
}

}  // namespace

ObjectIdentity identity_of(const Segment& segment) noexcept {
  struct stat st {};
  if (::fstat(segment.fd(), &st) != 0) return {};
  return {st.st_dev, st.st_ino};
}

bool ring_replaced(std::string_view name, const ObjectIdentity& identity) noexcept {
  struct stat st {};
  if (::stat(object_path(ring_object_name(name)).c_str(), &st) != 0) return true;
  return st.st_ino != identity.inode || st.st_dev != identity.device;
}

void throw_system(std::string_view ring, std::string_view doing, int err) {
  const std::string what = std::string(doing) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: throw Error(Errc::not_found, ring, "does not exist");
    case EEXIST: throw Error(Errc::already_exists, ring, "already exists");
    case EACCES:
    case EPERM: throw Error(Errc::permission_denied, ring, what);
    case ENOSPC:
    case ENOMEM: throw Error(Errc::no_space, ring, what);
    default: throw Error(Errc::system, ring, what);
  }
}

OpenedRing open_ring(std::string_view name, bool writable, std::chrono::milliseconds timeout, bool wait_for_ring) {
  validate_name(name);
  const std::string object_name = ring_object_name(name);
  constexpr std::chrono::milliseconds kAbandonedAfter{100};
  const auto deadline = deadline_after(timeout);
  const bip::mode_t mode = writable ? bip::read_write : bip::read_only;
  // Since when the object has been unfinished with nobody holding its lock (kNever: it is
  // held, or not yet looked at). A sentinel, not an optional: GCC 12 warns, wrongly, that
  // an optional time_point may be read uninitialised.
  constexpr auto kNever = std::chrono::steady_clock::time_point::max();
  auto unlocked_since = kNever;
  for (;;) {
    const bool may_retry = std::chrono::steady_clock::now() < deadline;
    if (std::string why = not_an_object(object_name); !why.empty()) throw Error(Errc::foreign, name, std::move(why));
    bip::shared_memory_object object;
    try {
      object = bip::shared_memory_object(bip::open_only, object_name.c_str(), mode);
    } catch (const bip::interprocess_exception& e) {
      const int err = native_errno(e);
      if (err == ENOENT && wait_for_ring && may_retry) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      throw_system(name, writable ? "cannot open for writing" : "cannot open", err);
    }
    const std::uint64_t size = object_size(object);
    // A creator sizes the object whole (posix_fallocate) before it writes the magic, so an
    // object shorter than the ring's prefix that begins with the magic was cut short.
    if (size >= sizeof(std::uint64_t) && size < kRingHeaderSize) {
      std::uint64_t magic = 0;
      if (::pread(object.get_mapping_handle().handle, &magic, sizeof magic, offsetof(RingHeader, magic)) ==
              static_cast<ssize_t>(sizeof magic) &&
          magic == kRingMagic)
        throw Error(Errc::truncated, name, "is truncated (" + std::to_string(size) + " bytes)");
    }
    // Created but not yet sized: a creator is mid-way. Magic is checked once mapped.
    bool ready = size >= sizeof(RingHeader);
    OpenedRing ring;
    if (ready) {
      try {
        ring.segment.region = bip::mapped_region(object, mode, 0, static_cast<std::size_t>(size));
      } catch (const bip::interprocess_exception& e) {
        throw_system(name, "cannot map", native_errno(e));
      }
      const auto* header = reinterpret_cast<const RingHeader*>(ring.segment.base());
      // Acquire pairs with the creator's publish_magic(): every other header field
      // (written before it) is visible once the magic is.
      const std::uint64_t magic = header->load_magic();
      ready = magic != 0;
      if (ready) {
        std::memcpy(&ring.header, header, sizeof(RingHeader));
        ring.header.magic = magic;
        ring.geometry = validate_header(ring.header, size, name);
        // The one producer-line value with a bound of its own: a head past the last
        // sequence's successor was never written by a producer.
        if (const std::uint64_t head = RingView(ring.segment.base(), ring.geometry).producer().head(); head > kMaxSequence + 1)
          throw Error(Errc::corrupt, name, "is damaged: its head (" + std::to_string(head) + ") is past the last sequence");
        ring.segment.object.swap(object);
        return ring;
      }
    }
    // A creator holds the producer lock from the moment it makes the object
    // (create_object: microseconds after shm_open), so an unfinished object nobody has held
    // the lock of for kAbandonedAfter will stay so: no need to wait out the timeout.
    const auto now = std::chrono::steady_clock::now();
    if (producer_lock_held(object.get_mapping_handle().handle)) {
      unlocked_since = kNever;
    } else if (unlocked_since == kNever) {
      unlocked_since = now;
    }
    if (unlocked_since != kNever && (!may_retry || now - unlocked_since >= kAbandonedAfter))
      throw Error(Errc::abandoned, name,
                    size == 0 ? "is an empty object that no process is creating: its creator died before sizing it, or "
                                "something else made it"
                              : "is not initialised and no process is creating it: its creator died while creating it, "
                                "or something else made it");
    if (!may_retry) throw Error(Errc::not_ready, name, "is not initialised yet: a live process is still creating it");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Segment create_object(const std::string& object_name, std::uint64_t size, unsigned mode, std::string_view ring,
                      bool lock_as_producer) {
  Segment segment;
  bip::permissions perm(static_cast<int>(mode & 0777));
  try {
    segment.object = bip::shared_memory_object(bip::create_only, object_name.c_str(), bip::read_write, perm);
  } catch (const bip::interprocess_exception& e) {
    throw_system(ring, "cannot create " + object_path(object_name), native_errno(e));
  }
  auto fail = [&](int err, std::string_view doing) {
    discard_object(object_name);
    throw_system(ring, doing, err);
  };
  // First of all, before sizing (which may take long for a large ring): from here on the
  // object is "being created", not "abandoned", for anyone who finds it unfinished.
  if (lock_as_producer && !try_lock_producer(segment.fd())) fail(EAGAIN, "cannot lock the object just created");
  // shm_open applied the umask to `mode`; the caller asked for exactly these bits.
  if (::fchmod(segment.fd(), static_cast<mode_t>(mode & 0777)) != 0) fail(errno, "cannot set the object's mode");
  // ftruncate alone leaves a sparse object that raises SIGBUS on first touch when
  // /dev/shm is full; committing the pages now turns that into an error here.
  if (::ftruncate(segment.fd(), static_cast<off_t>(size)) != 0) fail(errno, "cannot size the object");
  if (const int err = ::posix_fallocate(segment.fd(), 0, static_cast<off_t>(size)); err != 0)
    fail(err, "cannot reserve " + std::to_string(size) + " bytes in /dev/shm");
  try {
    segment.region = bip::mapped_region(segment.object, bip::read_write, 0, static_cast<std::size_t>(size));
  } catch (const bip::interprocess_exception& e) {
    fail(native_errno(e), "cannot map");
  }
  return segment;
}

bool open_object(Segment& segment, const std::string& object_name, bool writable) noexcept {
  try {
    if (!not_an_object(object_name).empty()) return false;
    segment.object = bip::shared_memory_object(bip::open_only, object_name.c_str(), writable ? bip::read_write : bip::read_only);
    return true;
  } catch (...) {
    return false;
  }
}

bool map_object(Segment& segment, const std::string& object_name, std::uint64_t size, bool writable, std::string& why) {
  const bip::mode_t mode = writable ? bip::read_write : bip::read_only;
  if (why = not_an_object(object_name); !why.empty()) return false;
  try {
    segment.object = bip::shared_memory_object(bip::open_only, object_name.c_str(), mode);
    if (object_size(segment.object) < size) {
      why = object_path(object_name) + " is truncated";
      return false;
    }
    segment.region = bip::mapped_region(segment.object, mode, 0, static_cast<std::size_t>(size));
  } catch (const bip::interprocess_exception& e) {
    const int err = native_errno(e);
    why = "cannot open " + object_path(object_name) + ": " + std::strerror(err);
    return false;
  }
  return true;
}

void discard_object(const std::string& object_name) noexcept { bip::shared_memory_object::remove(object_name.c_str()); }

bool remove_object(std::string_view ring, const std::string& object_name) {
  std::string posix_name("/");
  posix_name += object_name;
  if (::shm_unlink(posix_name.c_str()) == 0) return true;
  const int err = errno;
  if (err == ENOENT) return false;
  throw_system(ring, "cannot remove " + object_path(object_name), err);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void populate(const Segment& segment, bool writable) noexcept {
  ::madvise(segment.base(), segment.size(), writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

}  // namespace shmcast::detail
