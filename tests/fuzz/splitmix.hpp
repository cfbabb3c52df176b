// The seeded random numbers of the fuzz replayers (splitmix64): every run mutates alike.
#pragma once

#include <cstdint>

namespace shmcast::fuzz {

inline std::uint64_t splitmix_next(std::uint64_t& s) noexcept {
  s += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = s;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace shmcast::fuzz
