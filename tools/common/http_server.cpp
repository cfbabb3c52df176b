#include "common/http_server.hpp"

#include "common/format.hpp"
#include "common/stop.hpp"

#include <shmcast/error.hpp>

#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace shmcast::cli {

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

void serve_one(int fd, const std::function<std::string()>& metrics) {
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
        body = metrics();
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

void serve(const std::string& listen, const std::function<void(const std::string& url)>& listening,
           const std::function<std::string()>& metrics) {
  const auto [host, port] = split_listen(listen);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    throw CLI::ValidationError("--listen '" + listen + "': " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, ::freeaddrinfo);
  const int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
  if (fd < 0) throw Error(Errc::system, std::string("socket: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0)
    throw Error(Errc::system, "cannot listen on " + listen + ": " + std::strerror(errno) + "; choose another HOST:PORT");
  if (::listen(fd, 16) != 0) throw Error(Errc::system, std::string("listen: ") + std::strerror(errno));
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
  listening("http://" + std::string(v6 ? "[" : "") + addr + (v6 ? "]" : "") + ":" + std::to_string(bound_port) +
            "/metrics");
  while (!stop_requested()) {
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, 200);
    if (n <= 0) continue;  // timeout, or EINTR from a stop signal
    const int client = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    serve_one(client, metrics);
    ::close(client);
  }
}

}  // namespace shmcast::cli
