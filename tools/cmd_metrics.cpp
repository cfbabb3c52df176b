// shmcast metrics NAME...: the rings' status in the Prometheus text exposition format
// (version 0.0.4), printed once or served at /metrics over HTTP with --listen.
//
// Every figure comes from shared memory (inspect()), so the producer is never asked.
// Names start with shmcast_, every sample carries a `ring` label, per-reader samples
// also `reader` (the registry slot), `label` and `pid`. A ring that cannot be read has
// shmcast_up 0 and no other samples.
#include "commands.hpp"
#include "common/format.hpp"
#include "common/stop.hpp"

#include <shmcast/clock.hpp>
#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace shmcast::cli {

namespace {

struct MetricsArgs {
  std::vector<std::string> names;
  std::optional<std::string> listen;
};

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string format_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Metric families in a fixed order; each gets its # HELP and # TYPE once.
class Exposition {
 public:
  void add(const char* name, const char* type, const char* help, const std::string& labels, double value) {
    sample(name, type, help, labels, format_value(value));
  }
  void add(const char* name, const char* type, const char* help, const std::string& labels, std::uint64_t value) {
    sample(name, type, help, labels, std::to_string(value));
  }
  [[nodiscard]] std::string str() const {
    std::string out;
    for (const Family& f : families_)
      out += "# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n" + f.samples;
    return out;
  }

 private:
  struct Family {
    std::string name, type, help, samples;
  };
  void sample(const char* name, const char* type, const char* help, const std::string& labels, const std::string& value) {
    Family* f = nullptr;
    for (Family& x : families_)
      if (x.name == name) f = &x;
    if (f == nullptr) {
      families_.push_back(Family{name, type, help, {}});
      f = &families_.back();
    }
    f->samples += std::string(name) + "{" + labels + "} " + value + "\n";
  }
  std::vector<Family> families_;
};

double seconds(std::uint64_t ns) { return static_cast<double>(ns) / 1e9; }

void add_ring(Exposition& m, const RingStatus& st) {
  const std::string ring = "ring=\"" + escape_label(st.name) + "\"";
  const Geometry& g = st.geometry;
  m.add("shmcast_up", "gauge", "1 if the ring could be read, 0 if not.", ring, std::uint64_t{1});
  m.add("shmcast_slots", "gauge", "Number of slots (messages the ring holds).", ring, g.slot_count);
  m.add("shmcast_slot_size_bytes", "gauge", "Bytes per slot.", ring, std::uint64_t{g.slot_size});
  m.add("shmcast_payload_capacity_bytes", "gauge", "Largest message payload in bytes.", ring, std::uint64_t{g.payload_capacity()});
  m.add("shmcast_head", "gauge", "Sequence number the next message will get.", ring, st.head);
  m.add("shmcast_published_messages_total", "counter", "Messages published into the ring.", ring, st.published);
  m.add("shmcast_published_bytes_total", "counter", "Payload bytes published into the ring.", ring, st.published_bytes);
  m.add("shmcast_skipped_sequences_total", "counter", "Sequences skipped by a relay publishing at explicit sequences.", ring, st.skipped);
  m.add("shmcast_last_publish_timestamp_seconds", "gauge", "Unix time of the last publish (0: never).", ring, seconds(st.last_publish_ns));
  m.add("shmcast_producer_alive", "gauge", "1 if a producer holds the ring's producer lock.", ring, std::uint64_t{st.producer_alive ? 1u : 0u});
  m.add("shmcast_producer_pid", "gauge", "Process id of the current or last producer (0: none yet).", ring, std::uint64_t{st.producer_pid});
  m.add("shmcast_producer_takeovers_total", "counter", "Producers that took the ring over from a predecessor.", ring, std::uint64_t{st.takeovers});
  std::uint64_t live = 0;
  for (const ReaderStatus& r : st.readers) live += r.alive ? 1 : 0;
  m.add("shmcast_readers", "gauge", "Live registered readers.", ring, live);
  m.add("shmcast_blocked_readers", "gauge", "Registered readers blocked waiting for a message.", ring, std::uint64_t{st.waiters});
  if (g.snapshot_capacity != 0) {
    const std::uint64_t now = now_ns();
    m.add("shmcast_snapshot_capacity_bytes", "gauge", "Bytes per snapshot buffer.", ring, g.snapshot_capacity);
    m.add("shmcast_snapshots_published_total", "counter", "Snapshots published.", ring, st.snapshots_published);
    m.add("shmcast_snapshot_as_of", "gauge", "Sequence the newest snapshot is as of.", ring, st.snapshot_as_of);
    m.add("shmcast_snapshot_bytes", "gauge", "Size of the newest snapshot.", ring, st.snapshot_length);
    m.add("shmcast_snapshot_age_seconds", "gauge", "Age of the newest snapshot (0: none yet).", ring,
          st.snapshot_published_ns != 0 && now > st.snapshot_published_ns ? seconds(now - st.snapshot_published_ns) : 0.0);
  }
  if (st.source_position != 0 || st.source_head != 0 || st.source_gaps != 0 || st.source_missed != 0) {
    m.add("shmcast_relay_source_position", "gauge", "A relaying producer's last applied source sequence.", ring, st.source_position);
    m.add("shmcast_relay_source_head", "gauge", "The relay source's newest known sequence.", ring, st.source_head);
    m.add("shmcast_relay_source_gaps_total", "counter", "Gaps the relay met in its source.", ring, st.source_gaps);
    m.add("shmcast_relay_source_missed_total", "counter", "Source sequences those gaps covered.", ring, st.source_missed);
  }
  for (const ReaderStatus& r : st.readers) {
    const std::string l = ring + ",reader=\"" + std::to_string(r.id) + "\",label=\"" + escape_label(r.label) +
                          "\",pid=\"" + std::to_string(r.pid) + "\"";
    m.add("shmcast_reader_alive", "gauge", "1 if the reader's process is alive.", l, std::uint64_t{r.alive ? 1u : 0u});
    m.add("shmcast_reader_position", "gauge", "Next sequence the reader will read.", l, r.position);
    m.add("shmcast_reader_lag", "gauge", "Messages published that the reader has not reached (head - position).", l, r.lag);
    m.add("shmcast_reader_delivered_total", "counter", "Messages delivered to the reader.", l, r.delivered);
    m.add("shmcast_reader_gaps_total", "counter", "Gaps the reader met (times it was lapped or skipped).", l, r.gaps);
    m.add("shmcast_reader_missed_total", "counter", "Messages the reader missed in those gaps.", l, r.missed);
    m.add("shmcast_reader_snapshots_total", "counter", "Snapshots delivered to the reader.", l, r.snapshots);
    m.add("shmcast_reader_far_position", "gauge",
          "A relay reader's position on its far side (bridge out: last stream sequence acknowledged); 0 if none.", l,
          r.external_position);
    m.add("shmcast_reader_last_active_timestamp_seconds", "gauge", "Unix time the reader last updated its entry.", l,
          seconds(r.last_active_ns));
  }
}

// The exposition for `names`; `errors` gets one line per ring that could not be read.
std::string render(const std::vector<std::string>& names, std::vector<std::string>* errors) {
  Exposition m;
  for (const std::string& name : names) {
    try {
      add_ring(m, inspect(name));
    } catch (const Error& e) {
      if (e.code() == Errc::invalid_argument) throw;
      m.add("shmcast_up", "gauge", "1 if the ring could be read, 0 if not.", "ring=\"" + escape_label(name) + "\"",
            std::uint64_t{0});
      if (errors != nullptr) errors->push_back(one_line(e.what()));
    }
  }
  return m.str();
}

// "HOST:PORT", "[V6]:PORT"; throws CLI::ValidationError.
std::pair<std::string, std::string> split_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw CLI::ValidationError("--listen '" + text + "' must be HOST:PORT, e.g. 127.0.0.1:9464");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, text.substr(colon + 1)};
}

void send_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) done += static_cast<std::size_t>(n);
    else if (n < 0 && errno == EINTR && !stop_requested()) continue;
    else return;
  }
}

void serve_one(int fd, const std::vector<std::string>& names) {
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string request;
  char buf[2048];
  while (request.find("\r\n\r\n") == std::string::npos && request.find("\n\n") == std::string::npos &&
         request.size() < 16384) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    request.append(buf, static_cast<std::size_t>(n));
  }
  const auto line_end = request.find_first_of("\r\n");
  const std::string line = request.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
  if (sp1 == std::string::npos) {
    status = "400 Bad Request";
    type = "text/plain; charset=utf-8";
    body = "bad request\n";
  } else {
    const std::string method = line.substr(0, sp1);
    std::string path = line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp1 - 1);
    path = path.substr(0, path.find('?'));
    if (method != "GET" && method != "HEAD") {
      status = "405 Method Not Allowed";
      type = "text/plain; charset=utf-8";
      body = "only GET\n";
    } else if (path == "/metrics") {
      try {
        body = render(names, nullptr);
      } catch (const std::exception& e) {
        status = "500 Internal Server Error";
        type = "text/plain; charset=utf-8";
        body = one_line(e.what()) + "\n";
      }
    } else if (path == "/") {
      type = "text/plain; charset=utf-8";
      body = "shmcast metrics: see /metrics\n";
    } else {
      status = "404 Not Found";
      type = "text/plain; charset=utf-8";
      body = "not found: the metrics are at /metrics\n";
    }
    if (method == "HEAD") {
      std::string head = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
      send_all(fd, head);
      return;
    }
  }
  send_all(fd, "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\nConnection: close\r\n\r\n" + body);
}

std::string ring_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

void serve(const MetricsArgs& a) {
  const auto [host, port] = split_listen(*a.listen);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    throw CLI::ValidationError("--listen '" + *a.listen + "': " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, ::freeaddrinfo);
  const std::string where = "metrics of ring " + ring_list(a.names) + ": ";
  const int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
  if (fd < 0) throw Error(Errc::system, where + "socket: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0)
    throw Error(Errc::system, where + "cannot listen on " + *a.listen + ": " + std::strerror(errno) +
                                  "; choose another HOST:PORT");
  if (::listen(fd, 16) != 0) throw Error(Errc::system, where + "listen: " + std::strerror(errno));
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  char addr[INET6_ADDRSTRLEN] = "?";
  unsigned bound_port = 0;
  if (bound.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&bound);
    ::inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
    bound_port = ntohs(in->sin_port);
  } else if (bound.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&bound);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
    bound_port = ntohs(in6->sin6_port);
  }
  const bool v6 = bound.ss_family == AF_INET6;
  std::fprintf(stderr, "shmcast metrics: serving http://%s%s%s:%u/metrics for ring %s\n", v6 ? "[" : "", addr,
               v6 ? "]" : "", bound_port, ring_list(a.names).c_str());
  std::fflush(stderr);
  while (!stop_requested()) {
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, 200);
    if (n <= 0) continue;  // timeout, or EINTR from a stop signal
    const int client = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    serve_one(client, a.names);
    ::close(client);
  }
}

void run_metrics(const MetricsArgs& a) {
  install_stop_handlers();
  if (a.listen) {
    // Usage errors (bad names) before serving anything.
    render(a.names, nullptr);
    serve(a);
    return;
  }
  std::vector<std::string> errors;
  const std::string text = render(a.names, &errors);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  for (const std::string& e : errors) std::fprintf(stderr, "shmcast metrics: %s\n", e.c_str());
  if (!errors.empty()) throw CLI::RuntimeError(1);
}

}  // namespace

void add_metrics_command(CLI::App& app) {
  auto args = std::make_shared<MetricsArgs>();
  CLI::App* sub = app.add_subcommand("metrics", "Print or serve (--listen) rings' metrics in the Prometheus text format");
  sub->footer(
      "Metric names are shmcast_* with a `ring` label; per-reader series add `reader` (the registry slot), "
      "`label` and `pid`. Printed once, or served at http://HOST:PORT/metrics with --listen until interrupted. "
      "A ring that cannot be read has shmcast_up 0 (and, when printing once, exit code 1).");
  sub->add_option("name", args->names, "Ring names")->required();
  sub->add_option("--listen", args->listen,
                  "Serve GET /metrics over HTTP on HOST:PORT (e.g. 127.0.0.1:9464; port 0 picks a free one, printed "
                  "on standard error)");
  sub->callback([args] { run_metrics(*args); });
}

}  // namespace shmcast::cli
