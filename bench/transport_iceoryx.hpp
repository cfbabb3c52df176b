// iceoryx 2.0 (Debian's 2.0.3) behind the harness's Tx/Rx interface (transports.hpp): one
// untyped publisher, one untyped subscriber per reader, chunks from the mempool of a RouDi
// that the parent starts for the point (roudi.hpp) with the size iox_mempool gives.
//
// Configured as iceoryx documents a lossy stream without history:
// - no history: the publisher keeps none (historyCapacity 0) and a subscriber asks for none
//   (historyRequest 0), so a reader sees what is published after it subscribed;
// - a full subscriber queue drops its oldest chunk (QueueFullPolicy::DISCARD_OLDEST_DATA),
//   and the publisher never waits for a slow subscriber
//   (ConsumerTooSlowPolicy::DISCARD_OLDEST_DATA): lossy like the ring;
// - each queue holds as many messages as the ring holds of the point's size (ring_capacity),
//   up to what the build allows (MAX_SUBSCRIBER_QUEUE_CAPACITY: 256 in Debian's build; the
//   ring holds 63 messages of 64 KiB, 255 of 16 KiB, thousands below);
// - the writer loans a chunk, copies the payload into it (the copy the ring's publish makes
//   too) and publishes it; the reader takes a chunk, reads it in place (zero-copy, as iceoryx
//   is meant to be used) and releases it at its next poll;
// - the sequence and the latency timestamp ride in a 16-byte user header of the chunk, and a
//   reader counts each gap in the sequence as missed (hasMissedData() says only whether);
// - `block` waits in a WaitSet attached to the subscriber's HAS_DATA state.
//
// Every process registers with RouDi under a name of its own (iox_runtime) and must end with
// exit(), not _exit(): the runtime deregisters in its (static) destructor, and a RouDi that is
// stopped with clients still registered signals their pids.
#pragma once

#if SHMCAST_BENCH_ICEORYX

#include "roudi.hpp"
#include "transports.hpp"

#include <iceoryx_hoofs/log/logmanager.hpp>
#include <iceoryx_posh/mepoo/chunk_header.hpp>
#include <iceoryx_posh/mepoo/chunk_settings.hpp>
#include <iceoryx_posh/popo/untyped_publisher.hpp>
#include <iceoryx_posh/popo/untyped_subscriber.hpp>
#include <iceoryx_posh/popo/wait_set.hpp>
#include <iceoryx_posh/runtime/posh_runtime.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace shmcast::bench {

// Carried in each chunk's user header.
struct IoxHeader {
  std::uint64_t seq;
  std::uint64_t ts;
};
inline constexpr std::uint32_t kIoxPayloadAlignment = iox::CHUNK_DEFAULT_USER_PAYLOAD_ALIGNMENT;

// The mempool a point needs: chunks that hold [ChunkHeader][IoxHeader][payload], rounded up
// to whole cache lines, enough for every subscriber's full queue and the chunk it holds, and
// for what each publisher may hold at once.
inline RoudiMempool iox_mempool(std::size_t payload, std::size_t subscribers, std::size_t publishers) {
  const auto settings = iox::mepoo::ChunkSettings::create(static_cast<std::uint32_t>(payload), kIoxPayloadAlignment,
                                                          sizeof(IoxHeader), alignof(IoxHeader));
  if (settings.has_error()) throw std::runtime_error("iceoryx: no chunk layout for " + std::to_string(payload) + " bytes");
  const std::uint32_t chunk = (settings.value().requiredChunkSize() + 63) / 64 * 64;
  RoudiMempool pool;
  pool.size = chunk - static_cast<std::uint32_t>(sizeof(iox::mepoo::ChunkHeader));
  pool.count = static_cast<std::uint32_t>(subscribers * (iox::MAX_SUBSCRIBER_QUEUE_CAPACITY + 1) +
                                          publishers * iox::MAX_CHUNKS_ALLOCATED_PER_PUBLISHER_SIMULTANEOUSLY);
  return pool;
}

// Registers this process with RouDi once, under `name` (unique among the point's processes).
inline void iox_runtime(const std::string& name) {
  static bool registered = false;
  if (registered) return;
  iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn, iox::log::LogLevelOutput::kHideLogLevel);
  iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
  registered = true;
}

// The point's channel `ch` (0, or 1 for the echo of rtt) as an iceoryx service.
inline iox::capro::ServiceDescription iox_service(const std::string& tag, int ch) {
  return {"shmcast-bench", iox::capro::IdString_t(iox::cxx::TruncateToCapacity, tag.c_str()), ch == 0 ? "a" : "b"};
}

class IoxTx {
 public:
  IoxTx(const iox::capro::ServiceDescription& service, std::size_t size) : publisher_(service, options()), buffer_(size / 8 + 1) {}
  std::byte* buffer() noexcept { return reinterpret_cast<std::byte*>(buffer_.data()); }
  void send(std::size_t len, std::uint64_t ts) {
    auto loaned = publisher_.loan(static_cast<std::uint32_t>(len), kIoxPayloadAlignment, sizeof(IoxHeader), alignof(IoxHeader));
    if (loaned.has_error()) throw std::runtime_error("iceoryx: loan failed (the point's mempool is exhausted)");
    void* payload = loaned.value();
    auto* header = static_cast<IoxHeader*>(iox::mepoo::ChunkHeader::fromUserPayload(payload)->userHeader());
    header->seq = seq_++;
    header->ts = ts;
    std::memcpy(payload, buffer(), len);
    publisher_.publish(payload);
  }
  void finish() noexcept {}

 private:
  static iox::popo::PublisherOptions options() {
    iox::popo::PublisherOptions o;
    o.historyCapacity = 0;
    o.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::DISCARD_OLDEST_DATA;
    return o;
  }
  iox::popo::UntypedPublisher publisher_;
  std::vector<std::uint64_t> buffer_;
  std::uint64_t seq_ = 0;
};

class IoxRx {
 public:
  // Returns once RouDi has connected the subscriber to the publisher (which may come later):
  // from then on every publish reaches its queue.
  IoxRx(const iox::capro::ServiceDescription& service, std::uint64_t capacity, Wait wait)
      : subscriber_(service, options(capacity)), wait_(wait) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (subscriber_.getSubscriptionState() != iox::SubscribeState::SUBSCRIBED) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("iceoryx: not subscribed within 30 s");
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (wait_ == Wait::block) {
      waitset_ = std::make_unique<iox::popo::WaitSet<1>>();
      if (waitset_->attachState(subscriber_, iox::popo::SubscriberState::HAS_DATA).has_error())
        throw std::runtime_error("iceoryx: cannot attach the subscriber to a WaitSet");
    }
  }
  ~IoxRx() {
    waitset_.reset();
    release();
  }
  IoxRx(const IoxRx&) = delete;
  IoxRx& operator=(const IoxRx&) = delete;

  Poll poll(Got& g) {
    release();
    auto taken = subscriber_.take();
    if (taken.has_error()) return Poll::empty;  // NO_CHUNK_AVAILABLE (one chunk held at most: never TOO_MANY)
    held_ = taken.value();
    const iox::mepoo::ChunkHeader* chunk = iox::mepoo::ChunkHeader::fromUserPayload(held_);
    const auto* header = static_cast<const IoxHeader*>(chunk->userHeader());
    if (header->seq > next_) missed_ += header->seq - next_;  // the queue dropped its oldest
    next_ = header->seq + 1;
    g = Got{header->seq, header->ts, static_cast<const std::byte*>(held_), chunk->userPayloadSize()};
    return Poll::message;
  }
  Poll wait(Got& g, std::chrono::nanoseconds timeout) {
    if (wait_ != Wait::block) return poll_until([this](Got& x) { return poll(x); }, g, wait_, timeout);
    if (const Poll p = poll(g); p != Poll::empty) return p;
    waitset_->timedWait(iox::units::Duration::fromNanoseconds(static_cast<std::uint64_t>(timeout.count())));
    return poll(g);
  }
  [[nodiscard]] std::uint64_t missed() const noexcept { return missed_; }

 private:
  static iox::popo::SubscriberOptions options(std::uint64_t capacity) {
    iox::popo::SubscriberOptions o;
    o.queueCapacity = std::min<std::uint64_t>(capacity, iox::MAX_SUBSCRIBER_QUEUE_CAPACITY);
    o.historyRequest = 0;
    o.queueFullPolicy = iox::popo::QueueFullPolicy::DISCARD_OLDEST_DATA;
    return o;
  }
  void release() noexcept {
    if (held_ != nullptr) subscriber_.release(held_);
    held_ = nullptr;
  }

  iox::popo::UntypedSubscriber subscriber_;
  std::unique_ptr<iox::popo::WaitSet<1>> waitset_;
  Wait wait_;
  const void* held_ = nullptr;
  std::uint64_t next_ = 0;
  std::uint64_t missed_ = 0;
};

}  // namespace shmcast::bench

#endif  // SHMCAST_BENCH_ICEORYX
