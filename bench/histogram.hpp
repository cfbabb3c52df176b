// A log-linear latency histogram in the style of HdrHistogram: fixed buckets, no
// allocation, O(1) record. Values below 128 are exact; above, every power of two is
// split into 64 equal sub-buckets, so a reported value is within 1/64 (1.6 %) above
// the true one. It is trivially copyable and holds no pointers, so it can live in
// shared memory and be filled by one process and merged by another.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace shmcast::bench {

class Histogram {
 public:
  static constexpr unsigned kSubBits = 6;                          // 64 sub-buckets per octave
  static constexpr std::uint64_t kSub = std::uint64_t{1} << kSubBits;
  static constexpr std::uint64_t kLinear = 2 * kSub;               // [0, 128): one bucket per value
  static constexpr std::size_t kBuckets = kLinear + (63 - kSubBits) * kSub;

  static constexpr std::size_t index_of(std::uint64_t v) noexcept {
    if (v < kLinear) return static_cast<std::size_t>(v);
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));
    const unsigned shift = msb - kSubBits;
    return static_cast<std::size_t>(kLinear + (msb - kSubBits - 1) * kSub + ((v >> shift) - kSub));
  }
  // The highest value that lands in bucket i (what HdrHistogram calls "highest equivalent").
  static constexpr std::uint64_t highest_in(std::size_t i) noexcept {
    if (i < kLinear) return i;
    const std::uint64_t j = i - kLinear;
    const unsigned shift = static_cast<unsigned>(j / kSub) + 1;
    const std::uint64_t low = (kSub + j % kSub) << shift;
    return low + (std::uint64_t{1} << shift) - 1;
  }

  void record(std::uint64_t v) noexcept {
    ++counts_[index_of(v)];
    ++count_;
    sum_ += v;
    max_ = std::max(max_, v);
  }
  void merge(const Histogram& other) noexcept {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
  }
  // The value at quantile q in [0, 1] (q = 1 gives the exact maximum); 0 if empty.
  [[nodiscard]] std::uint64_t quantile(double q) const noexcept {
    if (count_ == 0) return 0;
    if (q >= 1.0) return max_;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
    if (rank < 1) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(highest_in(i), max_);
    }
    return max_;
  }
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  [[nodiscard]] double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }

 private:
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t counts_[kBuckets] = {};
};

static_assert(Histogram::index_of(127) == 127 && Histogram::index_of(128) == 128 && Histogram::index_of(256) == 192);
static_assert(Histogram::highest_in(Histogram::index_of(1000)) >= 1000 &&
              Histogram::highest_in(Histogram::index_of(1000)) < 1000 + 1000 / 64 + 1);
static_assert(Histogram::index_of(~std::uint64_t{0}) == Histogram::kBuckets - 1, "the last bucket holds the largest value");
static_assert(std::is_trivially_copyable_v<Histogram>, "histograms live in shared memory and are copied between processes");

}  // namespace shmcast::bench
