// The HTTP server of `shmcast metrics --listen`, on Boost.Beast over Boost.Asio: one
// thread, any number of concurrent connections (async I/O), HTTP/1.1 keep-alive, and a
// 10 s limit on each read and write so an idle or stalled client never holds a scrape
// up. Past 512 connections a new one closes the one that has waited longest for a
// request, so that clients keeping connections alive cannot lock a scrape out either. GET or HEAD of /metrics answers the Prometheus text format, / a pointer to it,
// other paths 404, other methods 405. Runs until cli::stop_requested().
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace shmcast::cli {

// Where to listen, from --listen: "HOST:PORT", ":PORT" (all interfaces: host empty) or
// "[IPV6]:PORT" (host without the brackets). The port is 0..65535; 0 picks a free one.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

// Parses --listen; throws CLI::ValidationError (a usage error) for anything else: no
// port, a port that is not a decimal number from 0 to 65535, an unbracketed IPv6 address.
[[nodiscard]] ListenAddress parse_listen(const std::string& text);

// What serve() reports once it listens.
struct Listening {
  std::string url;              // http://ADDRESS:PORT/metrics, the bound address and port
  std::uint16_t port = 0;       // the bound port (the one picked when 0 was asked)
  bool all_interfaces = false;  // bound to the wildcard address (":PORT")
};

// Listens on `listen` (see parse_listen()), calls `listening(...)` once bound, then serves
// requests until a stop is requested; `metrics()` renders the exposition for each scrape
// of /metrics (an exception becomes a 500) on the serving thread.
// Throws CLI::ValidationError for a bad address, shmcast::Error when it cannot listen.
void serve(const std::string& listen, const std::function<void(const Listening&)>& listening,
           const std::function<std::string()>& metrics);

}  // namespace shmcast::cli
