// Loopback figures for the bridge: ring A -> bridge out -> nats-server (JetStream, file
// store) -> bridge in -> ring B, all on this host.
//
//   bridge_bench [--count N] [--size BYTES] [--rate MSGS_PER_S] [--seconds S]
//
// Throughput: N messages published into A as fast as possible; time until B holds them all.
// Added latency: messages published at --rate for --seconds, each stamped with now_ns();
// a reader of B takes now_ns() - timestamp (bridge in keeps the source timestamp).
#include "bridge_harness.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

using namespace shmcast;
using namespace shmcast::test::bridge;
using namespace std::chrono_literals;

namespace {

// CLOCK_REALTIME straight from the kernel for both ends of a latency sample.
std::uint64_t realtime_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return static_cast<std::uint64_t>(t.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(t.tv_nsec);
}

std::uint64_t acked_stream_seq(const std::string& ring) {
  for (const ReaderStatus& r : inspect(ring).readers)
    if (r.alive && r.label == "bridge-out") return r.external_position;
  return 0;
}

double arg(int argc, char** argv, const char* name, double fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::stod(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (!NatsServer::installed()) {
    std::printf("nats-server is not installed\n");
    return 77;
  }
  const auto count = static_cast<std::uint64_t>(arg(argc, argv, "--count", 200000));
  const auto size = static_cast<std::size_t>(arg(argc, argv, "--size", 64));
  const double rate = arg(argc, argv, "--rate", 10000);
  const double seconds = arg(argc, argv, "--seconds", 3);

  const std::string a = "bench-bra-" + std::to_string(::getpid());
  const std::string b = "bench-brb-" + std::to_string(::getpid());
  Producer::remove(a);
  Producer::remove(b);
  // Ring A holds 2^19 messages of `size` bytes (with the producer's reservation step to
  // spare), more than the throughput run publishes before bridge out reads them. Ring B is
  // created by bridge in with A's geometry (from the stream's headers).
  const Geometry g{.ring_bytes = std::bit_ceil((std::uint64_t{1} << 19) * record_bytes(size)),
                   .max_message = static_cast<std::uint32_t>(std::max<std::size_t>(size, 1))};
  Producer p = Producer::create(a, g);
  NatsServer server;
  if (!server.start()) return 1;
  Process out({SHMCAST_BRIDGE_DRIVER, "bridge", "out", a, "--nats", server.url(), "--stream", "bench"});
  Process in({SHMCAST_BRIDGE_DRIVER, "bridge", "in", b, "--nats", server.url(), "--stream", "bench"});
  std::vector<std::byte> body(size, std::byte{0x5a});

  // Warm up: connections, stream, consumer.
  p.publish(body);
  if (!wait_until([&] { return head_of(b) == 1; }, 20s)) {
    std::printf("bridge did not start\n");
    return 1;
  }

  // Throughput.
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < count; ++i) p.publish(body);
  const auto t_pub = std::chrono::steady_clock::now();
  if (!wait_until([&] { return acked_stream_seq(a) == count + 1; }, 120s)) {
    std::printf("bridge out stalled\n");
    return 1;
  }
  const auto t_acked = std::chrono::steady_clock::now();
  if (!wait_until([&] { return head_of(b) == count + 1; }, 120s)) {
    std::printf("ring B stopped at %llu of %llu\n", static_cast<unsigned long long>(head_of(b)),
                static_cast<unsigned long long>(count + 1));
    return 1;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("throughput: %llu messages of %zu B through A -> JetStream -> B in %.2f s: %.0f msg/s, %.1f MB/s payload"
              " (publishing into A took %.3f s; all acked by JetStream after %.2f s)\n",
              static_cast<unsigned long long>(count), size, secs, static_cast<double>(count) / secs,
              static_cast<double>(count * size) / secs / 1e6, std::chrono::duration<double>(t_pub - t0).count(), std::chrono::duration<double>(t_acked - t0).count());

  // Added latency at a steady rate.
  Reader rb(b, ReaderOptions{.start = StartAt::latest, .wait = WaitStrategy::spin, .register_reader = false});
  const auto n = static_cast<std::uint64_t>(rate * seconds);
  std::vector<std::uint64_t> lat;
  lat.reserve(n);
  std::thread producer([&] {
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < n; ++i) {
      std::this_thread::sleep_until(start + std::chrono::duration<double>(static_cast<double>(i) / rate));
      p.publish(body, 0, realtime_ns());
    }
  });
  while (lat.size() < n) {
    const ReadResult r = rb.read(2s);
    if (r.status == ReadStatus::empty) break;
    if (r.status == ReadStatus::message) lat.push_back(realtime_ns() - r.message.timestamp_ns);
  }
  producer.join();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) { return lat.empty() ? 0.0 : static_cast<double>(lat[static_cast<std::size_t>(q * static_cast<double>(lat.size() - 1))]) / 1000.0; };
  std::printf("latency A publish -> B delivery at %.0f msg/s, %zu samples: min %.0f us, p50 %.0f us, p90 %.0f us,"
              " p99 %.0f us, p99.9 %.0f us, max %.0f us\n",
              rate, lat.size(), pct(0), pct(0.5), pct(0.9), pct(0.99), pct(0.999), pct(1.0));
  out.kill(SIGTERM);
  in.kill(SIGTERM);
  Producer::remove(b);
  Producer::remove(a);
  return lat.size() == n ? 0 : 1;
}
