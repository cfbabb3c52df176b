// ZeroMQ (libzmq 4.3, C API) PUB/SUB behind the harness's Tx/Rx interface (transports.hpp):
// the producer's PUB socket binds an ipc:// endpoint (a unix-domain socket in the point's
// temporary directory, setup.cpp) and every reader's SUB socket connects to it.
//
// Configured as the libzmq documentation has it for a lossy stream:
// - SNDHWM on the PUB and RCVHWM on each SUB equal to the messages of the point's size the
//   ring holds (ring_capacity), set before bind/connect: a PUB whose pipe to a subscriber is
//   full drops what it would send to that subscriber (its "mute" state), so a slow reader
//   never slows the producer. libzmq's high-water marks are approximate, and the kernel's
//   socket buffers sit between the two pipes, so more messages than the ring holds may be
//   in flight;
// - one message a frame, [ZmqHeader][payload], sent with one copy into libzmq; the reader
//   receives into one zmq_msg_t and reads it in place, the same message released at its
//   next receive;
// - a reader counts each gap in the sequence as missed. After the last message the producer
//   sends an end marker carrying the number published, repeated until every reader has
//   received one (a PUB drops the marker too at a full pipe: await_end in roles.cpp); what a
//   reader did not receive before it is counted missed as well;
// - slow joiners: a SUB's subscription reaches the PUB some time after connect, and the PUB
//   drops what it sends before. Before the measured run the sender repeats a warm-up message
//   until every reader on the channel has received one (await_subscribers in roles.cpp): the
//   synchronisation the ZeroMQ guide describes, with the harness's control block as the back
//   channel for the readers' answers;
// - `block` waits in zmq_poll; spin and yield poll zmq_msg_recv with ZMQ_DONTWAIT;
// - one context (one I/O thread, the default: libzmq suggests one per GB/s) per process, made
//   in the process after the fork; it ends with the last socket, and zmq_ctx_term waits up to
//   the PUB's linger (2 s) for what was sent to reach the kernel.
#pragma once

#if SHMCAST_BENCH_ZMQ

#include "transports.hpp"

#include <zmq.h>

#include <atomic>
#include <cerrno>
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

// The first 16 bytes of every message.
struct ZmqHeader {
  std::uint64_t seq;
  std::uint64_t ts;
};
inline constexpr std::uint64_t kZmqWarmUp = ~std::uint64_t{0};  // before the run: a reader has joined
inline constexpr std::uint64_t kZmqEnd = ~std::uint64_t{0} - 1;  // after the last message; ts = published

inline std::runtime_error zmq_failure(const std::string& what) { return std::runtime_error("zmq: " + what + ": " + zmq_strerror(zmq_errno())); }

// This process's context, shared by its sockets and terminated after the last one closes.
inline std::shared_ptr<void> zmq_context() {
  static std::weak_ptr<void> current;
  if (std::shared_ptr<void> ctx = current.lock()) return ctx;
  void* raw = zmq_ctx_new();
  if (raw == nullptr) throw zmq_failure("zmq_ctx_new");
  std::shared_ptr<void> ctx(raw, [](void* c) {
    while (zmq_ctx_term(c) != 0 && zmq_errno() == EINTR) {
    }
  });
  current = ctx;
  return ctx;
}

class ZmqSocket {
 public:
  explicit ZmqSocket(int type) : ctx_(zmq_context()), socket_(zmq_socket(ctx_.get(), type)) {
    if (socket_ == nullptr) throw zmq_failure("zmq_socket");
  }
  ~ZmqSocket() { zmq_close(socket_); }  // before ctx_ lets go of the context
  ZmqSocket(const ZmqSocket&) = delete;
  ZmqSocket& operator=(const ZmqSocket&) = delete;
  void set(int option, int value) {
    if (zmq_setsockopt(socket_, option, &value, sizeof value) != 0) throw zmq_failure("zmq_setsockopt " + std::to_string(option));
  }
  void* get() const noexcept { return socket_; }

 private:
  std::shared_ptr<void> ctx_;
  void* socket_;
};

class ZmqTx {
 public:
  ZmqTx(const std::string& endpoint, int hwm, std::size_t size) : socket_(ZMQ_PUB), buffer_((sizeof(ZmqHeader) + size) / 8 + 1) {
    socket_.set(ZMQ_SNDHWM, hwm);
    socket_.set(ZMQ_LINGER, 2000);
    if (zmq_bind(socket_.get(), endpoint.c_str()) != 0) throw zmq_failure("zmq_bind " + endpoint);
  }
  std::byte* buffer() noexcept { return bytes() + sizeof(ZmqHeader); }
  void send(std::size_t len, std::uint64_t ts) {
    const ZmqHeader h{seq_++, ts};
    std::memcpy(bytes(), &h, sizeof h);
    if (zmq_send(socket_.get(), bytes(), sizeof h + len, 0) < 0) throw zmq_failure("zmq_send");  // a PUB never blocks
  }
  // Sent before the run until every reader has received one (await_subscribers).
  void warm_up() {
    const ZmqHeader h{kZmqWarmUp, 0};
    zmq_send(socket_.get(), &h, sizeof h, ZMQ_DONTWAIT);
  }
  // Sent after the last message until every reader has received one (await_end). Every
  // message sent before it is ahead of it in each reader's pipe.
  void end_marker() {
    const ZmqHeader h{kZmqEnd, seq_};
    zmq_send(socket_.get(), &h, sizeof h, ZMQ_DONTWAIT);
  }
  void finish() noexcept {}

 private:
  std::byte* bytes() noexcept { return reinterpret_cast<std::byte*>(buffer_.data()); }
  ZmqSocket socket_;
  std::vector<std::uint64_t> buffer_;
  std::uint64_t seq_ = 0;
};

class ZmqRx {
 public:
  // `joined`, `ended`: the control block's counts of the channel's readers that have
  // received a warm-up message and an end marker; this reader adds itself once to each.
  ZmqRx(const std::string& endpoint, int hwm, Wait wait, std::atomic<std::uint32_t>* joined, std::atomic<std::uint32_t>* ended)
      : socket_(ZMQ_SUB), wait_(wait), joined_counter_(joined), ended_counter_(ended) {
    socket_.set(ZMQ_RCVHWM, hwm);
    socket_.set(ZMQ_LINGER, 0);
    if (zmq_setsockopt(socket_.get(), ZMQ_SUBSCRIBE, "", 0) != 0) throw zmq_failure("ZMQ_SUBSCRIBE");
    if (zmq_connect(socket_.get(), endpoint.c_str()) != 0) throw zmq_failure("zmq_connect " + endpoint);
    zmq_msg_init(&msg_);
  }
  ~ZmqRx() { zmq_msg_close(&msg_); }
  ZmqRx(const ZmqRx&) = delete;
  ZmqRx& operator=(const ZmqRx&) = delete;

  // Warm-up and end markers are consumed here, never delivered.
  Poll poll(Got& g) {
    for (;;) {
      if (zmq_msg_recv(&msg_, socket_.get(), ZMQ_DONTWAIT) < 0) return Poll::empty;  // EAGAIN (or EINTR)
      const auto* data = static_cast<const std::byte*>(zmq_msg_data(&msg_));
      const std::size_t size = zmq_msg_size(&msg_);
      if (size < sizeof(ZmqHeader)) continue;
      ZmqHeader h;
      std::memcpy(&h, data, sizeof h);
      if (h.seq == kZmqWarmUp) {
        if (!joined_) joined_counter_->fetch_add(1, std::memory_order_acq_rel);
        joined_ = true;
        continue;
      }
      if (h.seq == kZmqEnd) {
        if (!ended_) ended_counter_->fetch_add(1, std::memory_order_acq_rel);
        ended_ = true;
        published_ = h.ts;
        continue;
      }
      if (h.seq > next_) missed_ += h.seq - next_;  // dropped at a high-water mark
      next_ = h.seq + 1;
      g = Got{h.seq, h.ts, data + sizeof h, size - sizeof h};
      return Poll::message;
    }
  }
  Poll wait(Got& g, std::chrono::nanoseconds timeout) {
    if (wait_ != Wait::block) return poll_until([this](Got& x) { return poll(x); }, g, wait_, timeout);
    if (const Poll p = poll(g); p != Poll::empty) return p;
    zmq_pollitem_t item{socket_.get(), 0, ZMQ_POLLIN, 0};
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    zmq_poll(&item, 1, static_cast<long>(ms > 0 ? ms : 1));
    return poll(g);
  }
  // Gaps, and once the end marker is in, what never came before it.
  [[nodiscard]] std::uint64_t missed() const noexcept { return missed_ + (ended_ && published_ > next_ ? published_ - next_ : 0); }
  // The end marker has arrived: nothing more will (the harness's drain waits for it).
  [[nodiscard]] bool ended() const noexcept { return ended_; }
  // This reader has received a warm-up message.
  [[nodiscard]] bool joined() const noexcept { return joined_; }

 private:
  ZmqSocket socket_;
  Wait wait_;
  std::atomic<std::uint32_t>* joined_counter_;
  std::atomic<std::uint32_t>* ended_counter_;
  zmq_msg_t msg_;
  bool joined_ = false;
  bool ended_ = false;
  std::uint64_t published_ = 0;
  std::uint64_t next_ = 0;
  std::uint64_t missed_ = 0;
};

}  // namespace shmcast::bench

#endif  // SHMCAST_BENCH_ZMQ
