// Payload copies between private memory and ring slots. The word copies move one relaxed
// 8-byte atomic word at a time: together with the stamp's fences that makes the seqlock
// free of data races (Boehm 2012): a reader may copy a slot the producer is overwriting,
// but every access is atomic, and the stamp re-check afterwards discards such a copy.
// store_payload/load_payload use them for small payloads and wider copies above (see there).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#include <immintrin.h>
#define SHMCAST_WIDE_PAYLOAD_COPY 1
#endif

namespace shmcast::detail {

inline std::atomic_ref<std::uint64_t> word_at(const std::byte* p) noexcept {
  return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(const_cast<std::byte*>(p)));
}

// Copies `len` bytes from private `src` to the 8-byte aligned shared `dst`. The last
// partial word is zero-padded: the bytes past `len` in a slot are never meaningful.
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
// caller (the producer's claimed slot): partial words are merged with what is there.
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

// Payloads of at least kWideCopyBytes move in wider pieces on x86-64: the producer writes
// with one `rep movsb`, the reader copies 16 bytes a load. On the 16-core Xeon, K=1, full
// runs before and after: 1 KiB 7.6-8.4 -> 9.6 M msg/s, 4 KiB 1.9-2.1 -> 2.8 M (level with
// the spsc fan-out), 16 and 64 KiB 1.0-1.2x; a same-run A/B with glibc's memcpy as the reader's
// copy reached 2x at 16-64 KiB, so the reader's loop is what is left there. A memcpy call
// from 4 KiB up (VM: 16-64 KiB +15-20 %) was dropped: the call in try_read cost every
// message, 64 B rtt/2 p50 231-291 -> 311 ns, 1 KiB 623-639 -> 783 ns. On the 2-vCPU
// EPYC, same-run A/B: 4 KiB throughput 2x, rtt/2 p50 503 -> 307 ns. At 256 B the string
// store cost the EPYC producer more than the words (16.8 -> 28.2 ns), so the cut is at
// 1 KiB, where it was even or better on both. Why the seqlock still holds:
//  - x86 orders the string store after the odd stamp and before the committing stamp
//    (string operations are not reordered with other stores; only the stores inside one
//    may be, and nothing reads them before the commit); Linux's seqcount writers rely on
//    the same with memcpy between compiler barriers.
//  - the reader's vector loads are ordinary loads, which x86 keeps before the stamp
//    re-check; a torn copy is discarded as before.
// They are not C++ atomics, so ThreadSanitizer builds keep the word copies and check the
// protocol with them; the stress tests cover every path.
inline constexpr std::size_t kWideCopyBytes = 1024;

// Payloads from kVectorStoreBytes up to kWideCopyBytes are written 16 bytes a store (x86
// keeps plain stores in program order: they stay between the two stamps). Same-run A/B,
// four rounds on the 2-vCPU EPYC in its slower placement: 64 B, K=1, 9.7-12.3 -> 26.2-27.0
// M msg/s (producer 79-101 -> 37 ns a message), K=2 and K=4 twice as fast too; 256 B
// 9.8-13.3 -> 14.1-14.5 M. Xeon, 64 B, K=8, six rounds: producer median about 170 ->
// 103 ns. Our reading: half as many stores a message leaves room in the store buffer for
// more messages while the oldest store waits for a line the readers hold. A one-line
// payload (24 B) was about 10 % slower, so the cut is past the 40 bytes a slot's first
// line holds. rep movsb stays better from 1 KiB (1 KiB and 4 KiB with 16-byte stores:
// 3.3 and 1.3 M against 3.5-3.8 and 2.1-2.2 M).
// The reader keeps word loads here: 16-byte loads made 64 B rtt/2 worse (291-295 ->
// 303-323 ns) and gave no throughput.
// Known cost: the payload starts at slot byte 24, so the third store (bytes 56-72) crosses
// into the slot's second line. At 48-56 B it is nearly all that goes there, and those
// sizes run at 10-12 M msg/s against 25-27 M at 64 B. Storing on 16-byte boundaries
// instead fixed them but raised 48 B rtt/2 from 231 to 330 ns and cost 104 B-1 KiB 1-8 %
// (bench/README, "Known weak spot").
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

inline void store_payload(std::byte* dst, const std::byte* src, std::size_t len) noexcept {
#ifdef SHMCAST_WIDE_PAYLOAD_COPY
  if (len >= kWideCopyBytes) {
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
