// A minimal HTTP/1.1 server for `shmcast metrics --listen`: one connection at a time,
// GET or HEAD of /metrics (and /), Connection: close. Runs until cli::stop_requested().
#pragma once

#include <functional>
#include <string>
#include <utility>

namespace shmcast::cli {

// "HOST:PORT", "[V6]:PORT" split into host and port; throws CLI::ValidationError.
[[nodiscard]] std::pair<std::string, std::string> split_listen(const std::string& text);

// Writes all of `data` to socket `fd` (less if the peer goes away or a stop interrupts).
void send_all(int fd, const std::string& data);

// Answers the one request on connection `fd`: /metrics with `metrics()` (the Prometheus
// text format; an exception becomes a 500), / with a pointer to it, anything else 404.
void serve_one(int fd, const std::function<std::string()>& metrics);

// Listens on `listen` (HOST:PORT; port 0 picks a free one), calls `listening(url)` with
// the URL of /metrics once bound, then serves requests until a stop is requested.
// Throws CLI::ValidationError for a bad address, shmcast::Error when it cannot listen.
void serve(const std::string& listen, const std::function<void(const std::string& url)>& listening,
           const std::function<std::string()>& metrics);

}  // namespace shmcast::cli
