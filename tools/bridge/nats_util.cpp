#include "bridge/nats_util.hpp"

#include "common/format.hpp"

#include <shmcast/error.hpp>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <regex>
#include <thread>

namespace shmcast::bridge {

std::string subject_for(std::string_view ring) { return "shmcast." + std::string(ring); }

std::string default_stream_for(std::string_view ring) {
  std::string s = "shmcast_";
  for (char c : ring) s += (c == '.') ? '_' : c;
  return s;
}

void validate_stream_name(std::string_view stream) {
  auto bad = [&](const char* why) {
    throw Error(Errc::invalid_argument, "invalid stream name '" + std::string(stream) + "': " + why);
  };
  if (stream.empty()) bad("it is empty");
  if (stream.size() > 255) bad("it is longer than 255 characters");
  for (char c : stream) {
    if (c == '.' || c == '*' || c == '>' || c == '/' || c == '\\' || static_cast<unsigned char>(c) <= ' ' ||
        static_cast<unsigned char>(c) >= 0x7f)
      bad("JetStream stream names may not hold '.', '*', '>', '/', '\\', spaces or control characters");
  }
}

namespace {
// libnats prefixes its last-error text with the C source position that set it
// ("(conn.c:2088): No server available"): that says nothing to an operator.
std::string without_source_position(const std::string& detail) {
  static const std::regex position(R"(\([A-Za-z0-9_./-]+\.c:[0-9]+\):? *)");
  return std::regex_replace(detail, position, "");
}
}  // namespace

void validate_nats_urls(const std::string& urls) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = urls.find(',', start);
    std::string url = urls.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    url.erase(0, url.find_first_not_of(' '));
    url.erase(url.find_last_not_of(' ') + 1);
    if (url.empty()) throw Error(Errc::invalid_argument, "empty NATS URL in '" + urls + "'");
    if (const std::size_t sep = url.find("://"); sep != std::string::npos) {
      const std::string scheme = url.substr(0, sep);
      if (scheme != "nats" && scheme != "tls")
        throw Error(Errc::invalid_argument, "unknown URL scheme '" + scheme + "' in '" + url +
                                                "': use nats://HOST:PORT (or tls://HOST:PORT)");
    }
    if (comma == std::string::npos) return;
    start = comma + 1;
  }
}

std::string nats_error_text(const std::string& what, natsStatus s, jsErrCode code) {
  const std::string status = natsStatus_GetText(s);
  std::string text = what + ": " + status;
  natsStatus last = NATS_OK;
  const char* raw_detail = nats_GetLastError(&last);
  const std::string detail = raw_detail != nullptr && last == s ? without_source_position(raw_detail) : std::string();
  if (!detail.empty() && detail != status) text += " (" + detail + ")";
  if (code != 0) text += " [JetStream error " + std::to_string(static_cast<int>(code)) + "]";
  return text;
}

void nats_check(natsStatus s, const std::string& what, jsErrCode code) {
  if (s != NATS_OK) throw Error(Errc::system, nats_error_text(what, s, code));
}

bool retryable(natsStatus s, jsErrCode code) {
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_CLOSED ||
         s == NATS_CONNECTION_DISCONNECTED || s == NATS_NO_SERVER || s == NATS_STALE_CONNECTION ||
         s == NATS_IO_ERROR || s == NATS_NOT_FOUND || code == JSStreamNotFoundErr;
}

bool retry_until(const RetryPolicy& policy, const std::function<natsStatus(jsErrCode& code)>& attempt) {
  for (bool logged = false;; logged = true) {
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = attempt(code);
    if (s == NATS_OK) return true;
    if (!retryable(s, code)) nats_check(s, policy.failure, code);
    if (!logged) log_line(policy.role, nats_error_text(policy.waiting, s, code));
    if (stopping(policy.should_stop)) return false;
    std::this_thread::sleep_for(kRetryInterval);
  }
}

NatsPtr<natsConnection> nats_connect(const std::string& url, const std::string& client_name, const char* role,
                                     const StopPredicate& should_stop) {
  natsOptions* raw = nullptr;
  nats_check(natsOptions_Create(&raw), "natsOptions_Create");
  NatsPtr<natsOptions> opts(raw);
  nats_check(natsOptions_SetURL(opts.get(), url.c_str()), "bad NATS URL '" + url + "'");
  nats_check(natsOptions_SetName(opts.get(), client_name.c_str()), "natsOptions_SetName");
  nats_check(natsOptions_SetTimeout(opts.get(), 3000), "natsOptions_SetTimeout");
  // Reconnect for ever, quickly: the bridge resynchronises after any outage.
  nats_check(natsOptions_SetMaxReconnect(opts.get(), -1), "natsOptions_SetMaxReconnect");
  nats_check(natsOptions_SetReconnectWait(opts.get(), 250), "natsOptions_SetReconnectWait");
  nats_check(natsOptions_SetReconnectBufSize(opts.get(), 32 * 1024 * 1024), "natsOptions_SetReconnectBufSize");
  nats_check(natsOptions_SetPingInterval(opts.get(), 2000), "natsOptions_SetPingInterval");
  nats_check(natsOptions_SetMaxPingsOut(opts.get(), 3), "natsOptions_SetMaxPingsOut");
  // The first connection is retried too (the server may start after the bridge), until stopped.
  natsConnection* nc = nullptr;
  int tries = 0;
  const bool connected = retry_until({role, "waiting for NATS at " + url, "cannot connect to NATS at " + url, should_stop},
                                     [&](jsErrCode&) {
                                       ++tries;
                                       return natsConnection_Connect(&nc, opts.get());
                                     });
  if (!connected) return nullptr;
  if (tries > 1) log_line(role, "connected to " + url);
  return NatsPtr<natsConnection>(nc);
}

natsStatus get_stream_info(NatsPtr<jsStreamInfo>& info, jsCtx* js, const std::string& name, jsErrCode& code,
                           const StopPredicate& should_stop) {
  constexpr std::chrono::seconds kWaitForTime{1};
  constexpr std::chrono::milliseconds kLookInterval{10};
  const auto deadline = std::chrono::steady_clock::now() + kWaitForTime;
  for (;;) {
    jsStreamInfo* raw = nullptr;
    const natsStatus s = js_GetStreamInfo(&raw, js, name.c_str(), nullptr, &code);
    info.reset(raw);
    if (s != NATS_OK || info->Created > 0 || stopping(should_stop) || std::chrono::steady_clock::now() >= deadline) return s;
    std::this_thread::sleep_for(kLookInterval);
  }
}

std::optional<std::string> header(natsMsg* msg, const char* key) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, key, &value) != NATS_OK || value == nullptr) return std::nullopt;
  return std::string(value);
}

std::optional<std::uint64_t> header_u64(natsMsg* msg, const char* key, int base) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, key, &value) != NATS_OK || value == nullptr || *value == '\0') return std::nullopt;
  // strtoull alone would take leading space, a sign (and wrap "-1"), and "0x".
  for (const char* c = value; *c != '\0'; ++c)
    if (!(base == 16 ? std::isxdigit(static_cast<unsigned char>(*c)) : std::isdigit(static_cast<unsigned char>(*c))))
      return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(value, &end, base);
  if (errno != 0 || end == value || *end != '\0') return std::nullopt;
  return static_cast<std::uint64_t>(v);
}

void log_line(const char* role, const std::string& text) {
  std::fprintf(stderr, "shmcast bridge %s: %s\n", role, cli::printable(cli::one_line(text)).c_str());
}

}  // namespace shmcast::bridge
