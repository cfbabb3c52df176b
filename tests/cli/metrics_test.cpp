// End-to-end tests of `shmcast metrics`: the exposition format checked by Prometheus' own
// validator, and an HTTP endpoint that serves concurrent scrapes.
#include "cli_support.hpp"

#include "common/http_server.hpp"
#include "common/prometheus.hpp"

#include <shmcast/producer.hpp>
#include <shmcast/reader.hpp>

#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <netinet/in.h>
#include <sys/socket.h>

using namespace shmcast::clitest;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

// The port of the server's banner "... serving http://HOST:PORT/metrics ...": the digits
// before /metrics. 0 if no banner came.
unsigned served_port(Proc& server) {
  if (!server.wait_for([](const Proc& p) { return p.err().find("/metrics") != std::string::npos; })) return 0;
  const std::string& e = server.err();
  const std::size_t end = e.find("/metrics");
  std::size_t start = end;
  while (start > 0 && e[start - 1] >= '0' && e[start - 1] <= '9') --start;
  return start == end ? 0 : static_cast<unsigned>(std::stoul(e.substr(start, end - start)));
}

// A TCP connection to the loopback address (127.0.0.1, or ::1 with `v6`); -1 on failure.
int connect_loopback(unsigned port, bool v6 = false) {
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<std::uint16_t>(port));
    a.sin6_addr = in6addr_loopback;
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` on `fd` and reads one response: its headers, then Content-Length bytes of
// body (none for a HEAD request). "" if it does not all come within `timeout`.
std::string round_trip(int fd, const std::string& request, std::chrono::milliseconds timeout = 5s) {
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return {};
  const bool head = request.rfind("HEAD ", 0) == 0;
  const auto deadline = Clock::now() + timeout;
  std::string response;
  std::size_t want = std::string::npos;
  while (want == std::string::npos || response.size() < want) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) return {};
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[8192];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return {};
    response.append(buf, static_cast<std::size_t>(n));
    const std::size_t end = response.find("\r\n\r\n");
    if (want == std::string::npos && end != std::string::npos) {
      std::size_t length = 0;
      const std::size_t at = response.find("Content-Length: ");
      if (at != std::string::npos && at < end) length = std::stoul(response.substr(at + 16));
      want = end + 4 + (head ? 0 : length);
    }
  }
  return response;
}

std::string request(const std::string& method, const std::string& path, bool close = false) {
  return method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
}

// One request on a fresh connection to 127.0.0.1 (or ::1); the response or "".
std::string fetch(unsigned port, const std::string& method, const std::string& path, bool v6 = false,
                  std::chrono::milliseconds timeout = 5s) {
  const int fd = connect_loopback(port, v6);
  if (fd < 0) return {};
  std::string r = round_trip(fd, request(method, path, true), timeout);
  ::close(fd);
  return r;
}

std::string body_of(const std::string& response) {
  const std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

bool has_header(const std::string& response, const std::string& line) {
  return response.find("\r\n" + line + "\r\n") != std::string::npos;
}

// `command`'s exit code and what it printed (stdout and stderr together).
std::pair<int, std::string> shell(const std::string& command) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 255, out};
}

bool ipv6_loopback_available() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE("metrics --listen answers a scrape while idle connections are held open", "[cli][live][metrics]") {
  RingGuard ring(unique_ring("cli-metrics-idle"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--count", "3", "--message", "abc"}).rc == 0);
  Proc server({"metrics", ring.name, "--listen", "127.0.0.1:0"});
  const unsigned port = served_port(server);
  REQUIRE(port > 0);

  // Six connections that never send a byte (a stalled scraper, a port scanner...). The
  // old one-connection-at-a-time server spent 2 s on each before the scrape: ~12 s.
  std::vector<int> idle;
  for (int i = 0; i < 6; ++i) idle.push_back(connect_loopback(port));
  for (int fd : idle) REQUIRE(fd >= 0);

  const auto start = Clock::now();
  const std::string response = fetch(port, "GET", "/metrics", false, 5s);
  const auto took = Clock::now() - start;
  INFO("scrape took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  REQUIRE(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(took < 5s);
  CHECK(has_header(response, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  CHECK(body_of(response).find("shmcast_head{ring=\"" + ring.name + "\"} 3\n") != std::string::npos);

  // Keep-alive: an idle connection that wakes up gets two answers on the one connection.
  const std::string first = round_trip(idle[0], request("GET", "/metrics"));
  CHECK(first.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  REQUIRE(run({"publish", ring.name, "--message", "more"}).rc == 0);
  const std::string second = round_trip(idle[0], request("GET", "/metrics"));
  CHECK(second.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(body_of(second).find("shmcast_head{ring=\"" + ring.name + "\"} 4\n") != std::string::npos);

  // A stop with connections open (one of them half a request) ends the server promptly.
  REQUIRE(::send(idle[1], "GET /metr", 9, MSG_NOSIGNAL) == 9);
  const auto stop = Clock::now();
  server.signal(SIGTERM);
  CHECK(server.finish(5s) == 0);
  CHECK(Clock::now() - stop < 3s);
  for (int fd : idle) ::close(fd);
}

// True if the server closes `fd` (EOF or reset) within `timeout`, reading what it sends.
bool closed_within(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    if (::recv(fd, buf, sizeof buf, 0) <= 0) return true;
  }
}

TEST_CASE("metrics --listen closes a connection that sends no request for 10 s", "[cli][live][metrics]") {
  RingGuard ring(unique_ring("cli-metrics-timeout"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  Proc server({"metrics", ring.name, "--listen", "127.0.0.1:0"});
  const unsigned port = served_port(server);
  REQUIRE(port > 0);
  const int silent = connect_loopback(port), partial = connect_loopback(port);
  REQUIRE(silent >= 0);
  REQUIRE(partial >= 0);
  REQUIRE(::send(partial, "GET /metrics HTTP/1.1\r\nHost: x\r\n", 32, MSG_NOSIGNAL) == 32);
  const auto start = Clock::now();
  CHECK_FALSE(closed_within(silent, 8s));  // held while within the limit...
  CHECK(closed_within(silent, 6s));        // ...and closed after it
  CHECK(closed_within(partial, 2s));
  INFO("closed after " << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() << " ms");
  ::close(silent);
  ::close(partial);
  CHECK(fetch(port, "GET", "/metrics").rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  server.signal(SIGTERM);
  CHECK(server.finish() == 0);
}

TEST_CASE("metrics --listen: clients holding every connection cannot lock a scrape out", "[cli][live][metrics]") {
  RingGuard ring(unique_ring("cli-metrics-full"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  Proc server({"metrics", ring.name, "--listen", "127.0.0.1:0"});
  const unsigned port = served_port(server);
  REQUIRE(port > 0);
  // 512 connections, the server's most, each kept alive by a request now and then (each
  // resets its 10 s limit). A scrape on a new connection closes the one that has waited
  // longest for a request and is answered.
  std::vector<int> held;
  for (int i = 0; i < 512; ++i) {
    const int fd = connect_loopback(port);
    REQUIRE(fd >= 0);
    held.push_back(fd);
  }
  for (int fd : {held.front(), held.back()}) CHECK(round_trip(fd, request("GET", "/")).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  const std::string response = fetch(port, "GET", "/metrics", false, 5s);
  CHECK(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(closed_within(held[1], 2s));  // the longest waiting: held[0] asked since
  CHECK(round_trip(held.back(), request("GET", "/")).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  for (int fd : held) ::close(fd);
  server.signal(SIGTERM);
  CHECK(server.finish() == 0);
}

TEST_CASE("metrics --listen: HEAD, other methods and other paths", "[cli][live][metrics]") {
  RingGuard ring(unique_ring("cli-metrics-http"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  Proc server({"metrics", ring.name, "--listen", "127.0.0.1:0"});
  const unsigned port = served_port(server);
  REQUIRE(port > 0);

  const std::string get = fetch(port, "GET", "/metrics?name[]=shmcast_up");
  REQUIRE(get.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  const std::string body = body_of(get);
  CHECK(body.find("shmcast_up{ring=\"" + ring.name + "\"} 1\n") != std::string::npos);

  const std::string head = fetch(port, "HEAD", "/metrics");
  REQUIRE(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(has_header(head, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  CHECK(head.find("Content-Length: ") != std::string::npos);
  CHECK(body_of(head).empty());

  const std::string post = fetch(port, "POST", "/metrics");
  CHECK(post.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
  CHECK(has_header(post, "Allow: GET, HEAD"));
  CHECK(fetch(port, "GET", "/nothing-here").rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(fetch(port, "GET", "/").rfind("HTTP/1.1 200 OK\r\n", 0) == 0);

  // Not HTTP at all: a 400, and the server carries on.
  const int fd = connect_loopback(port);
  REQUIRE(fd >= 0);
  CHECK(round_trip(fd, "\x01\x02 nonsense\r\n\r\n").rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  ::close(fd);
  CHECK(fetch(port, "GET", "/metrics").rfind("HTTP/1.1 200 OK\r\n", 0) == 0);

  server.signal(SIGINT);
  CHECK(server.finish() == 0);
}

TEST_CASE("metrics --listen rejects a port out of range or not a number", "[cli][metrics]") {
  const std::string ring = unique_ring("cli-metrics-port");  // never created: the address is checked first
  for (const char* bad : {"127.0.0.1:65536", "127.0.0.1:65537", "127.0.0.1:99999999999999999999", "127.0.0.1:-1",
                          "127.0.0.1:abc", "127.0.0.1:", "127.0.0.1: 80", "127.0.0.1:+80", "127.0.0.1:0x50",
                          "127.0.0.1", ":", "", "::1:9464", "[::1:9464", "[]:9464", "[127.0.0.1]:9464"}) {
    INFO("--listen '" << bad << "'");
    const Result r = run({"metrics", ring, "--listen", bad}, {}, 5s);
    CHECK(r.rc == 2);
    CHECK(one_error_line(r.err));
    CHECK(r.err.find("--listen") != std::string::npos);
    CHECK(r.err.find("serving") == std::string::npos);
    CHECK_THROWS_AS(shmcast::cli::parse_listen(bad), CLI::ValidationError);
  }
  const Result range = run({"metrics", ring, "--listen", "127.0.0.1:65537"}, {}, 5s);
  CHECK(range.err.find("0 to 65535") != std::string::npos);

  using shmcast::cli::parse_listen;
  CHECK(parse_listen("127.0.0.1:65535").port == 65535);
  CHECK(parse_listen("127.0.0.1:0").port == 0);
  CHECK(parse_listen(":9464").host.empty());
  CHECK(parse_listen(":9464").port == 9464);
  CHECK(parse_listen("[::1]:9464").host == "::1");
  CHECK(parse_listen("localhost:80").host == "localhost");
}

TEST_CASE("metrics --listen :PORT serves on all interfaces", "[cli][live][metrics]") {
  RingGuard ring(unique_ring("cli-metrics-any"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  Proc server({"metrics", ring.name, "--listen", ":0"});  // an ephemeral port, for the test's few seconds
  const unsigned port = served_port(server);
  REQUIRE(port > 0);
  CHECK(server.err().find("(all interfaces)") != std::string::npos);
  const std::string response = fetch(port, "GET", "/metrics");  // over loopback only
  REQUIRE(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(body_of(response).find("shmcast_up{ring=\"" + ring.name + "\"} 1\n") != std::string::npos);
  server.signal(SIGTERM);
  CHECK(server.finish() == 0);
}

TEST_CASE("metrics --listen [::1]:PORT serves over IPv6 loopback", "[cli][live][metrics]") {
  if (!ipv6_loopback_available()) {
    WARN("this host has no IPv6 loopback (::1): [::1]:PORT not checked");
    return;
  }
  RingGuard ring(unique_ring("cli-metrics-v6"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  Proc server({"metrics", ring.name, "--listen", "[::1]:0"});
  const unsigned port = served_port(server);
  REQUIRE(port > 0);
  CHECK(server.err().find("http://[::1]:" + std::to_string(port) + "/metrics") != std::string::npos);
  CHECK(fetch(port, "GET", "/metrics", true).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  server.signal(SIGTERM);
  CHECK(server.finish() == 0);
}

TEST_CASE("metrics label values are escaped and valid UTF-8", "[cli][metrics]") {
  using shmcast::cli::escape_label;
  CHECK(escape_label("plain") == "plain");
  CHECK(escape_label("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(escape_label("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHECK(escape_label("cut\xC3") == "cut\xEF\xBF\xBD");                // a character cut short
  CHECK(escape_label("\xFF\xC0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // never valid; overlong
  CHECK(escape_label("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  // Control characters would drive a terminal that shows the metrics: ESC, BEL, CR, DEL, C1.
  CHECK(escape_label("a\x1B]2;owned\x07" "b\r" "c\x7F") == "a\xEF\xBF\xBD]2;owned\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD");
  CHECK(escape_label("x\xC2\x9By") == "x\xEF\xBF\xBDy");  // CSI as a C1 character
  using shmcast::cli::format_value;
  CHECK(format_value(1.5) == "1.5");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("metrics output passes promtool check metrics", "[cli][metrics][promtool]") {
  if (shell("command -v promtool").first != 0)
    FAIL("promtool is not installed (Debian package prometheus): run scripts/setup.sh, which installs it, as CI does");

  RingGuard a(unique_ring("cli-metrics-prom-a")), b(unique_ring("cli-metrics-prom-b"));
  const std::string missing = unique_ring("cli-metrics-prom-missing");  // never created: shmcast_up 0
  REQUIRE(run({"create", a.name, "--size", "4K", "--snapshot-size", "64"}).rc == 0);
  REQUIRE(run({"create", b.name, "--size", "4K"}).rc == 0);
  REQUIRE(run({"publish", a.name, "--count", "5", "--message", "hello"}).rc == 0);
  REQUIRE(run({"publish", b.name, "--count", "2", "--message", "hi"}).rc == 0);
  // A live producer on `a` that also relays and keeps snapshots: every family shows.
  shmcast::Producer producer = shmcast::Producer::open(a.name);
  producer.publish_snapshot(shmcast::bytes_of("state"));
  producer.skip_to(producer.head() + 2);
  producer.set_source_position(7);
  producer.set_source_status(shmcast::SourceStatus{9, 1, 2});
  // Registered readers, in this process, with labels that need escaping or that are not
  // valid UTF-8 (Prometheus rejects the whole scrape for one such label value).
  std::vector<shmcast::Reader> readers;
  for (const char* label : {"quote\" back\\slash", "new\nline", "cut\xC3", "caf\xC3\xA9"}) {
    shmcast::ReaderOptions o;
    o.start = shmcast::StartAt::oldest;
    o.label = label;
    readers.emplace_back(a.name, o);
  }
  (void)readers[0].try_read();
  shmcast::ReaderOptions o;
  o.label = "plain";
  readers.emplace_back(b.name, o);

  const Result r = run({"metrics", a.name, b.name, missing});
  CHECK(r.rc == 1);  // the missing ring
  REQUIRE(r.out.find("shmcast_reader_lag{ring=\"" + a.name + "\"") != std::string::npos);
  CHECK(r.out.find("label=\"cut\xEF\xBF\xBD\"") != std::string::npos);
  for (const char* family : {"shmcast_producer_alive", "shmcast_snapshot_age_seconds", "shmcast_relay_source_gaps_total",
                             "shmcast_reader_far_position", "shmcast_blocked_readers", "shmcast_ring_bytes",
                             "shmcast_max_message_bytes", "shmcast_oldest_sequence", "shmcast_held_sequences",
                             "shmcast_held_bytes"})
    CHECK(r.out.find(std::string("\n# TYPE ") + family + " ") != std::string::npos);
  CHECK(r.out.find("shmcast_up{ring=\"" + missing + "\"} 0\n") != std::string::npos);

  char path[] = "/tmp/shmcast-metrics-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const bool written = ::write(fd, r.out.data(), r.out.size()) == static_cast<ssize_t>(r.out.size());
  ::close(fd);
  REQUIRE(written);
  const auto [rc, said] = shell(std::string("promtool check metrics < ") + path);
  ::unlink(path);
  INFO("promtool check metrics said:\n" << said);
  CHECK(rc == 0);
  CHECK(said.empty());  // lint problems are printed, one a line
}
