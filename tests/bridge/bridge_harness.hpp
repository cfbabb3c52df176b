// Test and benchmark plumbing for the bridge: a private nats-server on a free loopback
// port with its store in a fresh temporary directory, bridge processes (the driver
// binary) started and killed by pid, and readers that collect a ring's events.
#pragma once

#include <shmcast/shmcast.hpp>

#include <nats/nats.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <netinet/in.h>
#include <spawn.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace shmcast::test::bridge {

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// A port nothing listens on right now (the kernel's pick for a loopback bind to port 0).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A child process started from argv; killed (SIGKILL) if still running when destroyed.
class Process {
 public:
  Process() = default;
  explicit Process(const std::vector<std::string>& argv) { start(argv); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { kill(SIGKILL); }

  void start(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (::posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) pid_ = -1;
  }
  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  // Sends `sig` and waits; returns the exit code or 128 + signal (-1 if not running).
  int kill(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    return wait();
  }
  int wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
  }
  // Non-blocking: true (and the exit code) if it has ended.
  bool exited(int* code) {
    if (pid_ <= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = -1;
    if (code != nullptr) *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }

 private:
  pid_t pid_ = -1;
};

// nats-server on 127.0.0.1:<free port>, JetStream on, store in a fresh temporary directory.
class NatsServer {
 public:
  NatsServer() {
    char tmpl[] = "/tmp/shmcast-bridge-test.XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) store_ = tmpl;
    port_ = free_port();
  }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;
  ~NatsServer() {
    proc_.kill(SIGKILL);
    std::error_code ec;
    if (!store_.empty()) std::filesystem::remove_all(store_, ec);
  }

  // $SHMCAST_NATS_SERVER, the one CMake found, or Debian's.
  static std::string executable() {
    const std::initializer_list<const char*> candidates{std::getenv("SHMCAST_NATS_SERVER"), SHMCAST_NATS_SERVER,
                                                        "/usr/sbin/nats-server", "/usr/bin/nats-server"};
    for (const char* c : candidates)
      if (c != nullptr && ::access(c, X_OK) == 0) return c;
    return {};
  }
  static bool installed() { return !executable().empty(); }

  // Starts (again, on the same port and store); true once it accepts connections.
  bool start() {
    proc_.start({executable(), "-a", "127.0.0.1", "-p", std::to_string(port_), "-js", "-sd", store_,
                 "-l", store_ + "/server.log"});
    return wait_until([&] { return port_open(port_); }, std::chrono::seconds(10));
  }
  int stop(int sig = SIGTERM) { return proc_.kill(sig); }

  [[nodiscard]] std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] const std::string& store() const { return store_; }

 private:
  std::string store_;
  int port_ = 0;
  Process proc_;
};

// One event a reader met, reduced to what must be identical on both sides of a bridge.
struct Event {
  bool gap = false;
  std::uint64_t seq = 0;  // message seq, or gap first
  std::uint64_t missed = 0;
  std::uint32_t type = 0;
  std::uint64_t timestamp_ns = 0;
  std::string payload;
  bool operator==(const Event&) const = default;
};

inline Event gap_event(std::uint64_t first, std::uint64_t missed) {
  Event e;
  e.gap = true;
  e.seq = first;
  e.missed = missed;
  return e;
}

// Every event an unregistered reader meets from the oldest held message to head.
inline std::vector<Event> collect(Reader& r) {
  std::vector<Event> out;
  for (;;) {
    const ReadResult e = r.try_read();
    if (e.status == ReadStatus::empty) {
      if (r.position() >= r.head()) break;
      continue;
    }
    if (e.status == ReadStatus::gap) out.push_back(gap_event(e.gap.first, e.gap.missed));
    if (e.status == ReadStatus::message)
      out.push_back(Event{.seq = e.message.seq, .type = e.message.type, .timestamp_ns = e.message.timestamp_ns,
                          .payload = std::string(text_of(e.message.payload))});
  }
  return out;
}
inline std::vector<Event> collect(const std::string& ring) {
  Reader r(ring, ReaderOptions{.start = StartAt::oldest, .register_reader = false});
  return collect(r);
}

inline std::uint64_t head_of(const std::string& ring) {
  try {
    return inspect(ring).head;
  } catch (const Error&) {
    return 0;
  }
}

// What the stream holds, in stream order: one row per record.
struct StreamRecord {
  std::uint64_t stream_seq = 0;
  bool gap = false;
  std::uint64_t seq = 0;  // ring seq, or gap first
  std::uint64_t missed = 0;
};

inline std::uint64_t header_num(natsMsg* m, const char* key) {
  const char* v = nullptr;
  if (natsMsgHeader_Get(m, key, &v) != NATS_OK || v == nullptr) return UINT64_MAX;
  return std::strtoull(v, nullptr, 10);
}

inline std::vector<StreamRecord> read_stream(const std::string& url, const std::string& stream) {
  std::vector<StreamRecord> out;
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) return out;
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, nullptr);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Ordered = true;
  natsSubscription* sub = nullptr;
  if (js_SubscribeSync(&sub, js, ">", nullptr, &so, nullptr) == NATS_OK) {
    natsSubscription_SetPendingLimits(sub, -1, -1);
    for (;;) {
      natsMsg* m = nullptr;
      if (natsSubscription_NextMsg(&m, sub, 2000) != NATS_OK) break;
      jsMsgMetaData* meta = nullptr;
      natsMsg_GetMetaData(&meta, m);
      StreamRecord rec{.stream_seq = meta->Sequence.Stream};
      const std::uint64_t pending = meta->NumPending;
      jsMsgMetaData_Destroy(meta);
      const std::uint64_t seq = header_num(m, "Shmcast-Seq");
      if (seq != UINT64_MAX) {
        rec.seq = seq;
      } else {
        rec.gap = true;
        rec.seq = header_num(m, "Shmcast-Gap-First");
        rec.missed = header_num(m, "Shmcast-Gap-Missed");
      }
      natsMsg_Destroy(m);
      out.push_back(rec);
      if (pending == 0) break;
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return out;
}

}  // namespace shmcast::test::bridge
