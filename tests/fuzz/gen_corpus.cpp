// shmcast-fuzz-corpus-gen DIR: writes the seed corpus (see fuzz_ring.hpp for the input
// layout): real rings of layout version 3 made by the library itself, and corrupt
// variants of every part of them: the header, the producer and reserve lines, records
// (stamps, lengths, skip records, padding, headers forged in payloads), the record index
// and the snapshot area; and inputs whose mutation script changes those bytes under an
// attached reader. Run it again only to refresh tests/fuzz/corpus/ (delete the old files
// first: names may change).
#include "fuzz_ring.hpp"

#include <shmcast/shmcast.hpp>

#include "geometry.hpp"
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

struct Change {
  std::uint32_t offset;
  std::uint64_t value;
};

Bytes input(std::uint8_t flags, std::uint64_t start_seq, const Bytes& ring, const Bytes* registry = nullptr,
            const std::vector<Change>* script = nullptr) {
  Bytes out;
  std::uint8_t f = flags;
  if (registry) f = static_cast<std::uint8_t>(f | fuzz::kHasRegistry);
  if (script) f = static_cast<std::uint8_t>(f | fuzz::kMutates);
  out.push_back(f);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(start_seq >> (8 * i)));
  if (script) {
    out.push_back(static_cast<std::uint8_t>(script->size()));
    for (const Change& c : *script) {
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(c.offset >> (8 * i)));
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(c.value >> (8 * i)));
    }
  }
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
template <class T>
T peek_at(const Bytes& b, std::size_t offset) {
  T v{};
  std::memcpy(&v, b.data() + offset, sizeof v);
  return v;
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

// Messages of 0 to 96 bytes, whatever the ring accepts.
void publish_n(Producer& p, int n) {
  std::uint8_t buf[4096];
  for (int i = 0; i < n; ++i) {
    const std::size_t len = std::min<std::size_t>(p.max_message(), static_cast<std::size_t>(i * 13 % 97));
    std::memset(buf, i, len);
    p.publish(std::as_bytes(std::span(buf, len)), static_cast<std::uint32_t>(i));
  }
}

// The ring's geometry and view over a copy of its bytes.
struct View {
  d::RingHeader header{};
  std::uint64_t ring_bytes = 0;
  explicit View(const Bytes& ring) {
    std::memcpy(&header, ring.data(), sizeof header);
    ring_bytes = header.ring_bytes;
  }
  // Offset in the object of the record at absolute position p.
  [[nodiscard]] std::size_t record(std::uint64_t p) const { return d::kRingHeaderSize + p % ring_bytes; }
  [[nodiscard]] std::size_t index(std::uint64_t r) const {
    return header.index_offset + 8 * (r % header.index_entries);
  }
};

// Where record number r starts (through the ring's own index), as an object offset.
std::size_t record_of(const Bytes& ring, std::uint64_t r) {
  const View v(ring);
  return v.record(peek_at<std::uint64_t>(ring, v.index(r)));
}

constexpr std::size_t kHead = d::kProducerLineOffset, kRecords = d::kProducerLineOffset + 8,
                      kTail = d::kProducerLineOffset + 16, kReserved = d::kReserveLineOffset,
                      kFirstSeq = d::kSequenceLineOffset;

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
  // The start sequence's top and low bytes choose which reads are made in place (peek):
  // every input is read both ways somewhere.
  constexpr std::uint64_t in_place = 0xFFull << 56;

  // ---- valid rings ----
  const Made empty = make({.ring_bytes = 4096}, [](Producer&) {});
  emit("valid-4k-empty", input(latest, 0, empty.ring));
  // Lapped many times: records of 32 to 128 bytes, padding at the wraps.
  const Made wrapped = make({.ring_bytes = 4096}, [](Producer& p) { publish_n(p, 300); });
  emit("valid-4k-wrapped-oldest", input(oldest, 0, wrapped.ring));
  emit("valid-4k-wrapped-oldest-peek", input(oldest, in_place, wrapped.ring));
  emit("valid-4k-wrapped-seq0", input(sequence, 0, wrapped.ring));
  emit("valid-4k-wrapped-seq250-peek", input(sequence, 250 | in_place, wrapped.ring));
  emit("valid-4k-wrapped-latest-gap-latest", input(latest | gap_latest, 0, wrapped.ring));
  emit("valid-4k-wrapped-takeover", input(oldest | fuzz::kTakeOver, 0, wrapped.ring));
  // Messages up to half the ring: padding after almost every record.
  const Made half = make({.ring_bytes = 4096, .max_message = 1992}, [](Producer& p) {
    std::uint8_t buf[1992] = {};
    for (std::size_t i = 0; i < 9; ++i) p.publish(std::as_bytes(std::span(buf, (i * 733) % 1993)));
  });
  emit("valid-4k-half-ring-messages", input(oldest, in_place, half.ring));
  const Made eight = make({.ring_bytes = 8192}, [](Producer& p) { publish_n(p, 110); }, 512, 2);
  emit("valid-8k-registry", input(oldest | gap_latest, 0, eight.ring, &eight.registry));
  emit("valid-8k-registry-takeover", input(oldest | fuzz::kTakeOver, 0, eight.ring, &eight.registry));
  const Made snap = make({.ring_bytes = 4096, .snapshot_capacity = 64}, [](Producer& p) {
    publish_n(p, 60);
    const std::uint8_t state[40] = {1, 2, 3};
    p.publish_snapshot(std::as_bytes(std::span(state)));
    publish_n(p, 30);
    p.publish_snapshot(std::as_bytes(std::span(state)));
    publish_n(p, 20);
  });
  emit("valid-4k-snapshot", input(snapshot | gap_snapshot, 0, snap.ring));
  emit("valid-4k-snapshot-seq1", input(sequence | gap_snapshot, 1, snap.ring));
  const Made jumped = make({.ring_bytes = 4096}, [](Producer& p) {
    publish_n(p, 3);
    p.publish_at(6, bytes_of("after a jump"));
    p.skip_to(20);
    p.publish_at(30, bytes_of("far"));
  });
  emit("valid-4k-jumps", input(sequence, 0, jumped.ring));
  emit("valid-4k-jumps-in-run-peek", input(sequence, 25 | in_place, jumped.ring));
  emit("valid-4k-jumps-takeover", input(sequence | fuzz::kTakeOver, 25, jumped.ring));
  // Only the header and the lines: padded to total_size by the harness.
  const Made big = make({.ring_bytes = 64 << 10}, [](Producer& p) { publish_n(p, 3); });
  emit("valid-64k-header-only-padded",
       input(oldest | fuzz::kPadToTotalSize, 0, Bytes(big.ring.begin(), big.ring.begin() + d::kRingHeaderSize)));

  // ---- corrupt headers ----
  auto variant = [&](const std::string& file, const Made& base, std::uint8_t flags, std::uint64_t start,
                     const std::function<void(Bytes&)>& change) {
    Bytes r = base.ring;
    change(r);
    emit(file, input(flags, start, r));
  };
  using H = d::RingHeader;
  variant("bad-magic", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint64_t>(r, 0, 0x4f4c4c4548ull); });
  variant("bad-magic-zero", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint64_t>(r, 0, 0); });
  variant("bad-version-2", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint32_t>(r, offsetof(H, version), 2); });
  variant("bad-ring-bytes", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint64_t>(r, offsetof(H, ring_bytes), 6144); });
  variant("bad-ring-bytes-other-size", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint64_t>(r, offsetof(H, ring_bytes), 8192); });
  variant("bad-max-message", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint32_t>(r, offsetof(H, max_message), 1993); });
  variant("bad-max-message-zero", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint32_t>(r, offsetof(H, max_message), 0); });
  variant("bad-record-align", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint32_t>(r, offsetof(H, record_align), 64); });
  variant("bad-index-offset", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint64_t>(r, offsetof(H, index_offset), 512); });
  variant("bad-index-entries", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint64_t>(r, offsetof(H, index_entries), 1u << 20); });
  variant("bad-total-size", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint64_t>(r, offsetof(H, total_size), 1u << 20); });
  variant("bad-snapshot-offset", snap, snapshot, 0, [](Bytes& r) { poke<std::uint64_t>(r, offsetof(H, snapshot_offset), 512); });
  variant("truncated", wrapped, oldest, 0, [](Bytes& r) { r.resize(r.size() / 2 + 3); });
  variant("truncated-index", wrapped, oldest, 0, [](Bytes& r) { r.resize(r.size() - 100); });
  variant("truncated-header", wrapped, oldest, 0, [](Bytes& r) { r.resize(200); });

  // ---- the producer and reserve lines ----
  variant("head-far-ahead", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint64_t>(r, kHead, ~std::uint64_t{0} >> 1); });
  variant("head-far-ahead-seq", wrapped, sequence, 1u << 20, [](Bytes& r) { poke<std::uint64_t>(r, kHead, ~std::uint64_t{0} - 3); });
  variant("records-far-ahead", wrapped, oldest, in_place, [](Bytes& r) { poke<std::uint64_t>(r, kRecords, 1u << 30); });
  variant("records-zero", wrapped, latest, 0, [](Bytes& r) { poke<std::uint64_t>(r, kRecords, 0); });
  variant("reserved-zero", wrapped, oldest, in_place, [](Bytes& r) { poke<std::uint64_t>(r, kReserved, 0); });
  variant("reserved-huge", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint64_t>(r, kReserved, ~std::uint64_t{0} - 100); });
  variant("reserved-behind-tail", wrapped, latest, in_place, [](Bytes& r) {
    poke<std::uint64_t>(r, kReserved, peek_at<std::uint64_t>(r, kTail) / 2);
  });
  variant("tail-mid-record-takeover", wrapped, oldest | fuzz::kTakeOver, 0, [](Bytes& r) {
    poke<std::uint64_t>(r, kTail, peek_at<std::uint64_t>(r, kTail) - 40);
  });
  variant("tail-unaligned-takeover", wrapped, oldest | fuzz::kTakeOver, 0, [](Bytes& r) {
    poke<std::uint64_t>(r, kTail, peek_at<std::uint64_t>(r, kTail) + 7);
  });
  variant("tail-far-behind-takeover", wrapped, oldest | fuzz::kTakeOver, 0, [](Bytes& r) { poke<std::uint64_t>(r, kTail, 0); });
  variant("first-seq-huge", wrapped, oldest, 0, [](Bytes& r) { poke<std::uint64_t>(r, kFirstSeq, ~std::uint64_t{0} - 1); });

  // ---- records ----
  const std::uint64_t records = peek_at<std::uint64_t>(wrapped.ring, kRecords);
  variant("record-length-too-big", wrapped, oldest, 0, [&](Bytes& r) {
    poke<std::uint32_t>(r, record_of(r, records - 5) + 8, 4000);
  });
  variant("record-length-past-end", wrapped, oldest, in_place, [&](Bytes& r) {
    poke<std::uint32_t>(r, record_of(r, records - 5) + 8, 1024);
  });
  variant("record-skip-huge-target", wrapped, oldest, 0, [&](Bytes& r) {
    const std::size_t at = record_of(r, records - 4);
    poke<std::uint32_t>(r, at + 8, d::kSkipRecordLength);
    poke<std::uint64_t>(r, at + 16, ~std::uint64_t{0} - 5);
  });
  variant("record-skip-backwards", wrapped, oldest, in_place, [&](Bytes& r) {
    const std::size_t at = record_of(r, records - 4);
    poke<std::uint32_t>(r, at + 8, d::kSkipRecordLength);
    poke<std::uint64_t>(r, at + 16, 1);
  });
  variant("record-padding-at-data-start", wrapped, oldest, 0, [&](Bytes& r) {
    poke<std::uint64_t>(r, d::kRingHeaderSize, d::kPaddingStamp);
  });
  variant("record-stamps-all-padding", wrapped, oldest, in_place, [&](Bytes& r) {
    for (std::uint64_t p = 0; p < View(r).ring_bytes; p += 32) poke<std::uint64_t>(r, d::kRingHeaderSize + p, d::kPaddingStamp);
  });
  variant("record-nothing-yet-everywhere", wrapped, oldest, 0, [&](Bytes& r) {
    for (std::uint64_t p = 0; p < View(r).ring_bytes; p += 32) poke<std::uint64_t>(r, d::kRingHeaderSize + p, 0);
  });
  // Every 32-byte boundary of the data claims to be the record its index says follows: a
  // chain of forged headers (length 8) that a reader a lap behind would walk.
  variant("record-forged-chain", wrapped, sequence, 0, [&](Bytes& r) {
    const View v(r);
    for (std::uint64_t p = 0; p < v.ring_bytes; p += 32) {
      poke<std::uint64_t>(r, d::kRingHeaderSize + p, d::record_stamp(p / 32));
      poke<std::uint64_t>(r, d::kRingHeaderSize + p + 8, 8);
    }
  });
  variant("record-forged-chain-peek", wrapped, sequence, in_place, [&](Bytes& r) {
    const View v(r);
    for (std::uint64_t p = 0; p < v.ring_bytes; p += 32) {
      poke<std::uint64_t>(r, d::kRingHeaderSize + p, d::record_stamp(p / 32 + 200));
      poke<std::uint64_t>(r, d::kRingHeaderSize + p + 8, 1000);
    }
    poke<std::uint64_t>(r, kReserved, 0);
  });

  // ---- the record index ----
  variant("index-garbage", wrapped, oldest, in_place, [&](Bytes& r) {
    const View v(r);
    for (std::uint64_t i = 0; i < v.header.index_entries; ++i) poke<std::uint64_t>(r, v.index(i), i * 0x9E3779B97F4A7C15ull);
  });
  variant("index-unaligned", wrapped, sequence, 5, [&](Bytes& r) {
    const View v(r);
    for (std::uint64_t i = 0; i < v.header.index_entries; ++i)
      poke<std::uint64_t>(r, v.index(i), peek_at<std::uint64_t>(r, v.index(i)) + 8);
  });
  variant("index-all-zero", wrapped, latest | gap_latest, 0, [&](Bytes& r) {
    const View v(r);
    for (std::uint64_t i = 0; i < v.header.index_entries; ++i) poke<std::uint64_t>(r, v.index(i), 0);
  });
  variant("index-descending", wrapped, oldest, 0, [&](Bytes& r) {
    const View v(r);
    for (std::uint64_t i = 0; i < v.header.index_entries; ++i) poke<std::uint64_t>(r, v.index(i), (v.header.index_entries - i) * 32);
  });

  // ---- the snapshot area ----
  variant("snapshot-length-too-big", snap, snapshot | gap_snapshot, 0, [](Bytes& r) {
    poke<std::uint64_t>(r, d::kSnapshotControlOffset + 24, 1u << 20);
    poke<std::uint64_t>(r, d::kSnapshotControlOffset + 32, 1u << 20);
  });
  variant("snapshot-as-of-huge", snap, snapshot | gap_snapshot, 0, [](Bytes& r) {
    poke<std::uint64_t>(r, d::kSnapshotControlOffset + 8, ~std::uint64_t{0});
    poke<std::uint64_t>(r, d::kSnapshotControlOffset + 16, ~std::uint64_t{0});
  });
  variant("snapshot-stamp-odd", snap, snapshot | gap_snapshot, 0, [](Bytes& r) { poke<std::uint64_t>(r, d::kSnapshotControlOffset, 7); });

  // ---- bytes changing under the reader (mutation scripts) ----
  const View wv(wrapped.ring);
  const auto data_at = [&](std::uint64_t p) { return static_cast<std::uint32_t>(d::kRingHeaderSize + p); };
  const std::uint64_t tail = peek_at<std::uint64_t>(wrapped.ring, kTail);
  const std::uint64_t reserved = peek_at<std::uint64_t>(wrapped.ring, kReserved);
  std::vector<Change> horizon_moves;  // the horizon passes everything, step by step
  for (int i = 1; i <= 20; ++i) horizon_moves.push_back({static_cast<std::uint32_t>(kReserved), reserved + 256u * static_cast<unsigned>(i)});
  emit("mutate-horizon-moves", input(oldest, 0, wrapped.ring, nullptr, &horizon_moves));
  emit("mutate-horizon-moves-peek", input(oldest, in_place, wrapped.ring, nullptr, &horizon_moves));
  std::vector<Change> forge_ahead;  // stamps appear ahead of a waiting reader, then the horizon jumps
  for (std::uint64_t k = 0; k < 16; ++k)
    forge_ahead.push_back({data_at((tail + 32 * k) % wv.ring_bytes), d::record_stamp(peek_at<std::uint64_t>(wrapped.ring, kHead) + k)});
  forge_ahead.push_back({static_cast<std::uint32_t>(kReserved), tail + 4096});
  emit("mutate-forge-ahead-latest", input(latest, 0, wrapped.ring, nullptr, &forge_ahead));
  emit("mutate-forge-ahead-latest-peek", input(latest, in_place, wrapped.ring, nullptr, &forge_ahead));
  std::vector<Change> index_churn;  // the index and records rewritten while searched
  for (std::uint64_t i = 0; i < 24; ++i) {
    index_churn.push_back({static_cast<std::uint32_t>(wv.index(records - 1 - i)), (tail + 32 * i) * 3});
    index_churn.push_back({static_cast<std::uint32_t>(kRecords), records + i * 1000});
  }
  emit("mutate-index-churn", input(oldest | gap_latest, 0, wrapped.ring, nullptr, &index_churn));
  std::vector<Change> lengths;  // lengths grow past everything while the reader reads
  for (std::uint64_t i = 0; i < 30; ++i)
    lengths.push_back({static_cast<std::uint32_t>(record_of(wrapped.ring, records - 30 + i) + 8), (i << 40) | (0x1000u * i)});
  emit("mutate-lengths", input(oldest, 0, wrapped.ring, nullptr, &lengths));
  emit("mutate-lengths-peek", input(oldest, in_place, wrapped.ring, nullptr, &lengths));
  std::vector<Change> header_flip;  // the header changes after attaching: the reader keeps its copy
  header_flip.push_back({static_cast<std::uint32_t>(offsetof(H, ring_bytes)), 1u << 30});
  header_flip.push_back({static_cast<std::uint32_t>(offsetof(H, max_message)), 0xFFFFFFFFull});
  header_flip.push_back({static_cast<std::uint32_t>(offsetof(H, index_offset)), 0});
  emit("mutate-header-after-attach", input(oldest | fuzz::kTakeOver, in_place, wrapped.ring, nullptr, &header_flip));

  // ---- registries ----
  Bytes junk_registry(512, 0xA5);
  emit("bad-registry", input(oldest | fuzz::kTakeOver, 0, wrapped.ring, &junk_registry));
  Bytes waiting_registry = eight.registry;
  poke<std::uint32_t>(waiting_registry, d::kWaitLineOffset, 7);  // waiters nobody will take back
  emit("registry-stuck-waiters-takeover", input(oldest | fuzz::kTakeOver, 0, eight.ring, &waiting_registry));
  // The registry's capacity comes from its header: too large for the object, smaller than
  // the object, zero, and a registry of the previous format.
  for (const auto& [file, n] : {std::pair{"registry-count-huge", 0xFFFFFFFFu}, std::pair{"registry-count-beyond-object", 4096u},
                                std::pair{"registry-count-2", 2u}, std::pair{"registry-count-0", 0u}}) {
    Bytes r = eight.registry;
    poke<std::uint32_t>(r, offsetof(d::RegistryHeader, entry_count), n);
    emit(file, input(oldest | fuzz::kTakeOver, 0, eight.ring, &r));
  }
  Bytes old_format = eight.registry;
  poke<std::uint32_t>(old_format, offsetof(d::RegistryHeader, version), 2);
  emit("registry-version-2", input(oldest, 0, eight.ring, &old_format));
  std::printf("wrote %d corpus files to %s\n", count, dir.c_str());
  return 0;
}
