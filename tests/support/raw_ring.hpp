// A test's own mapping of a ring object, with the library's process-local view over it
// (src/ring_view.hpp), so that tests play a producer's in-between states, or inspect
// what a dead one left behind, through the same accessors the library uses. Only for
// test targets that see the library's internal headers (shmcast_internal, shmcast_hooked).
#pragma once

#include "layout.hpp"
#include "names.hpp"
#include "ring_view.hpp"

#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace shmcast::test {

// The name shm_open() takes for an object of the library's naming scheme (names.hpp).
// (Appended, not "/" + name: GCC 12 warns -Wrestrict on that, wrongly.)
inline std::string shm_name(const std::string& object_name) {
  std::string s("/");
  s += object_name;
  return s;
}

class RawRing {
 public:
  explicit RawRing(const std::string& name, bool writable = true) {
    const std::string object = shm_name(detail::ring_object_name(name));
    const int fd = ::shm_open(object.c_str(), writable ? O_RDWR : O_RDONLY, 0);
    if (fd < 0) throw std::runtime_error("shm_open " + object);
    struct stat st {};
    ::fstat(fd, &st);
    size_ = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, size_, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) throw std::runtime_error("mmap " + object);
    base_ = static_cast<std::byte*>(p);
    const auto& h = header();
    view_ = detail::RingView(base_, Geometry{h.slot_count, h.slot_size, h.snapshot_capacity});
  }
  ~RawRing() { ::munmap(base_, size_); }
  RawRing(const RawRing&) = delete;
  RawRing& operator=(const RawRing&) = delete;

  [[nodiscard]] const detail::RingView& view() const noexcept { return view_; }
  [[nodiscard]] const detail::RingHeader& header() const noexcept { return *reinterpret_cast<const detail::RingHeader*>(base_); }
  [[nodiscard]] detail::ProducerLine& producer() const noexcept { return view_.producer(); }
  [[nodiscard]] detail::SlotHeader& slot(std::uint64_t seq) const noexcept { return view_.slot(seq); }
  [[nodiscard]] std::byte* payload(std::uint64_t seq) const noexcept { return detail::RingView::payload(slot(seq)); }
  [[nodiscard]] std::byte* base() const noexcept { return base_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
  detail::RingView view_;
};

}  // namespace shmcast::test
