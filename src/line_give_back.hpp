// A streaming reader gives the cache lines of the records it has finished with back to
// memory (CLFLUSHOPT, or CLFLUSH where the CPU lacks it), so that the producer, a lap
// later, writes lines no other core holds.
//
// Why: a line the reader read stays in its caches (the project's 2-vCPU EPYC VM has 1 MiB
// of L2 per core, as big as or bigger than a small-message ring), and the producer's
// store to it a lap later must first take it back from there: a cross-core invalidation
// per line, which the store buffer waits for. A line no cache holds comes from memory
// instead, and sequential stores to such lines stream (our reading of the measurements in
// bench/README.md, "Reader line give-back", 64 B messages, copying reader).
//
// When: only while the reader streams (streaming.hpp), and only for small records (at
// most kGiveBackMaxRecordBytes on average over what was delivered). A reader that waits
// for each message gives nothing back: the producer has time to take its lines back, and
// giving every line back raised the round trip's p99 (bench/README.md, same section). Larger records
// gained nothing, and lost at 4 KiB and up, where the producer's stores stream already.
//
// Safety: a flush never changes what memory holds, only where copies of it are cached, so
// it cannot affect what any process reads. The line holding the next record's start is
// never given back: the producer may be writing it. A line lapped meanwhile by the
// producer is flushed harmlessly (its records are already lost to this reader). Flushing
// needs only read access, so it is allowed on a reader's read-only mapping.
#pragma once

#include "layout.hpp"
#include "ring_view.hpp"
#include "streaming.hpp"

#include <cstdint>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace shmcast::detail {

inline constexpr std::uint64_t kGiveBackMaxRecordBytes = 512;

enum class LineFlush : std::uint8_t { none, clflush, clflushopt };

// What this CPU offers, from CPUID (leaf 1 EDX bit 19: CLFLUSH; leaf 7 EBX bit 23: CLFLUSHOPT).
inline LineFlush line_flush_available() noexcept {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 23)) != 0)
    return LineFlush::clflushopt;
  if (__get_cpuid(1, &a, &b, &c, &d) && (d & (1u << 19)) != 0) return LineFlush::clflush;
#endif
  return LineFlush::none;
}

struct LineRange {
  std::uint64_t begin;  // absolute positions, multiples of kCacheLine
  std::uint64_t end;
};

// The lines to give back after delivering `count` records that occupied [from, to), when
// every line below `given_back` has already been given back or passed over and the reader
// polled in vain `idle_polls` times since its previous delivery: from the line holding
// `from` (or `given_back`, if later) up to, not including, the line holding `to`, where
// the next record starts. Empty when the reader should not give back (not streaming,
// larger records, or a span longer than a ring, which only a corrupt position gives).
[[nodiscard]] constexpr LineRange lines_to_give_back(std::uint64_t given_back, std::uint64_t from, std::uint64_t to,
                                                      std::uint64_t count, std::uint64_t idle_polls,
                                                      std::uint64_t ring_bytes) noexcept {
  const std::uint64_t line_mask = ~std::uint64_t{kCacheLine - 1};
  const std::uint64_t end = to & line_mask;
  const std::uint64_t begin = given_back > (from & line_mask) ? given_back : (from & line_mask);
  const bool small = to > from && to - from <= count * kGiveBackMaxRecordBytes && to - from <= ring_bytes;
  if (!streaming(idle_polls) || !small || begin >= end) return {end, end};
  return {begin, end};
}

// Gives back the lines of `range` and returns where the next range starts.
[[gnu::always_inline]] inline std::uint64_t give_back(const RingView& view, LineRange range, LineFlush how) noexcept {
#if defined(__x86_64__)
  if (how == LineFlush::clflushopt) {
    for (std::uint64_t p = range.begin; p < range.end; p += kCacheLine)
      asm volatile("clflushopt %0" ::"m"(*reinterpret_cast<const char*>(&view.record(p))));
  } else if (how == LineFlush::clflush) {
    for (std::uint64_t p = range.begin; p < range.end; p += kCacheLine) _mm_clflush(&view.record(p));
  }
#else
  (void)view;
  (void)how;
#endif
  return range.end;
}

}  // namespace shmcast::detail
