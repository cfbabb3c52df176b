// Small RAII, error and retry helpers over the NATS C client (nats.c) for the bridge.
#pragma once

#include "bridge/bridge.hpp"

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace shmcast::bridge {

struct NatsDeleter {
  void operator()(natsConnection* p) const noexcept { natsConnection_Destroy(p); }
  void operator()(natsOptions* p) const noexcept { natsOptions_Destroy(p); }
  void operator()(jsCtx* p) const noexcept { jsCtx_Destroy(p); }
  void operator()(natsMsg* p) const noexcept { natsMsg_Destroy(p); }
  void operator()(natsSubscription* p) const noexcept {
    natsSubscription_Unsubscribe(p);  // deletes the (ephemeral) consumer; harmless if the server is gone
    natsSubscription_Destroy(p);
  }
  void operator()(jsStreamInfo* p) const noexcept { jsStreamInfo_Destroy(p); }
  void operator()(jsMsgMetaData* p) const noexcept { jsMsgMetaData_Destroy(p); }
};
template <class T>
using NatsPtr = std::unique_ptr<T, NatsDeleter>;

// How long the bridge waits between two tries at something that failed for a while.
inline constexpr std::chrono::milliseconds kRetryInterval{250};

// `should_stop` is set and says stop.
[[nodiscard]] inline bool stopping(const StopPredicate& should_stop) { return should_stop && should_stop(); }

// "what: <status text> (<nats.c's last error>) [JetStream error code N]".
[[nodiscard]] std::string nats_error_text(const std::string& what, natsStatus s, jsErrCode code = static_cast<jsErrCode>(0));
// Throws shmcast::Error(Errc::system) with nats_error_text() unless s is NATS_OK.
void nats_check(natsStatus s, const std::string& what, jsErrCode code = static_cast<jsErrCode>(0));

// A failure that passes: the server is unreachable, restarting or slow to answer, or the
// stream (or its last message) is not there yet.
[[nodiscard]] bool retryable(natsStatus s, jsErrCode code = static_cast<jsErrCode>(0));

// What retry_until() says about the tries of one thing.
struct RetryPolicy {
  const char* role;         // "out" or "in", for log_line()
  std::string waiting;      // logged (with the status) at the first retryable failure
  std::string failure;      // thrown (nats_check) with a failure that is not retryable()
  const StopPredicate& should_stop;
};

// Calls `attempt` until it returns NATS_OK, every kRetryInterval while it fails with a
// retryable() status (it sets `code` to the JetStream error code, if any); logs the first
// such failure once. Returns true once it succeeded, false if asked to stop first; throws
// shmcast::Error at a failure that is not retryable().
bool retry_until(const RetryPolicy& policy, const std::function<natsStatus(jsErrCode& code)>& attempt);

// Connects to `url` (comma-separated list allowed), retrying while no server answers
// (null if asked to stop first), then reconnecting for ever. Throws on refusal.
[[nodiscard]] NatsPtr<natsConnection> nats_connect(const std::string& url, const std::string& client_name,
                                                   const char* role, const StopPredicate& should_stop);

// Looks stream `name` up into `info` (js_GetStreamInfo), and waits out the moment JetStream
// is still making it: a lookup racing the creation can find the stream with no creation
// time yet (nats-server 2.9.10 answers Go's zero time, which nats.c reads as 0). Looks again
// every 10 ms until the time is there, for at most a second from the first lookup's answer
// and never once `should_stop` says stop; `info->Created` is still 0 after that only from a
// server that never gives one (or when stopped).
[[nodiscard]] natsStatus get_stream_info(NatsPtr<jsStreamInfo>& info, jsCtx* js, const std::string& name, jsErrCode& code,
                                         const StopPredicate& should_stop);

// A header's value, or nullopt if absent.
[[nodiscard]] std::optional<std::string> header(natsMsg* msg, const char* key);
// A header parsed as an unsigned decimal (or hex with base 16), digits only (no sign, no
// space, no prefix); nullopt if absent or malformed.
[[nodiscard]] std::optional<std::uint64_t> header_u64(natsMsg* msg, const char* key, int base = 10);

// Prints "shmcast bridge <role>: <text>" to stderr, on one line, escaped as the CLI's
// errors are (a stream name or a server's error text cannot drive the terminal).
void log_line(const char* role, const std::string& text);

}  // namespace shmcast::bridge
