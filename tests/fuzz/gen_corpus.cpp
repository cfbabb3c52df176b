// shmcast-fuzz-corpus-gen DIR: writes the seed corpus (see fuzz_ring.hpp for the input
// layout): real rings of several geometries made by the library itself, and corrupt
// variants of them. Run it again only to refresh tests/fuzz/corpus/.
#include "fuzz_ring.hpp"

#include <shmcast/shmcast.hpp>

#include "layout.hpp"
#include "registry_layout.hpp"
#include "ring_view.hpp"

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace shmcast;
namespace d = shmcast::detail;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes read_object(const std::string& object, std::size_t limit = SIZE_MAX) {
  std::ifstream in("/dev/shm/" + object, std::ios::binary);
  Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (b.size() > limit) b.resize(limit);
  return b;
}

Bytes input(std::uint8_t flags, std::uint64_t start_seq, const Bytes& ring, const Bytes* registry = nullptr) {
  Bytes out;
  out.push_back(registry ? static_cast<std::uint8_t>(flags | fuzz::kHasRegistry) : flags);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(start_seq >> (8 * i)));
  if (registry) {
    out.push_back(static_cast<std::uint8_t>(registry->size()));
    out.push_back(static_cast<std::uint8_t>(registry->size() >> 8));
    out.insert(out.end(), registry->begin(), registry->end());
  }
  out.insert(out.end(), ring.begin(), ring.end());
  return out;
}

template <class T>
void poke(Bytes& b, std::size_t offset, T value) {
  std::memcpy(b.data() + offset, &value, sizeof value);
}

struct Made {
  Bytes ring;
  Bytes registry;
};

// Makes a real ring with `fill` and copies its bytes (and the registry's first `registry_bytes`).
Made make(const Geometry& g, const std::function<void(Producer&)>& fill, std::size_t registry_bytes = 0,
          int readers = 0) {
  const std::string name = "fuzzgen-" + std::to_string(::getpid());
  Producer::remove(name);
  Made m;
  {
    Producer p = Producer::create(name, g);
    std::vector<Reader> attached;
    for (int i = 0; i < readers; ++i) attached.emplace_back(name);
    fill(p);
    m.ring = read_object("shmcast." + name);
    if (registry_bytes) m.registry = read_object("shmcast." + name + ".readers", registry_bytes);
  }
  Producer::remove(name);
  return m;
}

void publish_n(Producer& p, int n) {
  std::uint8_t buf[4096];
  for (int i = 0; i < n; ++i) {
    const std::size_t len = std::min<std::size_t>(p.payload_capacity(), static_cast<std::size_t>(i * 13 % 97));
    std::memset(buf, i, len);
    p.publish(std::as_bytes(std::span(buf, len)), static_cast<std::uint32_t>(i));
  }
}

// Where message seq's slot starts in a ring's bytes, as the library's view addresses it.
std::size_t slot_offset(const Bytes& ring, std::uint64_t seq) {
  d::RingHeader h;
  std::memcpy(&h, ring.data(), sizeof h);
  auto* base = reinterpret_cast<std::byte*>(const_cast<Bytes::value_type*>(ring.data()));
  const d::RingView view(base, Geometry{h.slot_count, h.slot_size, h.snapshot_capacity});
  return static_cast<std::size_t>(reinterpret_cast<std::byte*>(&view.slot(seq)) - base);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: shmcast-fuzz-corpus-gen DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  ::mkdir(dir.c_str(), 0755);
  int count = 0;
  auto emit = [&](const std::string& file, const Bytes& bytes) {
    std::ofstream(dir + "/" + file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                            static_cast<std::streamsize>(bytes.size()));
    ++count;
  };
  constexpr std::uint8_t latest = 0, oldest = 1, sequence = 2, snapshot = 3;
  constexpr std::uint8_t gap_latest = 1 << 2, gap_snapshot = 2 << 2;

  const Made empty = make({2, 64, 0}, [](Producer&) {});
  emit("valid-2x64-empty", input(latest, 0, empty.ring));
  const Made wrapped = make({2, 64, 0}, [](Producer& p) { publish_n(p, 5); });
  emit("valid-2x64-wrapped-oldest", input(oldest, 0, wrapped.ring));
  emit("valid-2x64-wrapped-seq0", input(sequence, 0, wrapped.ring));
  emit("valid-2x64-wrapped-takeover", input(oldest | fuzz::kTakeOver, 0, wrapped.ring));
  const Made eight = make({8, 128, 0}, [](Producer& p) { publish_n(p, 11); }, 512, 2);
  emit("valid-8x128-registry", input(oldest | gap_latest, 0, eight.ring, &eight.registry));
  emit("valid-8x128-registry-takeover", input(oldest | fuzz::kTakeOver, 0, eight.ring, &eight.registry));
  const Made snap = make({4, 128, 64}, [](Producer& p) {
    publish_n(p, 6);
    const std::uint8_t state[40] = {1, 2, 3};
    p.publish_snapshot(std::as_bytes(std::span(state)));
    publish_n(p, 3);
    p.publish_snapshot(std::as_bytes(std::span(state)));
    publish_n(p, 2);
  });
  emit("valid-4x128-snapshot", input(snapshot | gap_snapshot, 0, snap.ring));
  emit("valid-4x128-snapshot-seq1", input(sequence | gap_snapshot, 1, snap.ring));
  const Made jumped = make({8, 64, 0}, [](Producer& p) {
    publish_n(p, 3);
    p.publish_at(6, bytes_of("after a jump"));
    p.publish_at(30, bytes_of("far"));
  });
  emit("valid-8x64-jumps", input(sequence, 0, jumped.ring));
  emit("valid-8x64-jumps-takeover", input(sequence | fuzz::kTakeOver, 25, jumped.ring));
  // Three-line slots: the interleaved slot order (layout.hpp, SlotOrder), lapped.
  const Made lanes = make({16, 192, 0}, [](Producer& p) { publish_n(p, 21); });
  emit("valid-16x192-interleaved-oldest", input(oldest, 0, lanes.ring));
  emit("valid-16x192-interleaved-seq3", input(sequence, 3, lanes.ring));
  emit("valid-16x192-interleaved-takeover", input(oldest | fuzz::kTakeOver, 0, lanes.ring));
  // Only the header and producer lines: padded to total_size by the harness.
  const Made big = make({64, 256, 0}, [](Producer& p) { publish_n(p, 3); });
  emit("valid-64x256-header-only-padded",
       input(oldest | fuzz::kPadToTotalSize, 0, Bytes(big.ring.begin(), big.ring.begin() + d::kRingHeaderSize)));

  // Corrupt variants of the 2x64 and 4x128 rings.
  auto variant = [&](const std::string& file, const Made& base, std::uint8_t flags,
                     const std::function<void(Bytes&)>& change) {
    Bytes r = base.ring;
    change(r);
    emit(file, input(flags, 0, r));
  };
  variant("bad-magic", wrapped, oldest, [](Bytes& r) { poke<std::uint64_t>(r, 0, 0x4f4c4c4548ull); });
  variant("bad-magic-zero", wrapped, oldest, [](Bytes& r) { poke<std::uint64_t>(r, 0, 0); });
  variant("bad-version", wrapped, oldest, [](Bytes& r) { poke<std::uint32_t>(r, 8, 1); });  // plain-order layout
  variant("bad-slot-count", wrapped, oldest, [](Bytes& r) { poke<std::uint64_t>(r, 16, 3); });
  variant("bad-slot-size", wrapped, oldest, [](Bytes& r) { poke<std::uint32_t>(r, 24, 100); });
  variant("bad-payload-capacity", wrapped, oldest, [](Bytes& r) { poke<std::uint32_t>(r, 28, 64); });
  variant("bad-total-size", wrapped, oldest, [](Bytes& r) { poke<std::uint64_t>(r, 40, 4096); });
  variant("bad-snapshot-offset", snap, snapshot, [](Bytes& r) { poke<std::uint64_t>(r, 72, 384); });
  variant("truncated", wrapped, oldest, [](Bytes& r) { r.resize(r.size() / 2 + 3); });
  variant("truncated-header", wrapped, oldest, [](Bytes& r) { r.resize(200); });
  variant("slot-odd-stamp-takeover", wrapped, oldest | fuzz::kTakeOver,
          [](Bytes& r) { poke<std::uint64_t>(r, slot_offset(r, 5), d::stamp_writing(5)); poke<std::uint64_t>(r, 128, 5); });
  variant("slot-length-too-big", wrapped, oldest,
          [](Bytes& r) { poke<std::uint32_t>(r, slot_offset(r, 4) + 8, 4000); });
  variant("slot-skip-record-huge-target", wrapped, oldest, [](Bytes& r) {
    poke<std::uint32_t>(r, slot_offset(r, 4) + 8, d::kSkipRecordLength);
    poke<std::uint64_t>(r, slot_offset(r, 4) + 16, ~std::uint64_t{0} - 5);
  });
  variant("head-far-ahead", wrapped, oldest, [](Bytes& r) { poke<std::uint64_t>(r, 128, ~std::uint64_t{0} >> 1); });
  variant("snapshot-length-too-big", snap, snapshot | gap_snapshot,
          [](Bytes& r) { poke<std::uint64_t>(r, d::kSnapshotControlOffset + 24, 1u << 20); poke<std::uint64_t>(r, d::kSnapshotControlOffset + 32, 1u << 20); });
  variant("snapshot-as-of-huge", snap, snapshot | gap_snapshot,
          [](Bytes& r) { poke<std::uint64_t>(r, d::kSnapshotControlOffset + 8, ~std::uint64_t{0}); poke<std::uint64_t>(r, d::kSnapshotControlOffset + 16, ~std::uint64_t{0}); });
  Bytes junk_registry(512, 0xA5);
  emit("bad-registry", input(oldest | fuzz::kTakeOver, 0, wrapped.ring, &junk_registry));
  Bytes waiting_registry = eight.registry;
  poke<std::uint32_t>(waiting_registry, d::kWaitLineOffset, 7);  // waiters nobody will take back
  emit("registry-stuck-waiters-takeover", input(oldest | fuzz::kTakeOver, 0, eight.ring, &waiting_registry));
  // The registry's capacity comes from its header: too large for the object, smaller than
  // the object, zero, and a registry of the previous format.
  for (const auto& [file, count] : {std::pair{"registry-count-huge", 0xFFFFFFFFu}, std::pair{"registry-count-beyond-object", 4096u},
                                    std::pair{"registry-count-2", 2u}, std::pair{"registry-count-0", 0u}}) {
    Bytes r = eight.registry;
    poke<std::uint32_t>(r, offsetof(d::RegistryHeader, entry_count), count);
    emit(file, input(oldest | fuzz::kTakeOver, 0, eight.ring, &r));
  }
  Bytes old_format = eight.registry;
  poke<std::uint32_t>(old_format, offsetof(d::RegistryHeader, version), 2);
  emit("registry-version-2", input(oldest, 0, eight.ring, &old_format));
  std::printf("wrote %d corpus files to %s\n", count, dir.c_str());
  return 0;
}
