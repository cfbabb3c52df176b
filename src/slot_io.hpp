// Payload copies between private memory and ring slots, one relaxed 8-byte atomic word
// at a time. Together with the stamp's fences this makes the seqlock free of data races
// (Boehm 2012): a reader may copy a slot the producer is overwriting, but every access
// is atomic, and the stamp re-check afterwards discards such a copy.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

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

}  // namespace shmcast::detail
