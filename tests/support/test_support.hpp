// Helpers shared by the test suites: unique ring names, checksummed payloads that make
// a torn message detectable, and fork/wait plumbing. Catch2's assertions are not thread
// safe and do not cross fork(): children report through their exit code.
#pragma once

#include <shmcast/shmcast.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SHMCAST_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SHMCAST_TEST_SANITIZED 1
#endif
#endif
#ifndef SHMCAST_TEST_SANITIZED
#define SHMCAST_TEST_SANITIZED 0
#endif

namespace shmcast::test {

// Sanitized builds run 5-15x slower (scale iteration counts down) and reserve terabytes of
// shadow address space (an address-space limit cannot be used to bound allocations).
inline constexpr bool kSanitized = SHMCAST_TEST_SANITIZED != 0;

// A ring name no other test (or concurrent ctest job) uses; removed by RingGuard.
inline std::string unique_ring(const std::string& tag) {
  static std::atomic<int> counter{0};
  return "test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

// "m7" for ("m", 7). (Not "m" + std::to_string(7): GCC 12 warns -Wrestrict on that, wrongly.)
inline std::string numbered(const char* prefix, std::uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

struct RingGuard {
  std::string name;
  explicit RingGuard(std::string n) : name(std::move(n)) { Producer::remove(name); }
  ~RingGuard() {
    try {
      Producer::remove(name);
    } catch (...) {
    }
  }
};

// FNV-1a, enough to catch any torn mix of two messages.
inline std::uint64_t fnv1a(const std::byte* p, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<std::uint64_t>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

// Payload layout: [seq u64][len u32][pad u32][body bytes derived from seq][fnv1a of all before, u64].
// Minimum size 24. Any torn or misplaced copy fails verify_payload.
inline std::size_t fill_payload(std::byte* out, std::size_t size, std::uint64_t seq) {
  if (size < 24) size = 24;
  std::memcpy(out, &seq, 8);
  const auto len = static_cast<std::uint32_t>(size);
  std::memcpy(out + 8, &len, 4);
  std::memset(out + 12, 0, 4);
  std::uint64_t x = seq * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 16; i < size - 8; ++i) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    out[i] = static_cast<std::byte>(x);
  }
  const std::uint64_t sum = fnv1a(out, size - 8);
  std::memcpy(out + size - 8, &sum, 8);
  return size;
}

// True if the payload is intact and carries `seq`.
inline bool verify_payload(std::span<const std::byte> p, std::uint64_t seq) {
  if (p.size() < 24) return false;
  std::uint64_t got_seq = 0, sum = 0;
  std::uint32_t len = 0;
  std::memcpy(&got_seq, p.data(), 8);
  std::memcpy(&len, p.data() + 8, 4);
  std::memcpy(&sum, p.data() + p.size() - 8, 8);
  return got_seq == seq && len == p.size() && sum == fnv1a(p.data(), p.size() - 8);
}

// Payloads of any size from 0 up, for rings of variable-length records: the size and
// every byte derive from the sequence, so a reader checks a message of 0 bytes (its
// length) as surely as one of 8 KiB (every byte), and a record of another lap, or a torn
// mix of two, fails.
inline std::uint64_t mix64(std::uint64_t x) noexcept {  // splitmix64's finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The size of message `seq` in a stream whose largest message is `max`: half of them small
// (0-64 bytes, where the copies change most), half anywhere from 0 to max.
inline std::size_t sized_length(std::uint64_t seq, std::size_t max) noexcept {
  const std::uint64_t r = mix64(seq ^ 0x5EED5EEDull);
  const std::size_t size = (r & 1) != 0 ? static_cast<std::size_t>((r >> 1) % 65) : static_cast<std::size_t>((r >> 1) % (max + 1));
  return size < max ? size : max;
}

// The user type message `seq` carries.
inline std::uint32_t sized_type(std::uint64_t seq) noexcept { return static_cast<std::uint32_t>(mix64(seq) >> 32); }

// Fills `size` bytes with the pattern of `seq`: word j is mix64(seq * 2^20 + j).
inline void fill_pattern(std::byte* out, std::size_t size, std::uint64_t seq) noexcept {
  for (std::size_t j = 0; 8 * j < size; ++j) {
    const std::uint64_t w = mix64((seq << 20) + j);
    std::memcpy(out + 8 * j, &w, std::min<std::size_t>(8, size - 8 * j));
  }
}

inline bool check_pattern(std::span<const std::byte> p, std::uint64_t seq) noexcept {
  for (std::size_t j = 0; 8 * j < p.size(); ++j) {
    const std::uint64_t w = mix64((seq << 20) + j);
    if (std::memcmp(p.data() + 8 * j, &w, std::min<std::size_t>(8, p.size() - 8 * j)) != 0) return false;
  }
  return true;
}

// Message `seq` of a stream whose largest message is `max`; returns its size. `out` has room for max bytes.
inline std::size_t fill_sized(std::byte* out, std::uint64_t seq, std::size_t max) noexcept {
  const std::size_t size = sized_length(seq, max);
  fill_pattern(out, size, seq);
  return size;
}

// True if `p` is exactly message `seq` of such a stream.
inline bool verify_sized(std::span<const std::byte> p, std::uint64_t seq, std::size_t max) noexcept {
  return p.size() == sized_length(seq, max) && check_pattern(p, seq);
}

// Runs `body` in a child process; returns its pid. The child exits with body's result.
inline pid_t spawn(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 1;
    try {
      rc = body();
    } catch (...) {
      rc = 99;
    }
    std::_Exit(rc);
  }
  return pid;
}

// Waits for `pid`; returns its exit code, or 128 + signal if it was killed.
inline int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace shmcast::test
