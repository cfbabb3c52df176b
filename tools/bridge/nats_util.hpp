// Small RAII and error helpers over the NATS C client (nats.c) for the bridge.
#pragma once

#include <nats/nats.h>

#include <cstdint>
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

// "what: <status text> (<nats.c's last error>) [JetStream error code N]".
[[nodiscard]] std::string nats_error_text(const std::string& what, natsStatus s, jsErrCode code = static_cast<jsErrCode>(0));
// Throws shmcast::Error(Errc::system) with nats_error_text() unless s is NATS_OK.
void nats_check(natsStatus s, const std::string& what, jsErrCode code = static_cast<jsErrCode>(0));

// Connects to `url` (comma-separated list allowed), retrying while no server answers
// (null if cli::stop_requested() first), then reconnecting for ever. Throws on refusal.
[[nodiscard]] NatsPtr<natsConnection> nats_connect(const std::string& url, const std::string& client_name,
                                                   const char* role);

// A header's value, or nullopt if absent.
[[nodiscard]] std::optional<std::string> header(natsMsg* msg, const char* key);
// A header parsed as an unsigned decimal (or hex with base 16); nullopt if absent or malformed.
[[nodiscard]] std::optional<std::uint64_t> header_u64(natsMsg* msg, const char* key, int base = 10);

// Prints "shmcast bridge <role>: <text>" to stderr.
void log_line(const char* role, const std::string& text);

}  // namespace shmcast::bridge
