#include "fuzz_ring.hpp"

#include <shmcast/shmcast.hpp>

#include "layout.hpp"
#include "names.hpp"
#include "registry_layout.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace shmcast::fuzz {

namespace {

[[noreturn]] void broken(const char* promise, std::uint64_t a, std::uint64_t b) {
  std::fprintf(stderr, "shmcast fuzz: broken promise: %s (%llu vs %llu)\n", promise, static_cast<unsigned long long>(a),
               static_cast<unsigned long long>(b));
  std::abort();
}

// Writes the object and returns a read-write descriptor of it (-1 on failure).
int write_object(const std::string& object, const std::uint8_t* bytes, std::size_t n, std::size_t size) {
  ::shm_unlink(object.c_str());
  const int fd = ::shm_open(object.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return -1;
  bool ok = ::ftruncate(fd, static_cast<off_t>(size)) == 0;
  std::size_t done = 0;
  while (ok && done < n) {
    const ssize_t w = ::pwrite(fd, bytes + done, n - done, static_cast<off_t>(done));
    if (w <= 0) ok = false;
    else done += static_cast<std::size_t>(w);
  }
  if (!ok) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The address range of this process's one read-only mapping of `path` (the Reader's),
// from /proc/self/maps; {0, 0} if there is not exactly one.
std::pair<std::uintptr_t, std::uintptr_t> reader_mapping(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::pair<std::uintptr_t, std::uintptr_t> found{0, 0};
  int count = 0;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, file;
    fields >> range >> perms >> offset >> dev >> inode >> file;
    if (file != path || perms != "r--s") continue;
    const std::size_t dash = range.find('-');
    found = {std::stoull(range.substr(0, dash), nullptr, 16), std::stoull(range.substr(dash + 1), nullptr, 16)};
    ++count;
  }
  return count == 1 ? found : std::pair<std::uintptr_t, std::uintptr_t>{0, 0};
}

// Changes to the ring's bytes, applied one at a time between reads (bit 7 of the flags).
struct Mutations {
  int fd = -1;
  std::size_t object_size = 0;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> changes;
  std::size_t next = 0;
  void step() {
    if (fd < 0 || next >= changes.size() || object_size < 8) return;
    const auto [offset, value] = changes[next++];
    const std::size_t at = (offset % object_size) / 8 * 8;
    if (at + 8 > object_size) return;
    (void)!::pwrite(fd, &value, 8, static_cast<off_t>(at));
  }
};

// SHMCAST_FUZZ_VERBOSE=1: one line per input on stderr, to see what a corpus exercises;
// =2: every event too.
int verbosity() {
  static const int level = std::getenv("SHMCAST_FUZZ_VERBOSE") != nullptr ? std::atoi(std::getenv("SHMCAST_FUZZ_VERBOSE")) : 0;
  return level;
}
bool verbose() { return verbosity() >= 1; }

// Reads at most kMaxReads events, checking what a reader promises on any input: each
// message is the next sequence and within max_message; each gap starts where the reader
// was; a payload read in place lies inside the ring's data; delivered + missed == the
// span moved over (counted per drain: a seek moves without counting). Reads alternate
// between try_read and peek/confirm (batches of 1-4), as `style` says.
// A reader that starts from a snapshot begins its span at the snapshot: with
// `from_snapshot`, a first event that is a snapshot resets the baseline. A `fresh` reader
// (no event and no seek yet) may take a lost latest/oldest start again before its first
// event (StartAt): its span begins at r.start() as of that event.
// Returns whether the reader returned any event.
bool drain(Reader& r, bool from_snapshot, bool fresh, std::pair<std::uintptr_t, std::uintptr_t> mapping, unsigned style,
           Mutations& mutations) {
  std::uint64_t start = r.position();
  std::uint64_t counted = r.delivered() + r.missed();  // before this drain (seeks aside)
  const std::uint64_t max = r.geometry().message_limit();
  const std::uintptr_t data_lo = mapping.first + detail::kRingHeaderSize;
  const std::uintptr_t data_hi = data_lo + r.geometry().ring_bytes;
  std::uint64_t expect = start;
  bool first = true;
  if (verbosity() >= 2)
    std::fprintf(stderr, "  drain (%s) from %llu, start %llu\n", fresh ? "fresh" : "after a seek", static_cast<unsigned long long>(start),
                 static_cast<unsigned long long>(r.start()));
  std::array<Message, 4> out{};
  for (int i = 0; i < kMaxReads; ++i) {
    mutations.step();
    const bool in_place = ((style >> (i % 8)) & 1) != 0;
    ReadResult e;
    std::size_t peeked = 0;
    if (in_place) {
      const std::uint64_t at = r.position();
      const Reader::Batch b = r.peek(std::span(out.data(), 1 + static_cast<std::size_t>(i) % out.size()));
      if (verbosity() >= 2)
        std::fprintf(stderr, "    peek at %llu: %zu messages from %llu, else event %d; position %llu\n",
                     static_cast<unsigned long long>(at), b.count, static_cast<unsigned long long>(b.count ? out[0].seq : 0),
                     static_cast<int>(b.event.status), static_cast<unsigned long long>(r.position()));
      if (b.count != 0) {
        peeked = b.count;
        if (fresh && first) {
          if (r.start() < start) broken("a retaken start moves forward", r.start(), start);
          start = expect = r.start();
        }
        for (std::size_t k = 0; k < b.count; ++k) {
          const Message& m = out[k];
          if (m.seq != (first && fresh ? out[0].seq : at) + k) broken("peeked messages are consecutive", m.seq, at + k);
          if (m.payload.size() > max) broken("peeked payload within max_message", m.payload.size(), max);
          const auto p = reinterpret_cast<std::uintptr_t>(m.payload.data());
          // A message by copy (off the fast path) lies in the reader's buffer instead.
          const bool in_ring = p >= mapping.first && p < mapping.second;
          if (in_ring && mapping.first != 0 && (p < data_lo || p + m.payload.size() > data_hi))
            broken("a payload read in place lies inside the data", p - mapping.first, data_hi - mapping.first);
          std::uint64_t sum = 0;  // touch every byte: a fault here is an out-of-bounds read
          for (std::byte byte : m.payload) sum += static_cast<std::uint64_t>(byte);
          (void)sum;
        }
        mutations.step();
        const std::uint64_t before = r.position();
        if (r.confirm()) {
          expect = (first && fresh ? out[0].seq : at) + b.count;
        } else if (r.position() != before) {
          broken("a refused confirm moves nothing", r.position(), before);
        } else {
          peeked = 0;
          expect = before;
        }
        first = false;
        if (r.position() != expect) broken("position follows the events", r.position(), expect);
        continue;
      }
      e = b.event;
    } else {
      e = r.try_read();
    }
    (void)peeked;
    if (verbosity() >= 2)
      std::fprintf(stderr, "    event %d: seq %llu, gap %llu+%llu, snapshot as of %llu; position %llu\n", static_cast<int>(e.status),
                   static_cast<unsigned long long>(e.message.seq), static_cast<unsigned long long>(e.gap.first),
                   static_cast<unsigned long long>(e.gap.missed), static_cast<unsigned long long>(e.snapshot.as_of),
                   static_cast<unsigned long long>(r.position()));
    if (!e) {
      if (fresh && first) start = expect = r.start();  // retaken, then nothing to read yet
      if (i > 8) break;
      continue;
    }
    if (fresh && first) {
      if (r.start() < start) broken("a retaken start moves forward", r.start(), start);
      start = expect = r.start();
    }
    switch (e.status) {
      case ReadStatus::message:
        if (e.message.seq != expect) broken("message is the next sequence", e.message.seq, expect);
        if (e.message.payload.size() > max) broken("payload within max_message", e.message.payload.size(), max);
        expect = e.message.seq + 1;
        break;
      case ReadStatus::gap:
        if (e.gap.first != expect || e.gap.missed == 0) broken("gap starts at the position", e.gap.first, expect);
        expect = e.gap.first + e.gap.missed;
        break;
      case ReadStatus::snapshot:
        if (from_snapshot && first) {
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
    first = false;
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
  return !first;
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
  Mutations mutations;
  if (flags & kMutates) {
    if (size < at + 1) return 0;
    std::size_t n = data[at++];
    n = std::min(n, (size - at) / 12);
    for (std::size_t i = 0; i < n; ++i, at += 12) {
      std::uint32_t offset = 0;
      std::uint64_t value = 0;
      std::memcpy(&offset, data + at, 4);
      std::memcpy(&value, data + at + 4, 8);
      mutations.changes.emplace_back(offset, value);
    }
  }
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
  const int fd = write_object(ring_object, ring, ring_len, object_size);
  if (fd < 0) return 0;
  if (registry != nullptr) {
    const int registry_fd = write_object(registry_object, registry, registry_len, detail::registry_size(kDefaultMaxReaders));
    if (registry_fd >= 0) ::close(registry_fd);
  }
  mutations.fd = fd;
  mutations.object_size = object_size;

  const ReaderOptions options = options_for(flags, start_seq);
  // Which reads go in place: a pattern from the start sequence's bytes, so that inputs
  // choose it too.
  const auto style = static_cast<unsigned>((start_seq >> 56) ^ (start_seq & 0xFF)) | 0x20u;
  bool attached = false;
  try {
    Reader r(name, options);
    attached = true;
    const auto mapping = reader_mapping(detail::object_path(detail::ring_object_name(name)));
    const bool any_event = drain(r, options.start == StartAt::snapshot, /*fresh=*/true, mapping, style, mutations);
    // Resynchronising after a seek back to where the ring says the oldest message is. A
    // seek past head changes nothing: a reader that had no event yet is still fresh then.
    const std::uint64_t oldest = r.oldest();
    const bool moved = oldest <= r.head();
    r.seek(oldest);
    drain(r, false, /*fresh=*/!any_event && !moved, mapping, ~style, mutations);
    if (verbose())
      std::fprintf(stderr, "  attached (mapping %s): delivered %llu, missed %llu in %llu gaps, snapshots %llu\n",
                   mapping.first != 0 ? "found" : "NOT FOUND", static_cast<unsigned long long>(r.delivered()),
                   static_cast<unsigned long long>(r.missed()), static_cast<unsigned long long>(r.gaps()),
                   static_cast<unsigned long long>(r.snapshots()));
  } catch (const Error& e) {
    // Refused with a clear error: what hostile input should get.
    if (verbose()) std::fprintf(stderr, "  refused: %s\n", e.what());
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
        const std::size_t n = std::min<std::size_t>(p.max_message(), 40 * i);
        p.publish(std::span<const std::byte>(payload, n), static_cast<std::uint32_t>(i));
      }
      p.skip_to(p.head() + 3);
      p.publish(std::span<const std::byte>(payload, std::min<std::size_t>(p.max_message(), 200)));
      if (p.geometry().snapshot_capacity >= 16) p.publish_snapshot(std::span<const std::byte>(payload, 16));
      ReaderOptions after = options;
      after.start = StartAt::oldest;
      Reader r(name, after);
      Mutations none;
      drain(r, false, /*fresh=*/true, reader_mapping(detail::object_path(detail::ring_object_name(name))), style, none);
    } catch (const Error&) {
    }
  }
  ::close(fd);
  ::shm_unlink(ring_object.c_str());
  ::shm_unlink(registry_object.c_str());
  return 0;
}

}  // namespace shmcast::fuzz
