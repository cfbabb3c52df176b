// shmcast-microbench: publish and try_read in one process (Google Benchmark).
// No reader competes for the lines here, so these are the instruction-level costs; the
// cross-core figures come from shmcast-bench.
#include <shmcast/shmcast.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

std::string ring_name(const char* tag) { return std::string("microbench-") + tag + "-" + std::to_string(::getpid()); }

struct RingFixture {
  std::string name;
  shmcast::Producer producer;
  RingFixture(const char* tag, std::size_t size)
      : name(ring_name(tag)),
        producer(shmcast::Producer::create(
            name, {.slot_count = 4096, .slot_size = shmcast::slot_size_for(static_cast<std::uint32_t>(size))}, {.replace = true})) {
    // One untimed lap first: the first touch of each page of a fresh mapping is a page
    // fault (tens of microseconds per 4 KiB page on the project's VMs), not publish's cost.
    std::vector<std::byte> payload(size, std::byte{0});
    for (std::uint64_t i = 0; i < 4096; ++i) producer.publish(payload, 0, 1);
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

// try_read() of a message that is there: the ring is refilled (untimed) every half lap.
void BM_try_read(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  RingFixture ring("try-read", size);
  shmcast::Reader reader(ring.name, {.start = shmcast::StartAt::oldest});
  while (reader.try_read()) {  // the reader's own first lap over the mapping, untimed
  }
  std::vector<std::byte> payload(size, std::byte{0x5a});
  constexpr int kBatch = 2048;
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

// try_read() on an empty ring: the cost of one idle poll.
void BM_try_read_empty(benchmark::State& state) {
  RingFixture ring("try-read-empty", 64);
  shmcast::Reader reader(ring.name);
  for (auto _ : state) {
    shmcast::ReadResult r = reader.try_read();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_try_read_empty);

}  // namespace

BENCHMARK_MAIN();
