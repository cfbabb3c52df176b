// shmcast-python-peer: the C++ side of tests/python/test_interop.py, independent of the
// CLI's options. Each side runs in its own process; frames on stdin/stdout are binary,
// little-endian:
//
//   publish RING          reads frames  u32 length, u32 type, payload  and publishes each
//                         (Producer::open: the ring exists); prints nothing.
//   tail RING COUNT       a Reader from the oldest message, until it has moved over COUNT
//                         sequences (or 60 s pass): writes  'M' u64 seq, u32 type, u32 length,
//                         payload  per message and  'G' u64 first, u64 missed  per gap.
//   burst RING COUNT SIZE RATE
//                         publishes COUNT messages of SIZE bytes (each byte: seq & 0xff),
//                         RATE per second (0: as fast as it can).
//   drain RING COUNT      a Reader from sequence 0 that peeks batches of up to 4096, copies
//                         them into one buffer and confirms, as Reader.poll_into does, until
//                         it has moved over COUNT sequences: prints "delivered missed gaps
//                         seconds" (the C++ baseline of bench/python_bench.py's live runs).
#include <shmcast/shmcast.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

namespace {

bool read_exact(void* out, std::size_t n) { return std::fread(out, 1, n, stdin) == n; }

void write_exact(const void* data, std::size_t n) {
  if (n != 0 && std::fwrite(data, 1, n, stdout) != n) {
    std::perror("write");
    std::exit(2);
  }
}

int publish(const std::string& ring) {
  shmcast::Producer p = shmcast::Producer::open(ring);
  std::vector<std::byte> payload;
  for (;;) {
    std::uint32_t head[2];
    if (!read_exact(head, sizeof head)) break;
    payload.resize(head[0]);
    if (!read_exact(payload.data(), payload.size())) {
      std::fprintf(stderr, "peer publish: truncated frame\n");
      return 2;
    }
    p.publish(payload, head[1]);
  }
  return 0;
}

int tail(const std::string& ring, std::uint64_t count) {
  shmcast::ReaderOptions o;
  o.start = shmcast::StartAt::oldest;
  shmcast::Reader r(ring, o);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (r.position() - r.start() < count && std::chrono::steady_clock::now() < deadline) {
    const shmcast::ReadResult e = r.read(std::chrono::milliseconds(100));
    if (e.status == shmcast::ReadStatus::message) {
      const auto len = static_cast<std::uint32_t>(e.message.payload.size());
      write_exact("M", 1);
      write_exact(&e.message.seq, 8);
      write_exact(&e.message.type, 4);
      write_exact(&len, 4);
      write_exact(e.message.payload.data(), len);
    } else if (e.status == shmcast::ReadStatus::gap) {
      write_exact("G", 1);
      write_exact(&e.gap.first, 8);
      write_exact(&e.gap.missed, 8);
    }
  }
  std::fflush(stdout);
  return r.position() - r.start() >= count ? 0 : 3;
}

int burst(const std::string& ring, std::uint64_t count, std::size_t size, double rate) {
  shmcast::Producer p = shmcast::Producer::open(ring);
  std::vector<std::byte> payload(size);
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < count; ++i) {
    if (rate > 0) {
      const auto due = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(i) / rate));
      while (std::chrono::steady_clock::now() < due) {
      }
    }
    const std::uint64_t seq = p.head();
    std::memset(payload.data(), static_cast<int>(seq & 0xff), payload.size());
    p.publish(payload);
  }
  return 0;
}

int drain(const std::string& ring, std::uint64_t count) {
  shmcast::ReaderOptions o;
  o.start = shmcast::StartAt::sequence;
  shmcast::Reader r(ring, o);
  std::vector<shmcast::Message> batch(4096);
  std::vector<std::byte> buffer(4096 * 72 + r.geometry().message_limit());
  std::optional<std::chrono::steady_clock::time_point> t0;  // from the first event on
  while (r.position() < count) {
    const shmcast::Reader::Batch b = r.peek(batch);
    if (!t0 && (b.count != 0 || b.event)) t0 = std::chrono::steady_clock::now();
    if (b.count == 0) {
      if (b.event.status == shmcast::ReadStatus::empty) {
        const shmcast::ReadResult e = r.read(std::chrono::milliseconds(100));  // a message is copied, delivered
        if (!t0 && e) t0 = std::chrono::steady_clock::now();
      }
      continue;
    }
    std::size_t used = 0;
    for (std::size_t i = 0; i < b.count; ++i) {
      std::memcpy(buffer.data() + used, batch[i].payload.data(), batch[i].payload.size());
      used += (batch[i].payload.size() + 7) & ~std::size_t{7};
    }
    (void)r.confirm();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0.value_or(std::chrono::steady_clock::now())).count();
  std::printf("%llu %llu %llu %.6f\n", static_cast<unsigned long long>(r.delivered()),
              static_cast<unsigned long long>(r.missed()), static_cast<unsigned long long>(r.gaps()), s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "publish" && argc == 3) return publish(argv[2]);
    if (cmd == "tail" && argc == 4) return tail(argv[2], std::strtoull(argv[3], nullptr, 10));
    if (cmd == "drain" && argc == 4) return drain(argv[2], std::strtoull(argv[3], nullptr, 10));
    if (cmd == "burst" && argc == 6) {
      return burst(argv[2], std::strtoull(argv[3], nullptr, 10), std::strtoull(argv[4], nullptr, 10),
                   std::strtod(argv[5], nullptr));
    }
    std::fprintf(stderr,
                 "usage: shmcast-python-peer publish RING | tail RING COUNT | burst RING COUNT SIZE RATE | drain RING COUNT\n");
    return 64;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shmcast-python-peer: %s\n", e.what());
    return 1;
  }
}
