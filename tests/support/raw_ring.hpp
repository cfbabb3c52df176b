// A test's own mapping of a ring object, with the library's process-local view over it
// (src/ring_view.hpp), so that tests play a producer's in-between states, or inspect
// what a dead one left behind, through the same accessors the library uses. Only for
// test targets that see the library's internal headers (shmcast_internal, shmcast_hooked).
//
// Positions are the layout's absolute byte positions (layout.hpp): record(p) is the
// record header at p mod ring_bytes. Helpers below find a record by sequence through the
// ring's own index, and write a record by hand the way Producer does (header words,
// payload, index entry, "nothing yet" after it, then the stamp), so that a test can stop
// anywhere in between.
#pragma once

#include "layout.hpp"
#include "names.hpp"
#include "payload_io.hpp"
#include "ring_view.hpp"

#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <optional>
#include <span>
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
    view_ = detail::RingView(base_, Geometry{h.ring_bytes, h.max_message, h.snapshot_capacity});
  }
  ~RawRing() { ::munmap(base_, size_); }
  RawRing(const RawRing&) = delete;
  RawRing& operator=(const RawRing&) = delete;

  [[nodiscard]] const detail::RingView& view() const noexcept { return view_; }
  [[nodiscard]] const detail::RingHeader& header() const noexcept { return *reinterpret_cast<const detail::RingHeader*>(base_); }
  [[nodiscard]] detail::ProducerLine& producer() const noexcept { return view_.producer(); }
  [[nodiscard]] detail::ReserveLine& reserve() const noexcept { return view_.reserve(); }
  [[nodiscard]] detail::SequenceLine& sequence() const noexcept { return view_.sequence(); }
  [[nodiscard]] detail::RecordHeader& record(std::uint64_t position) const noexcept { return view_.record(position); }
  [[nodiscard]] std::byte* payload(std::uint64_t position) const noexcept { return view_.payload(position); }
  [[nodiscard]] detail::IndexEntry& index(std::uint64_t record) const noexcept { return view_.index(record); }
  [[nodiscard]] std::uint64_t ring_bytes() const noexcept { return view_.ring_bytes(); }
  [[nodiscard]] std::uint64_t reserved() const noexcept { return view_.reserve().reserved(); }
  [[nodiscard]] std::byte* base() const noexcept { return base_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // Where the data (the records) starts in the object.
  [[nodiscard]] std::byte* data() const noexcept { return base_ + detail::kRingHeaderSize; }

  // The position of the record that holds `seq` (a message, or a skip record numbered
  // seq), found through the index among the records written; nullopt if none does.
  [[nodiscard]] std::optional<std::uint64_t> position_of(std::uint64_t seq) const noexcept {
    const std::uint64_t records = producer().records();
    const std::uint64_t lo = records > view_.index_entries() ? records - view_.index_entries() : 0;
    for (std::uint64_t r = records; r-- > lo;) {
      const std::uint64_t p = index(r).position();
      if (record(p).stamp() == detail::record_stamp(seq)) return p;
    }
    return std::nullopt;
  }

  // Where the producer's next record goes: its stored tail, past a padding record there.
  [[nodiscard]] std::uint64_t next_position() const noexcept {
    std::uint64_t tail = producer().tail();
    if (record(tail).stamp() == detail::kPaddingStamp && view_.room_to_end(tail) != ring_bytes())
      tail += view_.room_to_end(tail);
    return tail;
  }

  // The steps of a publish, as Producer takes them, for tests that stop in between.
  // Header words and payload of a record of seq at `position` (not yet committed).
  void write_unstamped(std::uint64_t position, std::span<const std::byte> payload, std::uint32_t type = 0,
                       std::uint64_t timestamp_ns = 0) const noexcept {
    record(position).set_meta(payload.size(), type, timestamp_ns);
    detail::store_words(this->payload(position), payload.data(), payload.size());
  }
  // The index entry for record number `record_number`, "nothing yet" after the record,
  // and the commit stamp: what end_write() does before it stores head, records and tail.
  void commit(std::uint64_t record_number, std::uint64_t position, std::uint64_t seq, std::uint64_t bytes) const noexcept {
    index(record_number).set(position);
    record(position + bytes).mark_nothing_yet();
    record(position).commit(seq);
  }
  // A whole message written and committed at `position` as the record_number-th record,
  // leaving head, records and tail as they were (a producer that died right after its commit).
  void commit_message(std::uint64_t record_number, std::uint64_t position, std::uint64_t seq,
                      std::span<const std::byte> payload, std::uint32_t type = 0, std::uint64_t timestamp_ns = 0) const noexcept {
    write_unstamped(position, payload, type, timestamp_ns);
    commit(record_number, position, seq, record_bytes(payload.size()));
  }
  // A skip record at `position`: sequences [seq, target) skipped.
  void commit_skip(std::uint64_t record_number, std::uint64_t position, std::uint64_t seq, std::uint64_t target) const noexcept {
    record(position).set_meta(detail::kSkipRecordLength, 0, target);
    commit(record_number, position, seq, kRecordAlign);
  }

 private:
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
  detail::RingView view_;
};

}  // namespace shmcast::test
