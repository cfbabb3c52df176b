#include "common/http_server.hpp"

#include "common/format.hpp"
#include "common/stop.hpp"

#include <shmcast/error.hpp>

#include <CLI/CLI.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

namespace shmcast::cli {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using namespace std::chrono_literals;

constexpr auto kIoTimeout = 10s;                 // each read of a request, each write of a response
constexpr auto kStopPoll = 100ms;                // how often the stop flag is looked at
constexpr auto kAcceptRetry = 100ms;             // after a failed accept (out of descriptors...)
constexpr std::size_t kMaxConnections = 512;     // past it, the longest idle one makes room (a descriptor each)
constexpr std::uint32_t kMaxHeaderBytes = 8192;  // a scrape's request is a few hundred bytes
constexpr std::uint64_t kMaxBodyBytes = 8192;
constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextType = "text/plain; charset=utf-8";

class Session;

// The open sessions, the one that has waited longest for its client's next request first.
struct Shared {
  std::function<std::string()> metrics;
  std::list<Session*> waiting;  // sessions waiting for a request, longest first
  std::size_t connections = 0;
};

// One connection: read a request (within kIoTimeout), answer it, and again while the
// client keeps the connection alive. While it waits for a request it stands in
// Shared::waiting; at kMaxConnections a new connection closes the one that has waited
// longest, so that clients keeping many connections alive (each request resets its
// timeout) cannot lock a scrape out.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {
    ++shared_.connections;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    stop_waiting();
    if (counted_) --shared_.connections;
  }

  void start() { read(); }

  // Closes the connection while it waits for a request: its read ends, and with it the
  // session, which from now on no longer counts against kMaxConnections.
  void evict() {
    stop_waiting();
    counted_ = false;
    --shared_.connections;
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  void stop_waiting() {
    if (waiting_) shared_.waiting.erase(*waiting_);
    waiting_.reset();
  }

  void read() {
    stop_waiting();
    waiting_ = shared_.waiting.insert(shared_.waiting.end(), this);
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kIoTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    stop_waiting();
    if (ec == http::error::end_of_stream) return close();
    if (ec) {
      // A malformed or oversized request gets a 400; a timeout, a reset or a client that
      // went away mid-request gets nothing (the connection is closed).
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::partial_message)
        return answer(http::status::bad_request, kTextType, "bad request: " + ec.message() + "\n", 11, false, false);
      return;
    }
    const auto& req = parser_->get();
    const bool head = req.method() == http::verb::head;
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && !head) {
      res_.set(http::field::allow, "GET, HEAD");
      return answer(http::status::method_not_allowed, kTextType, "only GET and HEAD\n", req.version(),
                    req.keep_alive(), false);
    }
    if (target == "/metrics") {
      std::string body;
      try {
        body = shared_.metrics();
      } catch (const std::exception& e) {
        return answer(http::status::internal_server_error, kTextType, one_line(e.what()) + "\n", req.version(),
                      req.keep_alive(), head);
      }
      return answer(http::status::ok, kExpositionType, std::move(body), req.version(), req.keep_alive(), head);
    }
    if (target == "/")
      return answer(http::status::ok, kTextType, "shmcast metrics: see /metrics\n", req.version(), req.keep_alive(),
                    head);
    answer(http::status::not_found, kTextType, "not found: the metrics are at /metrics\n", req.version(),
           req.keep_alive(), head);
  }

  // Sends the response (its headers only for HEAD, with the Content-Length of GET).
  void answer(http::status status, const char* type, std::string body, unsigned version, bool keep_alive, bool head) {
    res_.result(status);
    res_.version(version);
    res_.set(http::field::server, "shmcast");
    res_.set(http::field::content_type, type);
    res_.keep_alive(keep_alive);
    res_.content_length(body.size());
    if (!head) res_.body() = std::move(body);
    stream_.expires_after(kIoTimeout);
    http::async_write(stream_, res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec) return;
    const bool eof = res_.need_eof();
    res_ = {};
    if (eof) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  Shared& shared_;
  std::optional<std::list<Session*>::iterator> waiting_;  // its place in Shared::waiting
  bool counted_ = true;                                    // in Shared::connections
};

std::string url_of(const tcp::endpoint& ep) {
  const net::ip::address a = ep.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return "http://" + host + ":" + std::to_string(ep.port()) + "/metrics";
}

// The endpoint to bind for `where`: the wildcard for all interfaces (IPv6 and IPv4 where
// the host has IPv6), an address as given, or a host name's first address.
tcp::endpoint endpoint_of(net::io_context& ioc, const ListenAddress& where, const std::string& listen) {
  if (where.host.empty()) return {tcp::v6(), where.port};
  beast::error_code ec;
  const net::ip::address a = net::ip::make_address(where.host, ec);
  if (!ec) return {a, where.port};
  tcp::resolver resolver(ioc);
  const auto found = resolver.resolve(where.host, std::to_string(where.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || found.empty())
    throw CLI::ValidationError("--listen '" + printable(listen) + "': cannot resolve '" + printable(where.host) +
                               "': " + (ec ? ec.message() : std::string("no address")));
  return found.begin()->endpoint();
}

void open_acceptor(tcp::acceptor& acceptor, tcp::endpoint ep, bool all_interfaces, const std::string& listen) {
  beast::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (ec && all_interfaces) {  // no IPv6 on this host: all IPv4 interfaces then
    ep = tcp::endpoint(tcp::v4(), ep.port());
    ec = {};
    acceptor.open(ep.protocol(), ec);
  }
  if (ec) throw Error(Errc::system, "cannot listen on " + printable(listen) + ": socket: " + ec.message());
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ep.address().is_v6() && ep.address().is_unspecified()) acceptor.set_option(net::ip::v6_only(false), ec);
  acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw Error(Errc::system, "cannot listen on " + printable(listen) + ": " + ec.message() + "; choose another HOST:PORT");
}

}  // namespace

ListenAddress parse_listen(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return CLI::ValidationError("--listen '" + printable(text) + "': " + why +
                                "; use HOST:PORT, :PORT (all interfaces) or [IPV6]:PORT, e.g. 127.0.0.1:9464");
  };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw bad("no port");
  ListenAddress out;
  out.host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  if (!out.host.empty() && out.host.front() == '[') {
    if (out.host.size() < 3 || out.host.back() != ']') throw bad("an IPv6 address goes in brackets, e.g. [::1]:9464");
    out.host = out.host.substr(1, out.host.size() - 2);
    beast::error_code ec;
    (void)net::ip::make_address_v6(out.host, ec);
    if (ec) throw bad("'" + printable(out.host) + "' is not an IPv6 address");
  } else if (out.host.find(':') != std::string::npos) {
    throw bad("an IPv6 address goes in brackets, e.g. [::1]:9464");
  }
  if (port.empty()) throw bad("no port");
  unsigned long value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') throw bad("port '" + printable(port) + "' is not a number from 0 to 65535");
    value = value * 10 + static_cast<unsigned long>(c - '0');
    if (value > 65535) throw bad("port " + printable(port) + " is out of range (0 to 65535; 0 picks a free one)");
  }
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

void serve(const std::string& listen, const std::function<void(const Listening&)>& listening,
           const std::function<std::string()>& metrics) {
  const ListenAddress where = parse_listen(listen);
  Shared shared{metrics, {}, 0};  // outlives the io_context and so every session
  net::io_context ioc{1};
  tcp::acceptor acceptor(ioc);
  net::steady_timer accept_retry(ioc), stop_watch(ioc);

  open_acceptor(acceptor, endpoint_of(ioc, where, listen), where.host.empty(), listen);
  const tcp::endpoint bound = acceptor.local_endpoint();
  listening(Listening{url_of(bound), bound.port(), bound.address().is_unspecified()});

  std::function<void()> accept = [&] {
    acceptor.async_accept([&](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) {  // e.g. out of file descriptors: try again shortly rather than spin
        accept_retry.expires_after(kAcceptRetry);
        accept_retry.async_wait([&](beast::error_code wait_ec) {
          if (!wait_ec) accept();
        });
        return;
      }
      if (shared.connections >= kMaxConnections && !shared.waiting.empty()) shared.waiting.front()->evict();
      if (shared.connections < kMaxConnections) std::make_shared<Session>(std::move(socket), shared)->start();
      accept();  // a socket not handed to a session closes here
    });
  };
  std::function<void()> watch = [&] {
    stop_watch.expires_after(kStopPoll);
    stop_watch.async_wait([&](beast::error_code ec) {
      if (ec) return;
      if (!stop_requested()) return watch();
      beast::error_code ignored;
      acceptor.close(ignored);
      ioc.stop();  // open sessions are dropped with the io_context
    });
  };
  accept();
  watch();
  ioc.run();
}

}  // namespace shmcast::cli
