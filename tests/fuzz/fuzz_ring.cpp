#include "fuzz_ring.hpp"

#include <shmcast/shmcast.hpp>

#include "layout.hpp"
#include "names.hpp"
#include "registry_layout.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace shmcast::fuzz {

namespace {

[[noreturn]] void broken(const char* promise, std::uint64_t a, std::uint64_t b) {
  std::fprintf(stderr, "shmcast fuzz: broken promise: %s (%llu vs %llu)\n", promise, static_cast<unsigned long long>(a),
               static_cast<unsigned long long>(b));
  std::abort();
}

bool write_object(const std::string& object, const std::uint8_t* bytes, std::size_t n, std::size_t size) {
  ::shm_unlink(object.c_str());
  const int fd = ::shm_open(object.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return false;
  bool ok = ::ftruncate(fd, static_cast<off_t>(size)) == 0;
  std::size_t done = 0;
  while (ok && done < n) {
    const ssize_t w = ::pwrite(fd, bytes + done, n - done, static_cast<off_t>(done));
    if (w <= 0) ok = false;
    else done += static_cast<std::size_t>(w);
  }
  ::close(fd);
  return ok;
}

// Reads at most kMaxReads events, checking what a reader promises on any input: each
// message is the next sequence and fits the slot; each gap starts where the reader was;
// delivered + missed == the span moved over (counted per drain: a seek moves without counting).
// A reader that starts from a snapshot begins its span at the snapshot: with
// `from_snapshot`, a first event that is a snapshot resets the baseline. A `fresh` reader
// (no event and no seek yet) may take a lost latest/oldest start again before its first
// event (StartAt): its span begins at r.start() as of that event.
void drain(Reader& r, bool from_snapshot, bool fresh) {
  std::uint64_t start = r.position();
  std::uint64_t counted = r.delivered() + r.missed();  // before this drain (seeks aside)
  const std::uint64_t capacity = r.geometry().payload_capacity();
  std::uint64_t expect = start;
  for (int i = 0; i < kMaxReads; ++i) {
    const ReadResult e = r.try_read();
    if (!e) {
      if (fresh && i == 0) start = r.start();  // retaken, then nothing to read yet
      break;
    }
    if (fresh && i == 0) {
      if (r.start() < start) broken("a retaken start moves forward", r.start(), start);
      start = expect = r.start();
    }
    switch (e.status) {
      case ReadStatus::message:
        if (e.message.seq != expect) broken("message is the next sequence", e.message.seq, expect);
        if (e.message.payload.size() > capacity) broken("payload within the slot", e.message.payload.size(), capacity);
        expect = e.message.seq + 1;
        break;
      case ReadStatus::gap:
        if (e.gap.first != expect || e.gap.missed == 0) broken("gap starts at the position", e.gap.first, expect);
        expect = e.gap.first + e.gap.missed;
        break;
      case ReadStatus::snapshot:
        if (from_snapshot && i == 0) {
          start = e.snapshot.as_of;
          counted = r.delivered() + r.missed();
          expect = e.snapshot.as_of;
        }
        if (e.snapshot.data.size() > r.geometry().snapshot_capacity)
          broken("snapshot within its capacity", e.snapshot.data.size(), r.geometry().snapshot_capacity);
        if (e.snapshot.as_of < expect) broken("snapshot moves forward", e.snapshot.as_of, expect);
        expect = e.snapshot.as_of;
        break;
      default: broken("known status", static_cast<std::uint64_t>(e.status), 0);
    }
    if (r.position() != expect) broken("position follows the events", r.position(), expect);
  }
  if (r.delivered() + r.missed() - counted != r.position() - start)
    broken("delivered + missed == span", r.delivered() + r.missed() - counted, r.position() - start);
  (void)r.head();
  (void)r.oldest();
  (void)r.producer_alive();
  (void)r.producer_pid();
  (void)r.replaced();
  (void)r.source_position();
}

ReaderOptions options_for(std::uint8_t flags, std::uint64_t start_seq) {
  ReaderOptions o;
  static constexpr StartAt starts[4] = {StartAt::latest, StartAt::oldest, StartAt::sequence, StartAt::snapshot};
  static constexpr GapPolicy gaps[4] = {GapPolicy::oldest, GapPolicy::latest, GapPolicy::snapshot, GapPolicy::oldest};
  o.start = starts[flags & 3];
  o.on_gap = gaps[(flags >> 2) & 3];
  o.start_seq = start_seq;
  o.wait = WaitStrategy::spin;
  o.attach_timeout = std::chrono::milliseconds(0);
  o.label = "fuzz";
  return o;
}

}  // namespace

int run_one(const std::uint8_t* data, std::size_t size) {
  if (size < 9) return 0;
  const std::uint8_t flags = data[0];
  std::uint64_t start_seq = 0;
  std::memcpy(&start_seq, data + 1, 8);
  std::size_t at = 9;
  const std::uint8_t* registry = nullptr;
  std::size_t registry_len = 0;
  if (flags & kHasRegistry) {
    if (size < at + 2) return 0;
    registry_len = static_cast<std::size_t>(data[at]) | (static_cast<std::size_t>(data[at + 1]) << 8);
    at += 2;
    registry_len = std::min({registry_len, size - at, static_cast<std::size_t>(detail::registry_size(kDefaultMaxReaders))});
    registry = data + at;
    at += registry_len;
  }
  const std::uint8_t* ring = data + at;
  const std::size_t ring_len = std::min(size - at, kMaxObjectSize);
  std::size_t object_size = ring_len;
  if ((flags & kPadToTotalSize) && ring_len >= sizeof(detail::RingHeader)) {
    std::uint64_t total = 0;
    std::memcpy(&total, ring + offsetof(detail::RingHeader, total_size), 8);
    if (total > object_size) object_size = static_cast<std::size_t>(std::min<std::uint64_t>(total, kMaxObjectSize));
  }

  static const std::string name = "fuzz-" + std::to_string(::getpid());
  const std::string ring_object = std::string("/").append(detail::ring_object_name(name));
  const std::string registry_object = std::string("/").append(detail::registry_object_name(name));
  ::shm_unlink(registry_object.c_str());
  if (!write_object(ring_object, ring, ring_len, object_size)) return 0;
  if (registry != nullptr) write_object(registry_object, registry, registry_len, detail::registry_size(kDefaultMaxReaders));

  const ReaderOptions options = options_for(flags, start_seq);
  bool attached = false;
  try {
    Reader r(name, options);
    attached = true;
    drain(r, options.start == StartAt::snapshot, /*fresh=*/true);
    // Resynchronising after a seek back to where the ring says the oldest message is.
    r.seek(r.oldest());
    drain(r, false, /*fresh=*/false);
  } catch (const Error&) {
    // Refused with a clear error: what hostile input should get.
  }
  // inspect(), reap and Producer::open validate through the same open_ring() as the
  // reader; on an object it refused they would only wait out their own attach timeouts
  // (up to 2 s for a "not ready" one) and refuse it again.
  if (attached) {
    try {
      (void)inspect(name);
    } catch (const Error&) {
    }
    try {
      (void)reap_dead_readers(name);
    } catch (const Error&) {
    }
  }
  if (attached && (flags & kTakeOver)) {
    try {
      Producer p = Producer::open(name);
      alignas(8) std::byte payload[256] = {};
      for (std::size_t i = 0; i < 3; ++i) {
        const std::size_t n = std::min<std::size_t>(p.payload_capacity(), 40 * i);
        p.publish(std::span<const std::byte>(payload, n), static_cast<std::uint32_t>(i));
      }
      if (p.geometry().snapshot_capacity >= 16) p.publish_snapshot(std::span<const std::byte>(payload, 16));
      ReaderOptions after = options;
      after.start = StartAt::oldest;
      Reader r(name, after);
      drain(r, false, /*fresh=*/true);
    } catch (const Error&) {
    }
  }
  ::shm_unlink(ring_object.c_str());
  ::shm_unlink(registry_object.c_str());
  return 0;
}

}  // namespace shmcast::fuzz
