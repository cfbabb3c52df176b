// Bad input gets a distinct, clear error: names, geometry, missing rings, foreign,
// truncated and unfinished objects. And a reader's mapping really is read-only.
#include <catch2/catch.hpp>

#include "layout.hpp"
#include "raw_ring.hpp"
#include "test_support.hpp"

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sys/mman.h>
#include <unistd.h>

using namespace shmcast;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

Errc attach_error(const std::string& name, std::string* message = nullptr) {
  try {
    Reader r(name, {.attach_timeout = std::chrono::milliseconds(50)});
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
  FAIL("attach succeeded on " << name);
  return Errc::system;
}

// Writes a raw object /dev/shm/shmcast.NAME with the given bytes.
void write_object(const std::string& name, const std::vector<std::byte>& bytes) {
  const int fd = ::shm_open(("/shmcast." + name).c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  if (!bytes.empty()) REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

std::vector<std::byte> read_object(const std::string& name) {
  std::ifstream in("/dev/shm/shmcast." + name, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), {});
  std::vector<std::byte> out(raw.size());
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

}  // namespace

TEST_CASE("invalid names and geometry are refused with the reason", "[errors]") {
  const Geometry ok{.ring_bytes = 4096};
  for (const char* bad : {"", "a/b", ".hidden", "x y", "ring.readers"}) {
    INFO("name '" << bad << "'");
    CHECK_THROWS_MATCHES(Producer::create(bad, ok), Error,
                         Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::invalid_argument; }));
  }
  // A refused name is quoted escaped: whole (a NUL does not end the message) and unable to
  // drive a terminal.
  try {
    Producer::create(std::string("a\x1b[31m\\b\0c\xe2\x80\xae", 13), ok);
    FAIL("an invalid name was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "invalid ring name 'a\\x1b[31m\\\\b\\x00c\\xe2\\x80\\xae': use only letters, digits, '.', '_' and '-'");
  }
  RingGuard g(unique_ring("geometry"));
  struct Bad {
    Geometry geometry;
    const char* why;
  };
  const Bad bad_ones[] = {
      {{.ring_bytes = 0}, "must be a power of two from 4 KiB to 64 GiB"},
      {{.ring_bytes = 6144}, "must be a power of two from 4 KiB to 64 GiB"},
      {{.ring_bytes = 2048}, "must be a power of two from 4 KiB to 64 GiB"},
      {{.ring_bytes = std::uint64_t{1} << 37}, "must be a power of two from 4 KiB to 64 GiB"},
      {{.ring_bytes = 4096, .max_message = 1993}, "at most half the ring less 56 bytes (1992 here)"},
      {{.ring_bytes = 4096, .max_message = 0xFFFF'FFFFu}, "at most half the ring less 56 bytes"},
      {{.ring_bytes = std::uint64_t{1} << 36, .max_message = (1u << 30) + 1}, "at most 1 GiB"},
      {{.ring_bytes = 4096, .snapshot_capacity = (std::uint64_t{1} << 32) + 1}, "snapshot capacity"},
  };
  for (const Bad& bad : bad_ones) {
    INFO("ring_bytes " << bad.geometry.ring_bytes << ", max_message " << bad.geometry.max_message);
    CHECK_THAT(geometry_problem(bad.geometry), Catch::Contains(bad.why));
    try {
      (void)Producer::create(g.name, bad.geometry);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::invalid_argument);
      CHECK_THAT(e.what(), Catch::Contains(bad.why));
    }
  }
  const std::vector<std::string> rings = list_rings();
  CHECK(std::find(rings.begin(), rings.end(), g.name) == rings.end());
  // The edges themselves are valid.
  CHECK(geometry_problem({.ring_bytes = 4096, .max_message = 1992}).empty());
  CHECK(geometry_problem({.ring_bytes = 4096, .max_message = 1}).empty());
  CHECK(geometry_problem({.ring_bytes = std::uint64_t{1} << 36}).empty());  // max_message: 1 GiB
  CHECK(Geometry{.ring_bytes = std::uint64_t{1} << 36}.message_limit() == 1u << 30);
  Producer p = Producer::create(g.name, {.ring_bytes = 4096, .max_message = 1992});
  const std::vector<std::byte> largest(1992, std::byte{7});
  Reader r(g.name, {.start = StartAt::oldest});
  for (int i = 0; i < 5; ++i) p.publish(largest);  // two of them fill a lap
  CHECK(r.try_read().status != ReadStatus::empty);
}

TEST_CASE("attach errors: missing, foreign, wrong version, truncated, unfinished", "[errors]") {
  RingGuard g(unique_ring("attach"));
  std::string message;
  SECTION("missing ring") {
    CHECK(attach_error(g.name, &message) == Errc::not_found);
    CHECK_THAT(message, Catch::Contains(g.name) && Catch::Contains("does not exist"));
    CHECK_THROWS_AS(Producer::open(g.name), Error);
  }
  SECTION("a foreign object under the name") {
    write_object(g.name, std::vector<std::byte>(4096, std::byte{0x5a}));
    CHECK(attach_error(g.name, &message) == Errc::foreign);
    CHECK_THAT(message, Catch::Contains("not a shmcast ring"));
  }
  SECTION("an object created but never initialised, and nobody creating it") {
    write_object(g.name, std::vector<std::byte>(8192, std::byte{0}));
    CHECK(attach_error(g.name, &message) == Errc::abandoned);
    CHECK_THAT(message, Catch::Contains("not initialised") && Catch::Contains("no process is creating it"));
    write_object(g.name, {});
    CHECK(attach_error(g.name, &message) == Errc::abandoned);
    CHECK_THAT(message, Catch::Contains("empty object"));
  }
  SECTION("valid rings damaged afterwards") {
    { Producer p = Producer::create(g.name, {.ring_bytes = 4096}); }
    std::vector<std::byte> good = read_object(g.name);
    auto* h = reinterpret_cast<detail::RingHeader*>(good.data());
    SECTION("a newer layout version") {
      h->version = 99;
      write_object(g.name, good);
      CHECK(attach_error(g.name, &message) == Errc::version_mismatch);
      CHECK_THAT(message, Catch::Contains("version 99") && Catch::Contains("the build that created it"));
    }
    SECTION("truncated") {
      good.resize(good.size() - 64);
      write_object(g.name, good);
      CHECK(attach_error(g.name, &message) == Errc::truncated);
      CHECK_THAT(message, Catch::Contains("truncated"));
    }
    SECTION("truncated inside the header") {
      good.resize(200);
      write_object(g.name, good);
      CHECK(attach_error(g.name) == Errc::truncated);
    }
    SECTION("truncated short of its first line, the magic kept: truncated, not an unfinished ring") {
      good.resize(GENERATE(8, 64, 127));
      write_object(g.name, good);
      CHECK(attach_error(g.name, &message) == Errc::truncated);
      CHECK_THAT(message, Catch::Contains("truncated"));
    }
    SECTION("a head past the last sequence's successor: corrupt, for readers, observers and a successor") {
      reinterpret_cast<detail::RingPrefix*>(good.data())->producer.head_.store(0xff00000000000400ull);
      write_object(g.name, good);
      CHECK(attach_error(g.name, &message) == Errc::corrupt);
      CHECK_THAT(message, Catch::Contains("past the last sequence"));
      const auto corrupt = Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::corrupt; });
      CHECK_THROWS_MATCHES(inspect(g.name), Error, corrupt);
      CHECK_THROWS_MATCHES(Producer::open(g.name), Error, corrupt);
    }
    SECTION("header fields that contradict each other") {
      const int field = GENERATE(0, 1, 2, 3, 4, 5, 6);
      switch (field) {
        case 0: h->ring_bytes = 6144; break;
        case 1: h->ring_bytes = 8192; break;  // a valid size, but not the object's
        case 2: h->max_message = 0; break;
        case 3: h->max_message = 2000; break;  // over half the ring less 56
        case 4: h->index_offset += 64; break;
        case 5: h->index_entries = 64; break;
        case 6: h->record_align = 64; break;
      }
      INFO("field case " << field);
      write_object(g.name, good);
      CHECK(attach_error(g.name, &message) == Errc::corrupt);
      CHECK_THAT(message, Catch::Contains("corrupt"));
    }
  }
  SECTION("a ring of layout version 2 (fixed slots): refused, and told to recreate it") {
    // The v2 header as v2 builds wrote it: 16 slots of 64 bytes after a 384-byte prefix.
    struct V2Header {
      std::uint64_t magic, version_and_header_size, slot_count;
      std::uint32_t slot_size, payload_capacity;
      std::uint64_t snapshot_capacity, total_size, creation_time_ns, ring_id, slots_offset, snapshot_offset,
          snapshot_stride;
    };
    std::vector<std::byte> v2(384 + 16 * 64);
    const V2Header header{detail::kRingMagic, 2 | (std::uint64_t{384} << 32), 16, 64, 40, 0, 384 + 16 * 64, 1, 7, 384, 0, 0};
    std::memcpy(v2.data(), &header, sizeof header);
    write_object(g.name, v2);
    CHECK(attach_error(g.name, &message) == Errc::version_mismatch);
    CHECK_THAT(message, Catch::Contains(g.name) && Catch::Contains("layout version 2") && Catch::Contains("version 3") &&
                            Catch::Contains("recreate", Catch::CaseSensitive::No));
    CHECK_THROWS_MATCHES(Producer::open(g.name), Error,
                         Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::version_mismatch; }));
    CHECK_THROWS_MATCHES(inspect(g.name), Error,
                         Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::version_mismatch; }));
    // Recreating it, as the message says, works.
    Producer p = Producer::create(g.name, {.ring_bytes = 4096}, {.replace = true});
    CHECK_NOTHROW(Reader(g.name));
  }
}

TEST_CASE("a reader's mapping of the ring is read-only: a write through it faults", "[errors][permissions]") {
  RingGuard g(unique_ring("rdonly"));
  Producer p = Producer::create(g.name, {.ring_bytes = 4096});
  constexpr int kFaulted = 77;
  const pid_t child = shmcast::test::spawn([&] {
    // Our own handler, so the verdict does not depend on how a sanitizer reports SIGSEGV.
    struct sigaction sa {};
    sa.sa_handler = [](int) { ::_exit(kFaulted); };
    ::sigaction(SIGSEGV, &sa, nullptr);
    ::sigaction(SIGBUS, &sa, nullptr);
    Reader r(g.name);
    // Find the reader's own mapping of the ring and write into it.
    std::ifstream maps("/proc/self/maps");
    std::string line;
    const std::string object = "/dev/shm/shmcast." + g.name;
    while (std::getline(maps, line)) {
      if (line.size() < object.size() || line.compare(line.size() - object.size(), object.size(), object) != 0) continue;
      if (line.find(" r--s ") == std::string::npos) return 3;  // mapped writable: a failure
      auto* address = reinterpret_cast<volatile std::uint64_t*>(std::stoull(line, nullptr, 16));
      *address = 0;  // must raise SIGSEGV
      return 4;
    }
    return 5;  // no mapping found
  });
  CHECK(shmcast::test::wait_exit(child) == kFaulted);
}

TEST_CASE("publish_at and skip_to refuse sequences that go back or past kMaxSequence, writing nothing", "[errors]") {
  RingGuard ring(unique_ring("maxseq"));
  Producer p = Producer::create(ring.name, {.ring_bytes = 4096});
  p.publish(bytes_of("a"));
  const auto refused = [&](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return e.code() == Errc::invalid_argument;
    }
    return false;
  };
  REQUIRE(refused([&] { p.publish_at(kMaxSequence + 1, bytes_of("x")); }));
  REQUIRE(refused([&] { p.skip_to(~std::uint64_t{0}); }));
  REQUIRE(refused([&] { p.publish_at(0, bytes_of("x")); }));
  REQUIRE(p.head() == 1);
  p.skip_to(kMaxSequence);  // the largest is allowed
  REQUIRE(p.head() == kMaxSequence);
  Reader r(ring.name, {.start = StartAt::sequence, .start_seq = 0});
  ReadResult e = r.try_read();
  REQUIRE(e.status == ReadStatus::message);
  e = r.try_read();
  REQUIRE(e.status == ReadStatus::gap);
  REQUIRE(e.gap.first == 1);
  REQUIRE(e.gap.missed == kMaxSequence - 1);
}

TEST_CASE("the last sequence: kMaxSequence is published once, then publish and claim refuse, writing nothing",
          "[errors]") {
  RingGuard ring(unique_ring("lastseq"));
  Producer p = Producer::create(ring.name, {.ring_bytes = 4096});
  Reader r(ring.name, {.start = StartAt::sequence, .start_seq = kMaxSequence});
  REQUIRE(p.publish_at(kMaxSequence, bytes_of("last")) == kMaxSequence);
  REQUIRE(p.head() == kMaxSequence + 1);
  const auto refused = [&](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return e.code() == Errc::invalid_argument && std::string(e.what()).find("last sequence") != std::string::npos;
    }
    return false;
  };
  CHECK(refused([&] { p.publish(bytes_of("past")); }));
  CHECK(refused([&] { (void)p.claim(8); }));
  CHECK(p.head() == kMaxSequence + 1);
  const ReadResult e = r.try_read();
  REQUIRE(e.status == ReadStatus::message);
  CHECK(e.message.seq == kMaxSequence);
  CHECK(r.try_read().status == ReadStatus::empty);  // nothing numbered 2^63 was written
  Reader latest(ring.name, {.start = StartAt::latest});
  CHECK(latest.position() == kMaxSequence + 1);
}

TEST_CASE("takeover keeps a committed message numbered kMaxSequence whose head its dead producer never stored",
          "[errors][takeover]") {
  RingGuard ring(unique_ring("lastseq-takeover"));
  {
    Producer p = Producer::create(ring.name, {.ring_bytes = 4096});
    p.publish(bytes_of("a"));                      // 0 at 0
    p.publish_at(kMaxSequence, bytes_of("last"));  // a skip record at 32, the message at 64, tail 96
    // As if it died after the commit and before storing its position.
    shmcast::test::RawRing raw(ring.name);
    detail::ProducerLine& line = raw.producer();
    line.publish_position(kMaxSequence, line.records() - 1, line.tail() - 32);
  }
  Reader r(ring.name, {.start = StartAt::sequence, .start_seq = kMaxSequence});
  Producer q = Producer::open(ring.name);
  CHECK(q.head() == kMaxSequence + 1);  // not kMaxSequence, which would reuse the sequence
  CHECK_THROWS_AS(q.publish_at(kMaxSequence, bytes_of("other")), Error);
  const ReadResult e = r.try_read();
  REQUIRE(e.status == ReadStatus::message);
  CHECK(e.message.seq == kMaxSequence);
  CHECK(std::string(text_of(e.message.payload)) == "last");
}
