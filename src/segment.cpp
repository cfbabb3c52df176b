#include "segment.hpp"

#include <boost/interprocess/exceptions.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <thread>
#include <time.h>
#include <unistd.h>

namespace bip = boost::interprocess;

namespace shmcast::detail {

namespace {

std::string quoted(std::string_view name) { return "ring '" + std::string(name) + "'"; }

bool is_power_of_two(std::uint64_t v) noexcept { return v != 0 && (v & (v - 1)) == 0; }

// Boost reports the errno it saw as the native error.
int native_errno(const bip::interprocess_exception& e) noexcept {
  int native = e.get_native_error();
  if (native != 0) return native;
  switch (e.get_error_code()) {
    case bip::not_found_error: return ENOENT;
    case bip::already_exists_error: return EEXIST;
    case bip::security_error: return EACCES;
    case bip::out_of_space_error: return ENOSPC;
    default: return EIO;
  }
}

std::uint64_t object_size(const bip::shared_memory_object& object) {
  bip::offset_t size = 0;
  if (!object.get_size(size) || size < 0) return 0;
  return static_cast<std::uint64_t>(size);
}

}  // namespace

void validate_name(std::string_view name) {
  auto bad = [&](const std::string& why) {
    throw Error(Errc::invalid_argument, "invalid ring name '" + std::string(name) + "': " + why);
  };
  if (name.empty()) bad("it is empty");
  if (name.size() > 200) bad("it is longer than 200 characters");
  if (name.front() == '.') bad("it may not start with '.'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) bad("use only letters, digits, '.', '_' and '-'");
  }
  if (name.size() >= 8 && name.substr(name.size() - 8) == ".readers")
    bad("names ending in '.readers' are reserved for reader registries");
}

std::string ring_object_name(std::string_view name) { return "shmcast." + std::string(name); }
std::string registry_object_name(std::string_view name) { return "shmcast." + std::string(name) + ".readers"; }
std::string object_path(std::string_view object_name) { return "/dev/shm/" + std::string(object_name); }

void throw_system(std::string_view ring, std::string_view doing, int err) {
  std::string what = quoted(ring) + ": " + std::string(doing) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      throw Error(Errc::not_found, quoted(ring) + " does not exist; create it with `shmcast create " +
                                       std::string(ring) + "` or start its producer");
    case EEXIST:
      throw Error(Errc::already_exists,
                  quoted(ring) + " already exists; use it, or replace it with `shmcast create --force`");
    case EACCES:
    case EPERM:
      throw Error(Errc::permission_denied,
                  what + "; run as the ring's owner or recreate it with a wider --mode");
    case ENOSPC:
    case ENOMEM:
      throw Error(Errc::no_space, what + "; free space in /dev/shm or choose fewer/smaller slots");
    default: throw Error(Errc::system, what);
  }
}

void check_geometry(const Geometry& g, std::string_view ring) {
  auto bad = [&](const std::string& why) {
    throw Error(Errc::invalid_argument, quoted(ring) + ": invalid geometry: " + why);
  };
  if (!is_power_of_two(g.slot_count) || g.slot_count < 2 || g.slot_count > kMaxSlotCount)
    bad("slot count " + std::to_string(g.slot_count) + " must be a power of two from 2 to 2^30");
  if (g.slot_size < 64 || g.slot_size % 64 != 0 || g.slot_size > kMaxSlotSize)
    bad("slot size " + std::to_string(g.slot_size) + " must be a multiple of 64 from 64 to 16 MiB");
  if (g.snapshot_capacity > kMaxSnapshotCapacity) bad("snapshot capacity is larger than 4 GiB");
}

std::uint64_t snapshot_stride(std::uint64_t capacity) noexcept { return (capacity + kCacheLine - 1) / kCacheLine * kCacheLine; }

std::uint64_t ring_size(const Geometry& g) noexcept {
  return kRingHeaderSize + g.slot_count * g.slot_size + 2 * snapshot_stride(g.snapshot_capacity);
}

Geometry validate_header(const RingHeader& h, std::uint64_t size, std::string_view name) {
  auto corrupt = [&](const std::string& why) {
    throw Error(Errc::corrupt, quoted(name) + " is corrupt (" + why + "); remove it with `shmcast rm " +
                                   std::string(name) + "` and recreate it");
  };
  if (h.magic != kRingMagic)
    throw Error(Errc::foreign, quoted(name) + ": /dev/shm/" + ring_object_name(name) +
                                   " is not a shmcast ring (bad magic); remove it or choose another name");
  if (h.version != kLayoutVersion)
    throw Error(Errc::version_mismatch, quoted(name) + " has layout version " + std::to_string(h.version) +
                                            ", this build reads version " + std::to_string(kLayoutVersion) +
                                            "; use a matching shmcast build or recreate the ring");
  if (h.header_size != kRingHeaderSize || h.slots_offset != kRingHeaderSize)
    corrupt("header size " + std::to_string(h.header_size));
  Geometry g{h.slot_count, h.slot_size, h.snapshot_capacity};
  if (!is_power_of_two(g.slot_count) || g.slot_count < 2 || g.slot_count > kMaxSlotCount)
    corrupt("slot count " + std::to_string(g.slot_count) + " is not a power of two in range");
  if (g.slot_size < 64 || g.slot_size % 64 != 0 || g.slot_size > kMaxSlotSize)
    corrupt("slot size " + std::to_string(g.slot_size));
  if (h.payload_capacity != g.slot_size - kSlotHeaderSize)
    corrupt("payload capacity " + std::to_string(h.payload_capacity) + " does not fit slot size");
  if (g.snapshot_capacity > kMaxSnapshotCapacity) corrupt("snapshot capacity");
  const std::uint64_t slots_end = kRingHeaderSize + g.slot_count * g.slot_size;
  if (g.snapshot_capacity == 0) {
    if (h.snapshot_offset != 0 || h.snapshot_stride != 0) corrupt("snapshot area without capacity");
  } else if (h.snapshot_offset != slots_end || h.snapshot_stride != snapshot_stride(g.snapshot_capacity)) {
    corrupt("snapshot area offsets");
  }
  const std::uint64_t expected = ring_size(g);
  if (h.total_size != expected) corrupt("total size " + std::to_string(h.total_size) + " != " + std::to_string(expected));
  if (size < expected)
    throw Error(Errc::truncated, quoted(name) + " is truncated: the object has " + std::to_string(size) +
                                     " bytes, its header needs " + std::to_string(expected) +
                                     "; remove it with `shmcast rm " + std::string(name) + "` and recreate it");
  return g;
}

OpenedRing open_ring(std::string_view name, bool writable, std::chrono::milliseconds timeout, bool wait_for_ring) {
  validate_name(name);
  const std::string object_name = ring_object_name(name);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const bip::mode_t mode = writable ? bip::read_write : bip::read_only;
  for (;;) {
    const bool may_retry = std::chrono::steady_clock::now() < deadline;
    bip::shared_memory_object object;
    try {
      object = bip::shared_memory_object(bip::open_only, object_name.c_str(), mode);
    } catch (const bip::interprocess_exception& e) {
      int err = native_errno(e);
      if (err == ENOENT && wait_for_ring && may_retry) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      throw_system(name, writable ? "cannot open for writing" : "cannot open", err);
    }
    const std::uint64_t size = object_size(object);
    // Created but not yet sized: a creator is mid-way. Magic is checked once mapped.
    bool ready = size >= sizeof(RingHeader);
    OpenedRing ring{Segment{}, RingHeader{}, Geometry{}};
    if (ready) {
      try {
        ring.segment.region = bip::mapped_region(object, mode, 0, static_cast<std::size_t>(size));
      } catch (const bip::interprocess_exception& e) {
        throw_system(name, "cannot map", native_errno(e));
      }
      const auto* header = reinterpret_cast<const RingHeader*>(ring.segment.base());
      // Acquire pairs with the creator's release store of magic: every other header
      // field (written before it) is visible once magic is.
      const std::uint64_t magic = load_acquire(header->magic);
      ready = magic != 0;
      if (ready) {
        std::memcpy(&ring.header, header, sizeof(RingHeader));
        ring.header.magic = magic;
        if (magic == kRingMagic && size < kRingHeaderSize)
          throw Error(Errc::truncated, quoted(name) + " is truncated (" + std::to_string(size) +
                                           " bytes); remove it with `shmcast rm " + std::string(name) + "`");
        ring.geometry = validate_header(ring.header, size, name);
        ring.segment.object.swap(object);
        return ring;
      }
    }
    if (!may_retry)
      throw Error(Errc::not_ready, quoted(name) + " is not initialised: its creator has not finished, or died "
                                                  "while creating it; retry, or remove it with `shmcast rm " +
                                                  std::string(name) + "`");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Segment create_object(const std::string& object_name, std::uint64_t size, unsigned mode, std::string_view ring) {
  Segment segment;
  bip::permissions perm(static_cast<int>(mode & 0777));
  try {
    segment.object = bip::shared_memory_object(bip::create_only, object_name.c_str(), bip::read_write, perm);
  } catch (const bip::interprocess_exception& e) {
    throw_system(ring, "cannot create /dev/shm/" + object_name, native_errno(e));
  }
  auto fail = [&](int err, std::string_view doing) {
    bip::shared_memory_object::remove(object_name.c_str());
    throw_system(ring, doing, err);
  };
  // ftruncate alone leaves a sparse object that raises SIGBUS on first touch when
  // /dev/shm is full; committing the pages now turns that into an error here.
  if (::ftruncate(segment.fd(), static_cast<off_t>(size)) != 0) fail(errno, "cannot size the object");
  if (int err = ::posix_fallocate(segment.fd(), 0, static_cast<off_t>(size)); err != 0)
    fail(err, "cannot reserve " + std::to_string(size) + " bytes in /dev/shm");
  try {
    segment.region = bip::mapped_region(segment.object, bip::read_write, 0, static_cast<std::size_t>(size));
  } catch (const bip::interprocess_exception& e) {
    fail(native_errno(e), "cannot map");
  }
  return segment;
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

namespace {
// The producer lock: a write lock on byte 0 of the ring object.
struct flock producer_lock_range() noexcept {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 1;
  return lock;
}
}  // namespace

bool try_lock_producer(int fd) noexcept {
  struct flock lock = producer_lock_range();
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

bool producer_lock_held(int fd) noexcept {
  struct flock lock = producer_lock_range();
  if (::fcntl(fd, F_OFD_GETLK, &lock) != 0) return false;
  return lock.l_type != F_UNLCK;
}

std::uint64_t process_start_time(pid_t pid) noexcept {
  if (pid <= 0) return 0;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return 0;
  char buf[1024];
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // comm may hold spaces and parentheses: fields are counted after the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return 0;
  int field = 2;
  for (; *p != '\0' && field < 22; ++p)
    if (*p == ' ') ++field;
  return std::strtoull(p, nullptr, 10);
}

bool process_alive(pid_t pid, std::uint64_t start_time) noexcept {
  if (pid <= 0) return false;
  const std::uint64_t now = process_start_time(pid);
  if (now == 0) return ::kill(pid, 0) == 0 || errno == EPERM;  // no /proc: best effort
  return start_time == 0 || now == start_time;
}

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, 0) != sizeof v) v = realtime_ns() ^ (static_cast<std::uint64_t>(::getpid()) << 40);
  return v | 1;  // never 0: 0 means "no ring"
}

std::uint64_t realtime_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace shmcast::detail
