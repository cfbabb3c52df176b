// Bad input gets a distinct, clear error: names, geometry, missing rings, foreign,
// truncated and unfinished objects. And a reader's mapping really is read-only.
#include <catch2/catch.hpp>

#include "layout.hpp"
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
  const Geometry ok{.slot_count = 16, .slot_size = 64};
  for (const char* bad : {"", "a/b", ".hidden", "x y", "ring.readers"}) {
    INFO("name '" << bad << "'");
    CHECK_THROWS_MATCHES(Producer::create(bad, ok), Error,
                         Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::invalid_argument; }));
  }
  RingGuard g(unique_ring("geometry"));
  for (Geometry bad : {Geometry{.slot_count = 12, .slot_size = 64}, Geometry{.slot_count = 1, .slot_size = 64},
                       Geometry{.slot_count = 16, .slot_size = 100}, Geometry{.slot_count = 16, .slot_size = 0}}) {
    CHECK_THROWS_MATCHES(Producer::create(g.name, bad), Error,
                         Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::invalid_argument; }));
  }
  const std::vector<std::string> rings = list_rings();
  CHECK(std::find(rings.begin(), rings.end(), g.name) == rings.end());
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
    { Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64}); }
    std::vector<std::byte> good = read_object(g.name);
    auto* h = reinterpret_cast<detail::RingHeader*>(good.data());
    SECTION("another layout version") {
      h->version = 99;
      write_object(g.name, good);
      CHECK(attach_error(g.name, &message) == Errc::version_mismatch);
      CHECK_THAT(message, Catch::Contains("version 99"));
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
    SECTION("header fields that contradict each other") {
      h->slot_count = 24;
      write_object(g.name, good);
      CHECK(attach_error(g.name, &message) == Errc::corrupt);
      CHECK_THAT(message, Catch::Contains("corrupt"));
    }
  }
}

TEST_CASE("a reader's mapping of the ring is read-only: a write through it faults", "[errors][permissions]") {
  RingGuard g(unique_ring("rdonly"));
  Producer p = Producer::create(g.name, {.slot_count = 16, .slot_size = 64});
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
