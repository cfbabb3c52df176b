// Payload copies between private memory and the ring, chosen at compile time
// (docs/DESIGN.md, "Copy paths shipped per build").
//  - The word copies move one relaxed 8-byte atomic word at a time. With the horizon's
//    fences they keep the seqlock free of data races in the C++ memory model (Boehm 2012):
//    a reader may copy a record the producer is overwriting, but both sides' accesses are
//    atomic, and the horizon check discards such a copy. Every build uses them for small
//    payloads, and ThreadSanitizer builds and other architectures for every payload.
//  - On x86-64 outside ThreadSanitizer, store_payload and load_payload move larger payloads
//    with plain 16-byte SSE accesses and `rep movsb`. In C++ terms those are data races
//    with a lapped reader; x86-TSO and the horizon check make them harmless (the argument
//    is in docs/DESIGN.md). TSan checks the word path only;
//    tests/core/copy_path_stress_test.cpp runs these paths across processes.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

// ThreadSanitizer builds keep the word copies, so that TSan checks the protocol with
// accesses it understands. GCC defines __SANITIZE_THREAD__; clang says so through
// __has_feature(thread_sanitizer).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHMCAST_UNDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SHMCAST_UNDER_TSAN 1
#endif

#if defined(__x86_64__) && !defined(SHMCAST_UNDER_TSAN)
#include <immintrin.h>
#define SHMCAST_WIDE_PAYLOAD_COPY 1
#endif

namespace shmcast::detail {

inline std::atomic_ref<std::uint64_t> word_at(const std::byte* p) noexcept {
  return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(const_cast<std::byte*>(p)));
}

// Copies `len` bytes from private `src` to the 8-byte aligned shared `dst`. The last
// partial word is zero-padded: the bytes past `len` in a record are never meaningful.
inline void store_words(std::byte* dst, const std::byte* src, std::size_t len) noexcept {
  const std::size_t full = len / 8;
  for (std::size_t i = 0; i < full; ++i) {
    std::uint64_t w;
    std::memcpy(&w, src + 8 * i, 8);
    word_at(dst + 8 * i).store(w, std::memory_order_relaxed);
  }
  if (const std::size_t rest = len % 8; rest != 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, src + 8 * full, rest);
    word_at(dst + 8 * full).store(w, std::memory_order_relaxed);
  }
}

// Writes `len` bytes at any byte offset of an 8-byte aligned shared area owned by the
// caller (the producer's claimed record): partial words are merged with what is there.
inline void store_bytes_at(std::byte* area, std::size_t offset, const std::byte* src, std::size_t len) noexcept {
  while (len != 0) {
    const std::size_t word = offset / 8;
    const std::size_t in_word = offset % 8;
    const std::size_t n = std::min<std::size_t>(8 - in_word, len);
    auto ref = word_at(area + 8 * word);
    std::uint64_t w = (n == 8) ? 0 : ref.load(std::memory_order_relaxed);
    std::memcpy(reinterpret_cast<std::byte*>(&w) + in_word, src, n);
    ref.store(w, std::memory_order_relaxed);
    offset += n;
    src += n;
    len -= n;
  }
}

// Copies ceil(len / 8) whole words from shared `src` into the 8-byte aligned private
// `dst`, which must have room for them.
inline void load_words(std::byte* dst, const std::byte* src, std::size_t len) noexcept {
  const std::size_t words = (len + 7) / 8;
  for (std::size_t i = 0; i < words; ++i) {
    const std::uint64_t w = word_at(src + 8 * i).load(std::memory_order_relaxed);
    std::memcpy(dst + 8 * i, &w, 8);
  }
}

// From this size (x86-64, not TSan) the producer writes a payload with one `rep movsb` (16
// bytes a store where that would meet 4 KiB aliasing: string_copy_aliases) and the reader
// copies it 16 bytes a load. x86 does not reorder a string store's stores with
// the horizon and stamp stores around it, and keeps the reader's loads before its horizon check
// (docs/DESIGN.md, "Copy paths shipped per build"). The cut is where the string store
// stopped costing the producer more than smaller stores (bench/README.md, "Payload copy paths").
inline constexpr std::size_t kWideCopyBytes = 1024;

// From this size up to kWideCopyBytes, and past it where `rep movsb` would meet 4 KiB
// aliasing (x86-64, not TSan), the producer writes 16 bytes a store, which x86 keeps in
// program order between the horizon and the stamp; the reader keeps word loads. The cut
// is past the 40 payload bytes a record's first line holds. Known cost: at 48-56 B the
// third store crosses into the record's second line (bench/README.md, "Payload copy
// paths").
inline constexpr std::size_t kVectorStoreBytes = 48;

#ifdef SHMCAST_WIDE_PAYLOAD_COPY
// Copies the whole 16-byte pieces of `len` bytes; returns how many bytes that was. The
// caller moves the rest with the word copy its direction needs.
inline std::size_t copy_vectors(std::byte* dst, const std::byte* src, std::size_t len) noexcept {
  const std::size_t vectors = len / 16;
  for (std::size_t i = 0; i < vectors; ++i)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16 * i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16 * i)));
  return 16 * vectors;
}
#endif

#ifdef SHMCAST_WIDE_PAYLOAD_COPY
// Whether `rep movsb` from `src` to `dst` would run into 4 KiB aliasing: with the destination
// 1 to 63 bytes past the source modulo 4 KiB, it ran 20-40 times slower on AMD family 25
// (bench/README.md, "Payload copy paths": at 8, 16 and 24 bytes). Such a payload takes the
// 16-byte loop; a record's payload lies at 24 modulo 32, so for a given source that is two
// positions in 128 (one of them at a slow distance).
[[nodiscard]] inline bool string_copy_aliases(const std::byte* dst, const std::byte* src) noexcept {
  const std::uintptr_t distance = (reinterpret_cast<std::uintptr_t>(dst) - reinterpret_cast<std::uintptr_t>(src)) % 4096;
  return distance - 1 < 63;
}
#endif

inline void store_payload(std::byte* dst, const std::byte* src, std::size_t len) noexcept {
#ifdef SHMCAST_WIDE_PAYLOAD_COPY
  if (len >= kWideCopyBytes && !string_copy_aliases(dst, src)) {
    asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(len) : : "memory");
    return;
  }
  if (len >= kVectorStoreBytes) {
    const std::size_t done = copy_vectors(dst, src, len);
    store_words(dst + done, src + done, len % 16);
    return;
  }
#endif
  store_words(dst, src, len);
}

// Copies at least `len` bytes (whole words) from shared `src` into the 8-byte aligned
// private `dst`, which must have room for ceil(len / 8) words.
inline void load_payload(std::byte* dst, const std::byte* src, std::size_t len) noexcept {
#ifdef SHMCAST_WIDE_PAYLOAD_COPY
  if (len >= kWideCopyBytes) {
    const std::size_t done = copy_vectors(dst, src, len);
    load_words(dst + done, src + done, len % 16);
    return;
  }
#endif
  load_words(dst, src, len);
}

}  // namespace shmcast::detail
