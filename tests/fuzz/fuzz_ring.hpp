// The fuzzing harness for hostile shared memory, shared by the libFuzzer target and the
// plain-compiler corpus replay. One input describes a ring object (and optionally a
// reader registry) byte for byte; the harness writes it under /dev/shm and runs the
// attach, read, snapshot, inspection and takeover paths over it, with every loop bounded.
//
// Input layout:
//   byte 0       flags: bits 0-1 StartAt (latest, oldest, sequence, snapshot)
//                       bits 2-3 GapPolicy (oldest, latest, snapshot, oldest)
//                       bit 4    pad the ring object with zeros up to its header's
//                                total_size (at most 1 MiB), so small inputs make big rings
//                       bit 5    also take the ring over with Producer::open and publish
//                       bit 6    a registry follows
//                       bit 7    a mutation script follows: the ring's bytes change under
//                                the attached reader, one change between reads
//   bytes 1-8    ReaderOptions::start_seq (little-endian)
//   if bit 7:    u8 count N, then N changes of 12 bytes: u32 offset (taken modulo the
//                object's size, rounded down to 8 bytes), u64 value stored there
//   if bit 6:    u16 length L, then L bytes of the registry object (zero-padded to its size)
//   the rest     the ring object (layout version 3: header, producer and reserve lines,
//                records, record index, snapshot buffers)
#pragma once

#include <cstddef>
#include <cstdint>

namespace shmcast::fuzz {

inline constexpr std::uint8_t kPadToTotalSize = 1u << 4;
inline constexpr std::uint8_t kTakeOver = 1u << 5;
inline constexpr std::uint8_t kHasRegistry = 1u << 6;
inline constexpr std::uint8_t kMutates = 1u << 7;
inline constexpr std::size_t kMaxObjectSize = std::size_t{1} << 20;
inline constexpr int kMaxReads = 64;

// Runs one input. Returns 0; aborts if the library breaks one of its promises
// (accounting, sequence order, payload bounds, a payload read in place outside the
// ring's data) on it.
int run_one(const std::uint8_t* data, std::size_t size);

}  // namespace shmcast::fuzz
