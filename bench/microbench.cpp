// shmcast-microbench: publish, try_read and peek/confirm in one process (Google Benchmark).
// No reader competes for the lines here, so these are the instruction-level costs; the
// cross-core figures come from shmcast-bench.
#include <shmcast/shmcast.hpp>

#include "tsc.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

std::string ring_name(const char* tag) { return std::string("microbench-") + tag + "-" + std::to_string(::getpid()); }

// A ring of about 4096 messages of `size` bytes (a power of two from 4096 records, at most
// 64 MiB: 1023 messages of 64 KiB), max_message = size.
shmcast::Geometry geometry_for(std::size_t size) {
  const std::uint64_t bytes = std::min<std::uint64_t>(std::bit_ceil(4096 * shmcast::record_bytes(size)), std::uint64_t{64} << 20);
  return {.ring_bytes = bytes, .max_message = static_cast<std::uint32_t>(size)};
}

struct RingFixture {
  std::string name;
  shmcast::Producer producer;
  std::uint64_t held;  // messages of `size` bytes the ring holds, less the producer's reservation step
  RingFixture(const char* tag, std::size_t size)
      : name(ring_name(tag)), producer(shmcast::Producer::create(name, geometry_for(size), {.replace = true})) {
    const std::uint64_t bytes = producer.geometry().ring_bytes;
    held = (bytes - std::min<std::uint64_t>(bytes / 16, 64 << 10)) / shmcast::record_bytes(size);
    // One untimed lap first: the first touch of each page of a fresh mapping is a page
    // fault (tens of microseconds per 4 KiB page on the project's VMs), not publish's cost.
    std::vector<std::byte> payload(size, std::byte{0});
    for (std::uint64_t i = 0; i < bytes / shmcast::record_bytes(size) + 1; ++i) producer.publish(payload, 0, 1);
  }
  ~RingFixture() { shmcast::Producer::remove(name); }
};

// publish() with the library's clock (kNow) or a caller-supplied timestamp.
void BM_publish(benchmark::State& state, bool caller_timestamp) {
  const auto size = static_cast<std::size_t>(state.range(0));
  RingFixture ring("publish", size);
  std::vector<std::byte> payload(size, std::byte{0x5a});
  std::uint64_t ts = 1;
  for (auto _ : state) {
    const std::uint64_t seq = caller_timestamp ? ring.producer.publish(payload, 0, ts++) : ring.producer.publish(payload);
    benchmark::DoNotOptimize(seq);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK_CAPTURE(BM_publish, now, false)->RangeMultiplier(4)->Range(8, 64 << 10);
BENCHMARK_CAPTURE(BM_publish, caller_ts, true)->RangeMultiplier(4)->Range(8, 64 << 10);

// The tail of publish(): each publish timed on its own (TSC, calibrated against the
// monotonic clock over the run), from one page-aligned source buffer, as p50, p99 and p99.9
// counters in ns. A cost met at a few record positions only (bench/README.md, "Payload
// copy paths": 4 KiB aliasing) shows in the tail, not in the mean.
void BM_publish_tail(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  RingFixture ring("publish-tail", size);
  struct alignas(4096) Page {
    std::byte bytes[4096];
  };
  std::vector<Page> source((size + 4095) / 4096);
  std::memset(source.data(), 0x5a, source.size() * sizeof(Page));
  const std::span<const std::byte> payload(source.front().bytes, size);
  std::vector<std::uint64_t> ticks;
  ticks.reserve(1 << 20);
  const std::uint64_t ns0 = shmcast::bench::mono_ns(), tsc0 = shmcast::bench::tsc();
  for (auto _ : state) {
    const std::uint64_t t = shmcast::bench::tsc();
    benchmark::DoNotOptimize(ring.producer.publish(payload, 0, 1));
    if (ticks.size() < ticks.capacity()) ticks.push_back(shmcast::bench::tsc_after_loads() - t);
  }
  const double ns_per_tick = static_cast<double>(shmcast::bench::mono_ns() - ns0) /
                             static_cast<double>(std::max<std::uint64_t>(shmcast::bench::tsc() - tsc0, 1));
  std::sort(ticks.begin(), ticks.end());
  const auto at = [&](double q) {
    return ticks.empty() ? 0.0 : static_cast<double>(ticks[static_cast<std::size_t>(q * static_cast<double>(ticks.size() - 1))]) * ns_per_tick;
  };
  state.counters["p50_ns"] = at(0.5);
  state.counters["p99_ns"] = at(0.99);
  state.counters["p999_ns"] = at(0.999);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_publish_tail)->RangeMultiplier(4)->Range(1 << 10, 16 << 10)->Iterations(200'000);

// try_read() of a message that is there: the ring is refilled (untimed) every half lap
// (2048 messages at most).
void BM_try_read(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  RingFixture ring("try-read", size);
  shmcast::Reader reader(ring.name, {.start = shmcast::StartAt::oldest});
  while (reader.try_read()) {  // the reader's own first lap over the mapping, untimed
  }
  std::vector<std::byte> payload(size, std::byte{0x5a});
  const int kBatch = static_cast<int>(std::min<std::uint64_t>(2048, ring.held / 2));
  int left = 0;
  for (auto _ : state) {
    if (left == 0) {
      state.PauseTiming();
      for (int i = 0; i < kBatch; ++i) ring.producer.publish(payload, 0, 1);
      left = kBatch;
      state.ResumeTiming();
    }
    shmcast::ReadResult r = reader.try_read();
    benchmark::DoNotOptimize(r);
    if (r.status != shmcast::ReadStatus::message) state.SkipWithError("try_read did not deliver");
    --left;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK(BM_try_read)->RangeMultiplier(4)->Range(8, 64 << 10);

// peek() of up to 64 messages in place, a look at each payload's first and last words, and
// confirm(): per message. Refilled (untimed) as try_read's is, in whole batches.
void BM_peek_confirm(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  RingFixture ring("peek", size);
  shmcast::Reader reader(ring.name, {.start = shmcast::StartAt::oldest});
  while (reader.try_read()) {
  }
  std::vector<std::byte> payload(size, std::byte{0x5a});
  constexpr std::size_t kPeek = 64;
  const std::uint64_t refill = std::max<std::uint64_t>(kPeek, std::min<std::uint64_t>(2048, ring.held / 2) / kPeek * kPeek);
  std::array<shmcast::Message, kPeek> batch{};
  std::uint64_t left = 0, messages = 0;
  for (auto _ : state) {
    if (left == 0) {
      state.PauseTiming();
      for (std::uint64_t i = 0; i < refill; ++i) ring.producer.publish(payload, 0, 1);
      left = refill;
      state.ResumeTiming();
    }
    const shmcast::Reader::Batch b = reader.peek(batch);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < b.count; ++i) {
      std::uint64_t first = 0, last = 0;
      std::memcpy(&first, batch[i].payload.data(), 8);
      std::memcpy(&last, batch[i].payload.data() + batch[i].payload.size() - 8, 8);
      sum += first ^ last;
    }
    benchmark::DoNotOptimize(sum);
    if (b.count == 0 || !reader.confirm()) state.SkipWithError("peek did not deliver");
    left -= std::min<std::uint64_t>(left, b.count);
    messages += b.count;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  state.SetBytesProcessed(static_cast<std::int64_t>(messages * size));
}
BENCHMARK(BM_peek_confirm)->RangeMultiplier(4)->Range(8, 64 << 10);

// try_read() with nothing new: the cost of one idle poll of a reader that is following
// the producer. It reads one message first: until its first event a reader starting at
// `latest` may still move its start, and polls off the fast path.
void BM_try_read_empty(benchmark::State& state) {
  RingFixture ring("try-read-empty", 64);
  shmcast::Reader reader(ring.name);
  ring.producer.publish(std::vector<std::byte>(64), 0, 1);
  if (reader.try_read().status != shmcast::ReadStatus::message) state.SkipWithError("the first message was not read");
  for (auto _ : state) {
    shmcast::ReadResult r = reader.try_read();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_try_read_empty);

}  // namespace

BENCHMARK_MAIN();
