// Hostile shared memory, plain tests: objects made by hand under /dev/shm/shmcast.NAME
// for each corrupt-header case, each refused with its own Errc and a clear message, never
// a crash; a record claiming more bytes than it may hold; a reader's mapping is read-only.
#include "fault_common.hpp"
#include "geometry.hpp"
#include "layout.hpp"
#include "liveness.hpp"
#include "names.hpp"
#include "raw_ring.hpp"
#include "registry_layout.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace shmcast;
using namespace shmcast::fault;
namespace d = shmcast::detail;

namespace {

// A header as the library writes it (geometry.hpp), magic included; cases then break it.
d::RingHeader valid_header(const Geometry& g) {
  d::RingHeader h{};
  d::init_header(h, g, 0x1234567u, 1);
  h.magic = d::kRingMagic;
  return h;
}

// Creates /dev/shm/shmcast.NAME of `size` bytes holding `bytes` at offset 0.
void write_object(const std::string& name, const void* bytes, std::size_t n, std::size_t size) {
  const std::string object = test::shm_name(d::ring_object_name(name));
  ::shm_unlink(object.c_str());
  const int fd = ::shm_open(object.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
  if (n > 0) REQUIRE(::pwrite(fd, bytes, std::min(n, size), 0) == static_cast<ssize_t>(std::min(n, size)));
  ::close(fd);
}

void write_header(const std::string& name, const d::RingHeader& h, std::size_t size) {
  write_object(name, &h, sizeof h, size);
}

// Every way in must refuse the object with `code` and a message naming the ring.
void expect_refused(const std::string& name, Errc code) {
  ReaderOptions options;
  options.attach_timeout = 50ms;
  auto check = [&](const char* path, const std::function<void()>& attach) {
    INFO(path);
    try {
      attach();
      FAIL("attached to a hostile object");
    } catch (const Error& e) {
      INFO(e.what());
      CHECK(e.code() == code);
      CHECK_THAT(e.what(), Catch::Contains(name));
    }
  };
  check("Reader", [&] { Reader r(name, options); });
  check("inspect", [&] { (void)inspect(name); });
  check("Producer::open", [&] { Producer p = Producer::open(name); });
}

struct HeaderCase {
  const char* what;
  Errc code;
  std::function<void(d::RingHeader&)> poke;
};

}  // namespace

TEST_CASE("hostile shm: unfinished objects are not_ready while their creator holds the lock, else abandoned",
          "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-empty"));
  SECTION("zero-size object") { write_object(guard.name, nullptr, 0, 0); }
  SECTION("smaller than a header, no magic") {  // with the magic it is truncated (errors_test)
    d::RingHeader h = valid_header(Geometry{.ring_bytes = 4096});
    h.magic = 0;
    write_object(guard.name, &h, sizeof h, 100);
  }
  SECTION("full size, magic not yet stored") {
    d::RingHeader h = valid_header(Geometry{.ring_bytes = 4096});
    h.magic = 0;
    write_header(guard.name, h, h.total_size);
  }
  const auto t0 = Clock::now();
  expect_refused(guard.name, Errc::abandoned);  // nobody holds its producer lock: it will not become a ring
  CHECK(Clock::now() - t0 < 10s);               // retried for a bounded time, not forever
  // A creator takes the producer lock before sizing the object: held, it is being created.
  const int creator = ::open(("/dev/shm/" + d::ring_object_name(guard.name)).c_str(), O_RDWR);
  REQUIRE(creator >= 0);
  REQUIRE(d::try_lock_producer(creator));
  expect_refused(guard.name, Errc::not_ready);
  ::close(creator);
  expect_refused(guard.name, Errc::abandoned);  // the creator went away without finishing
}

TEST_CASE("hostile shm: open_or_create replaces an abandoned object, never one being created", "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-abandoned"));
  write_object(guard.name, nullptr, 0, 0);
  const int creator = ::open(("/dev/shm/" + d::ring_object_name(guard.name)).c_str(), O_RDWR);
  REQUIRE(creator >= 0);
  REQUIRE(d::try_lock_producer(creator));
  try {
    (void)Producer::open_or_create(guard.name, Geometry{.ring_bytes = 4096});
    FAIL("replaced an object being created");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::not_ready);
  }
  ::close(creator);
  Producer p = Producer::open_or_create(guard.name, Geometry{.ring_bytes = 4096});
  CHECK(p.geometry() == (Geometry{.ring_bytes = 4096}));
}

TEST_CASE("hostile shm: each corrupt header gets its own Errc", "[fault][hostile]") {
  const Geometry g{.ring_bytes = 4096, .max_message = 104};
  const Geometry gs{.ring_bytes = 4096, .max_message = 104, .snapshot_capacity = 100};
  const std::vector<HeaderCase> cases = {
      {"wrong magic", Errc::foreign, [](d::RingHeader& h) { h.magic = 0x4c4c4548'4f4c4c45ull; }},
      {"version 1 (plain slot order)", Errc::version_mismatch, [](d::RingHeader& h) { h.version = 1; }},
      {"version 2 (fixed slots)", Errc::version_mismatch, [](d::RingHeader& h) { h.version = 2; }},
      {"a newer version", Errc::version_mismatch, [](d::RingHeader& h) { h.version = d::kLayoutVersion + 1; }},
      {"version 0", Errc::version_mismatch, [](d::RingHeader& h) { h.version = 0; }},
      {"header size", Errc::corrupt, [](d::RingHeader& h) { h.header_size = 128; }},
      {"data offset", Errc::corrupt, [](d::RingHeader& h) { h.data_offset = 448; }},
      {"ring bytes not a power of two", Errc::corrupt, [](d::RingHeader& h) { h.ring_bytes = 6144; }},
      {"ring bytes zero", Errc::corrupt, [](d::RingHeader& h) { h.ring_bytes = 0; }},
      {"ring bytes below 4 KiB", Errc::corrupt, [](d::RingHeader& h) { h.ring_bytes = 2048; }},
      {"ring bytes valid, but not the object's", Errc::corrupt, [](d::RingHeader& h) { h.ring_bytes = 8192; }},
      {"ring bytes huge", Errc::corrupt, [](d::RingHeader& h) { h.ring_bytes = std::uint64_t{1} << 40; }},
      {"ring bytes 2^63", Errc::corrupt, [](d::RingHeader& h) { h.ring_bytes = std::uint64_t{1} << 63; }},
      {"max message zero", Errc::corrupt, [](d::RingHeader& h) { h.max_message = 0; }},
      {"max message over half the ring", Errc::corrupt, [](d::RingHeader& h) { h.max_message = 1993; }},
      {"max message huge", Errc::corrupt, [](d::RingHeader& h) { h.max_message = 0xFFFF'FFFFu; }},
      {"record alignment", Errc::corrupt, [](d::RingHeader& h) { h.record_align = 64; }},
      {"record alignment zero", Errc::corrupt, [](d::RingHeader& h) { h.record_align = 0; }},
      {"index offset", Errc::corrupt, [](d::RingHeader& h) { h.index_offset -= 64; }},
      {"index offset zero", Errc::corrupt, [](d::RingHeader& h) { h.index_offset = 0; }},
      {"index offset past the object", Errc::corrupt, [](d::RingHeader& h) { h.index_offset = std::uint64_t{1} << 62; }},
      {"index entries fewer", Errc::corrupt, [](d::RingHeader& h) { h.index_entries = 64; }},
      {"index entries huge", Errc::corrupt, [](d::RingHeader& h) { h.index_entries = std::uint64_t{1} << 60; }},
      {"total size larger", Errc::corrupt, [](d::RingHeader& h) { h.total_size += 64; }},
      {"total size smaller", Errc::corrupt, [](d::RingHeader& h) { h.total_size = 384; }},
      {"snapshot offset without capacity", Errc::corrupt, [](d::RingHeader& h) { h.snapshot_offset = h.total_size; }},
      {"snapshot stride without capacity", Errc::corrupt, [](d::RingHeader& h) { h.snapshot_stride = 64; }},
  };
  const std::vector<HeaderCase> snapshot_cases = {
      {"snapshot offset", Errc::corrupt, [](d::RingHeader& h) { h.snapshot_offset -= 64; }},
      {"snapshot offset zero", Errc::corrupt, [](d::RingHeader& h) { h.snapshot_offset = 0; }},
      {"snapshot stride", Errc::corrupt, [](d::RingHeader& h) { h.snapshot_stride = 64; }},
      {"snapshot capacity huge", Errc::corrupt, [](d::RingHeader& h) { h.snapshot_capacity = std::uint64_t{1} << 40; }},
      {"snapshot capacity vs total size", Errc::corrupt, [](d::RingHeader& h) { h.snapshot_capacity = 1000; }},
  };
  auto run = [&](const Geometry& geometry, const HeaderCase& c) {
    test::RingGuard guard(test::unique_ring("hostile-hdr"));
    d::RingHeader h = valid_header(geometry);
    c.poke(h);
    write_header(guard.name, h, d::ring_size(geometry) + 4096);  // big enough: the header is what is wrong
    INFO(c.what);
    expect_refused(guard.name, c.code);
  };
  for (const HeaderCase& c : cases) run(g, c);
  for (const HeaderCase& c : snapshot_cases) run(gs, c);
}

TEST_CASE("hostile shm: truncated objects", "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-trunc"));
  const Geometry g{.ring_bytes = 8192, .max_message = 256, .snapshot_capacity = 1000};
  const d::RingHeader h = valid_header(g);
  SECTION("header intact, data cut short") { write_header(guard.name, h, d::kRingHeaderSize + 256); }
  SECTION("record index cut short") { write_header(guard.name, h, h.index_offset + 8 * h.index_entries / 2); }
  SECTION("snapshot area cut short") { write_header(guard.name, h, h.total_size - 1); }
  SECTION("magic present, producer line missing") { write_header(guard.name, h, 200); }
  expect_refused(guard.name, Errc::truncated);
}

TEST_CASE("hostile shm: the valid hand-made header is accepted (the cases above fail for their one reason)",
          "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-ok"));
  const Geometry g{.ring_bytes = 4096, .max_message = 104, .snapshot_capacity = 100};
  const d::RingHeader h = valid_header(g);
  write_header(guard.name, h, h.total_size);
  Reader r(guard.name);
  CHECK(r.geometry() == g);
  CHECK(r.try_read().status == ReadStatus::empty);
  CHECK(r.oldest() == 0);
  CHECK_FALSE(r.registered());  // no registry object: attach works, registration does not
  CHECK_FALSE(r.registration_error().empty());
}

TEST_CASE("hostile shm: a foreign or truncated registry never breaks attaching or reading", "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-reg"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 4096, .max_message = 104});
  p.publish(bytes_of("before"));
  const std::string registry = test::shm_name(d::registry_object_name(guard.name));
  SECTION("foreign registry") {
    ::shm_unlink(registry.c_str());
    const int fd = ::shm_open(registry.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    REQUIRE(fd >= 0);
    std::vector<unsigned char> junk(d::registry_size(shmcast::kDefaultMaxReaders), 0xA5);
    REQUIRE(::write(fd, junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
    ::close(fd);
  }
  SECTION("truncated registry") {
    const int fd = ::shm_open(registry.c_str(), O_RDWR, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, 100) == 0);
    ::close(fd);
  }
  SECTION("a FIFO as the registry (opening it once waited for a writer for ever)") {
    ::shm_unlink(registry.c_str());
    REQUIRE(::mkfifo(("/dev/shm" + registry).c_str(), 0600) == 0);
  }
  ::alarm(30);  // an open that blocks on the registry fails by SIGALRM instead of hanging the suite
  ReaderOptions options;
  options.start = StartAt::oldest;
  Reader r(guard.name, options);
  CHECK_FALSE(r.registered());
  CHECK_FALSE(r.registration_error().empty());
  const ReadResult e = r.read(100ms);
  REQUIRE(e.status == ReadStatus::message);
  CHECK(text_of(e.message.payload) == "before");
  CHECK(r.read(50ms).status == ReadStatus::empty);  // blocking without a registry polls gently
  const RingStatus st = inspect(guard.name);
  CHECK_FALSE(st.registry_error.empty());
  CHECK(st.readers.empty());
  CHECK(reap_dead_readers(guard.name) == 0);
  ::alarm(0);
}

TEST_CASE("hostile shm: a FIFO under a ring's name is refused at once, never waited on", "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-fifo"));
  const std::string path = "/dev/shm" + test::shm_name(d::ring_object_name(guard.name));
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  ::alarm(30);  // opening it once blocked until a writer came: a hang fails by SIGALRM
  const auto refused = [&](const std::function<void()>& attach) {
    try {
      attach();
    } catch (const Error& e) {
      INFO(e.what());
      CHECK(e.code() == Errc::foreign);
      CHECK(std::string(e.what()).find(path + " is a FIFO, not a shared-memory object") != std::string::npos);
      return true;
    }
    return false;
  };
  CHECK(refused([&] { Reader r(guard.name); }));
  CHECK(refused([&] { (void)inspect(guard.name); }));
  CHECK(refused([&] { Producer p = Producer::open(guard.name); }));
  CHECK(refused([&] { Producer p = Producer::open_or_create(guard.name, Geometry{.ring_bytes = 4096}); }));
  ::alarm(0);
}

TEST_CASE("hostile shm: a reader's counters left mid-update are shown as unsettled, not as one moment's",
          "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-ctr"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 4096});
  Reader r(guard.name, {.label = "stuck"});
  REQUIRE(r.registered());
  CHECK(inspect(guard.name).readers.at(0).counters_settled);
  {
    // An owner killed (or stalled) inside its counters' seqlock leaves the version odd. The
    // version is the entry's second word, after pid and flags (docs/DESIGN.md, "The
    // registry object").
    const int fd = ::shm_open(test::shm_name(d::registry_object_name(guard.name)).c_str(), O_RDWR, 0);
    REQUIRE(fd >= 0);
    void* map = ::mmap(nullptr, d::registry_size(kDefaultMaxReaders), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    REQUIRE(map != MAP_FAILED);
    auto* version = reinterpret_cast<std::uint64_t*>(static_cast<std::byte*>(map) + d::kRegistryEntriesOffset + 8);
    std::atomic_ref<std::uint64_t>(*version).store(std::atomic_ref<std::uint64_t>(*version).load() | 1);
    ::munmap(map, d::registry_size(kDefaultMaxReaders));
  }
  const RingStatus st = inspect(guard.name);
  REQUIRE(st.readers.size() == 1);
  CHECK(st.readers[0].label == "stuck");
  CHECK_FALSE(st.readers[0].counters_settled);
}

TEST_CASE("hostile shm: a record whose length exceeds what it may hold is reported as a 1-message gap, never read past",
          "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-len"));
  const std::string& name = guard.name;
  Producer p = Producer::create(name, Geometry{.ring_bytes = 4096, .max_message = 104});
  alignas(8) std::byte buf[104];
  for (std::uint64_t i = 0; i < 4; ++i) p.publish(std::span<const std::byte>(buf, test::fill_payload(buf, 104, i)));
  const std::uint32_t poked = GENERATE(105u, 128u, 4096u, 0x8000'0000u, 0xFFFF'FFFEu, 0xFFFF'FFFFu);
  INFO("length poked to " << poked);
  ReaderOptions options;
  options.start = StartAt::oldest;
  Reader r(name, options);
  ReadResult e = r.try_read();
  REQUIRE(e.status == ReadStatus::message);
  CHECK(e.message.seq == 0);
  {
    // Message 1's header rewritten with the poked length; for 0xFFFFFFFF (a skip record)
    // the timestamp 1 is a target not past the record: still one message.
    test::RawRing raw(name);
    const std::optional<std::uint64_t> at = raw.position_of(1);
    REQUIRE(at);
    raw.record(*at).set_meta(poked, raw.record(*at).meta().type, 1);
  }
  e = r.try_read();
  REQUIRE(e.status == ReadStatus::gap);
  CHECK(e.gap.first == 1);
  CHECK(e.gap.missed == 1);
  CHECK(e.gap.cause == GapCause::corrupt);  // neither overwritten nor skipped
  for (std::uint64_t seq = 2; seq < 4; ++seq) {
    e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == seq);
    CHECK(e.message.payload.size() == 104);
    CHECK(test::verify_payload(e.message.payload, seq));
  }
  CHECK(r.delivered() + r.missed() == 4);
}

namespace {

struct Mapping {
  std::uintptr_t start = 0;
  std::string perms;
  bool operator==(const Mapping&) const = default;
};

// Every mapping of `path` in /proc/self/maps.
std::vector<Mapping> mappings_of(const std::string& path) {
  std::vector<Mapping> out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, file;
    fields >> range >> perms >> offset >> dev >> inode >> file;
    if (file == path) out.push_back({std::stoull(range.substr(0, range.find('-')), nullptr, 16), perms});
  }
  return out;
}

// The mappings of `path` that `after` has and `before` had not.
std::vector<Mapping> new_mappings(const std::vector<Mapping>& before, const std::vector<Mapping>& after) {
  std::vector<Mapping> out;
  for (const Mapping& m : after)
    if (std::find(before.begin(), before.end(), m) == before.end()) out.push_back(m);
  return out;
}

constexpr int kFaulted = 42;

void on_segv(int) { ::_exit(kFaulted); }

}  // namespace

TEST_CASE("hostile shm: a reader maps the ring read-only, and writing through its mapping faults", "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-ro"));
  Producer p = Producer::create(guard.name, Geometry{.ring_bytes = 4096, .max_message = 104});
  p.publish(bytes_of("x"));
  const pid_t child = test::spawn([&] {
    // The child inherited the producer's read-write mappings: look at what the Reader adds.
    const std::string ring = d::object_path(d::ring_object_name(guard.name));
    const std::string registry = ring + ".readers";
    const std::vector<Mapping> ring_before = mappings_of(ring), registry_before = mappings_of(registry);
    Reader r(guard.name);
    const std::vector<Mapping> ring_new = new_mappings(ring_before, mappings_of(ring));
    const std::vector<Mapping> registry_new = new_mappings(registry_before, mappings_of(registry));
    if (ring_new.size() != 1 || ring_new[0].perms != "r--s") return 2;
    if (registry_new.size() != 1 || registry_new[0].perms != "rw-s") return 3;
    const std::uintptr_t start = ring_new[0].start;
    struct sigaction sa {};
    sa.sa_handler = &on_segv;
    ::sigaction(SIGSEGV, &sa, nullptr);
    ::sigaction(SIGBUS, &sa, nullptr);
    // Overwrite the head in the producer line through the reader's own mapping.
    auto* head = reinterpret_cast<volatile std::uint64_t*>(start + d::kProducerLineOffset);
    *head = 12345;
    return 4;  // the write went through
  });
  const int rc = test::wait_exit(child);
  INFO("child exit " << rc << " (2: ring not r--s, 3: registry not rw-s, 4: write not refused)");
  CHECK(rc == kFaulted);
  CHECK(p.head() == 1);
  CHECK(inspect(guard.name).head == 1);
}

TEST_CASE("hostile shm: an index entry pointing laps ahead never places a reader", "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-index"));
  const std::string& name = guard.name;
  Producer p = Producer::create(name, Geometry{.ring_bytes = 4096});
  alignas(8) std::byte buf[24];
  const std::span<const std::byte> payload(buf, 24);  // with its header, a 64-byte record
  std::uint64_t seq = 0;
  const auto publish = [&] {
    test::fill_payload(buf, 24, seq++);
    p.publish(payload);
  };
  for (int i = 0; i < 10; ++i) publish();
  const std::uint64_t laps = GENERATE(1u, 2u);
  INFO("the newest entry moved " << laps << " lap(s) ahead");
  {
    test::RawRing raw(name);
    const std::uint64_t newest = raw.producer().records() - 1;
    raw.index(newest).set(raw.index(newest).position() + laps * raw.ring_bytes());
  }
  Reader r(name, ReaderOptions{.start = StartAt::latest});
  publish();  // message 10: the reader's first event fixes its start
  ReadResult e = r.try_read();
  REQUIRE(e.status == ReadStatus::message);
  CHECK(e.message.seq == 10);
  CHECK(test::verify_payload(e.message.payload, 10));
  // More than a lap: the reader must learn it was lapped. A reader placed by the entry
  // would stand a lap or more ahead of where it reads, and every horizon check would pass:
  // it would wait for a stamp that never comes (and take a forged one for a record).
  for (int i = 0; i < 80; ++i) publish();
  e = r.try_read();
  REQUIRE(e.status == ReadStatus::gap);
  CHECK(e.gap.first == 11);
  std::uint64_t next = e.gap.first + e.gap.missed;
  while ((e = r.try_read())) {
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == next++);
    CHECK(test::verify_payload(e.message.payload, e.message.seq));
  }
  CHECK(r.position() == p.head());
  CHECK(r.delivered() + r.missed() == r.position() - r.start());
}

TEST_CASE("hostile shm: a head or a stamp past the last sequence never makes a message", "[fault][hostile]") {
  test::RingGuard guard(test::unique_ring("hostile-head"));
  const std::string& name = guard.name;
  Producer p = Producer::create(name, Geometry{.ring_bytes = 4096});
  // A head past the last sequence's successor (2^64 - 1, whose message would carry the
  // padding stamp, or 2^64 - 2) was never a producer's: refused at attach, as corrupt.
  for (const std::uint64_t head : {~std::uint64_t{0}, ~std::uint64_t{0} - 1}) {
    INFO("head " << head);
    {
      test::RawRing raw(name);
      raw.producer().publish_position(head, 0, 0);
    }
    expect_refused(name, Errc::corrupt);
  }
  // A fresh ring whose head is 2^63, the last sequence's successor, a head a producer can
  // reach: nothing to read.
  {
    test::RawRing raw(name);
    raw.producer().publish_position(kMaxSequence + 1, 0, 0);
  }
  for (const StartAt start : {StartAt::latest, StartAt::oldest}) {
    Reader r(name, ReaderOptions{.start = start});
    for (int i = 0; i < 4; ++i) CHECK(r.try_read().status == ReadStatus::empty);
    Message m[4];
    CHECK(r.peek(m).count == 0);
    CHECK(r.delivered() == 0);
  }
  // A committed record whose stamp claims a sequence past the last: not a place to stand.
  {
    test::RawRing raw(name);
    raw.producer().publish_position(0, 0, 0);
    const std::byte b[8]{};
    raw.commit_message(0, 0, kMaxSequence + 1, b);
    raw.producer().publish_position(kMaxSequence + 1, 1, 32);
    Reader r(name, ReaderOptions{.start = StartAt::latest});
    for (int i = 0; i < 4; ++i) CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.delivered() == 0);
  }
}
