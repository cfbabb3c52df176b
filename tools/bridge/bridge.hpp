// The NATS JetStream bridge: `bridge out` relays a ring into one JetStream stream,
// `bridge in` writes that stream into a ring on another host under the same sequences.
//
// Wire format: one JetStream message per ring message, on subject `shmcast.<ring>`.
//
//   headers                          body
//   Nats-Msg-Id: <ring id hex>-<seq> the payload, unchanged
//   Shmcast-Seq: <ring sequence>
//   Shmcast-Type: <message type>
//   Shmcast-Ts: <publish time, ns since the epoch>
//   Shmcast-Ring-Id: <ring id hex>
//   Shmcast-Ring-Bytes / Shmcast-Max-Message: the source ring's geometry (layout version 3;
//   streams of older bridges carry Shmcast-Slot-Count / Shmcast-Slot-Size instead)
//
// A gap the bridge suffered itself (it was lapped, or the ring moved on while it was
// down) is one record with an empty body and, instead of Shmcast-Seq/Type/Ts:
//
//   Nats-Msg-Id: <ring id hex>-g<first>
//   Shmcast-Gap-First: <first ring sequence missed>
//   Shmcast-Gap-Missed: <how many>
//
// Order: each publish states what the stream's last message must be (JetStream's
// Nats-Expected-Last-Msg-Id, or Nats-Expected-Last-Sequence for the first publish after
// (re)synchronising), so the stream only ever grows in ring order. After any failed or
// unacknowledged publish the bridge drains its pipeline, reads the stream's last message
// and continues after it: the resent messages keep their Nats-Msg-Id, so JetStream drops
// any that were stored after all.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace shmcast::bridge {

inline constexpr const char* kHdrSeq = "Shmcast-Seq";
inline constexpr const char* kHdrType = "Shmcast-Type";
inline constexpr const char* kHdrTs = "Shmcast-Ts";
inline constexpr const char* kHdrRingId = "Shmcast-Ring-Id";
inline constexpr const char* kHdrRingBytes = "Shmcast-Ring-Bytes";
inline constexpr const char* kHdrMaxMessage = "Shmcast-Max-Message";
// What `bridge out` of layout version 2 sent instead; `bridge in` still reads them.
inline constexpr const char* kHdrSlotCount = "Shmcast-Slot-Count";
inline constexpr const char* kHdrSlotSize = "Shmcast-Slot-Size";
inline constexpr const char* kHdrGapFirst = "Shmcast-Gap-First";
inline constexpr const char* kHdrGapMissed = "Shmcast-Gap-Missed";
inline constexpr const char* kHdrMsgId = "Nats-Msg-Id";

// `shmcast.<ring>`: ring names are letters, digits, '.', '_' and '-', all valid in subjects.
[[nodiscard]] std::string subject_for(std::string_view ring);
// `shmcast_<ring>` with '.' turned into '_' (JetStream stream names may not hold '.').
[[nodiscard]] std::string default_stream_for(std::string_view ring);
// Throws shmcast::Error(invalid_argument) for a name JetStream refuses.
void validate_stream_name(std::string_view stream);
// NATS server URLs, comma-separated: each `nats://`, `tls://` or a bare HOST:PORT. Throws
// Errc::invalid_argument naming an unknown scheme, instead of retrying it for ever.
void validate_nats_urls(const std::string& urls);

// Polled by a running bridge (every few hundred milliseconds at most): true asks it to
// finish cleanly. Empty: run until an error.
using StopPredicate = std::function<bool()>;

struct OutOptions {
  std::string ring;
  std::string url = "nats://127.0.0.1:4222";
  std::string stream;  // empty: default_stream_for(ring)
  std::string label = "bridge-out";
  // Used only when the stream is created here.
  std::int64_t max_msgs = -1;
  std::int64_t max_bytes = -1;
  std::chrono::seconds max_age{0};
  int replicas = 1;
  std::chrono::seconds duplicate_window{120};
  // Pipeline: at most this many unacknowledged publishes; an ack later than ack_wait
  // counts as a failure (drain, resynchronise, resend).
  int max_pending = 4096;
  std::chrono::milliseconds ack_wait{5000};
  bool verbose = false;
  StopPredicate should_stop;
};

struct InOptions {
  std::string ring;
  std::string url = "nats://127.0.0.1:4222";
  std::string stream;  // empty: default_stream_for(ring)
  // Geometry for a ring created here; 0: the source's, from the message headers. With both
  // given the ring is opened or created at start and an existing one must match.
  std::uint64_t ring_bytes = 0;
  std::uint32_t max_message = 0;
  unsigned mode = 0600;
  bool verbose = false;
  StopPredicate should_stop;
};

// Both run until options.should_stop() says so; throw shmcast::Error on failure.
void run_out(const OutOptions& options);
void run_in(const InOptions& options);

}  // namespace shmcast::bridge
