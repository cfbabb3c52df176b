// Running the real `shmcast` binary from tests: spawn with pipes, read its output with
// timeouts, wait for it, and a few JSON/text probes. Catch2 assertions stay on the
// test's own thread; children are plain exec'd processes.
#pragma once

#include <test_support.hpp>

#include <shmcast/inspect.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace shmcast::clitest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A running `shmcast` process with its stdout and stderr on pipes.
class Proc {
 public:
  explicit Proc(const std::vector<std::string>& args, bool pipe_stdin = false) {
    int in[2] = {-1, -1}, out[2], err[2];
    if (pipe_stdin && ::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    std::vector<std::string> argv_s{SHMCAST_BIN};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      int fd_in = pipe_stdin ? in[0] : ::open("/dev/null", O_RDONLY);
      ::dup2(fd_in, 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
    if (pipe_stdin) {
      ::close(in[0]);
      in_ = in[1];
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  ~Proc() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    for (int fd : {in_, out_, err_})
      if (fd >= 0) ::close(fd);
  }

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& out() const { return out_buf_; }
  [[nodiscard]] const std::string& err() const { return err_buf_; }

  void write_stdin(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(in_, data.data() + done, data.size() - done);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }
  void close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  // Closes the test's end of the process's stdout, as a reader such as `head` does when
  // it has read enough (what is still unread is lost).
  void close_stdout() {
    if (out_ >= 0) ::close(out_);
    out_ = -1;
  }

  // Reads what is available on stdout and stderr for up to `timeout`.
  void pump(std::chrono::milliseconds timeout) {
    pollfd fds[2];
    int n = 0;
    if (out_ >= 0) fds[n++] = pollfd{out_, POLLIN, 0};
    if (err_ >= 0) fds[n++] = pollfd{err_, POLLIN, 0};
    if (n == 0) {
      std::this_thread::sleep_for(timeout);
      return;
    }
    if (::poll(fds, static_cast<nfds_t>(n), static_cast<int>(timeout.count())) <= 0) return;
    for (int i = 0; i < n; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[65536];
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      const bool is_out = fds[i].fd == out_;
      if (got > 0) {
        (is_out ? out_buf_ : err_buf_).append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        (is_out ? out_ : err_) = -1;
      }
    }
  }

  // Pumps output until pred() holds or `timeout` passes; returns pred().
  bool wait_for(const std::function<bool(const Proc&)>& pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (!pred(*this)) {
      if (Clock::now() >= deadline) return false;
      pump(20ms);
    }
    return true;
  }

  // Closes stdin, reads everything until the process ends; its exit code, 128 + signal,
  // or -1 if it did not end within `timeout` (it is then killed).
  int finish(std::chrono::milliseconds timeout = 20s) {
    close_stdin();
    const auto deadline = Clock::now() + timeout;
    while ((out_ >= 0 || err_ >= 0) && Clock::now() < deadline) pump(50ms);
    int st = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) break;
      if (Clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        reaped_ = true;
        return -1;
      }
      std::this_thread::sleep_for(10ms);
    }
    reaped_ = true;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return 255;
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string out_buf_, err_buf_;
  bool reaped_ = false;
};

struct Result {
  int rc = -1;
  std::string out, err;
};

// Runs `shmcast args...` to completion, feeding `input` on stdin.
inline Result run(const std::vector<std::string>& args, const std::string& input = {},
                  std::chrono::milliseconds timeout = 20s) {
  Proc p(args, true);
  if (!input.empty()) p.write_stdin(input);
  p.close_stdin();
  Result r;
  r.rc = p.finish(timeout);
  r.out = p.out();
  r.err = p.err();
  return r;
}

// Runs `script` with sh (under a 30 s timeout), $SHMCAST naming the binary: what it wrote
// to its standard output and error, for scripts that shape descriptors as a shell does.
inline std::string shell_output(const std::string& script) {
  const std::string command = "SHMCAST='" + std::string(SHMCAST_BIN) + "' timeout 30 sh -c '" + script + "' 2>&1";
  FILE* sh = ::popen(command.c_str(), "r");
  if (sh == nullptr) return "popen failed";
  std::string got;
  char buf[512];
  while (std::fgets(buf, sizeof buf, sh) != nullptr) got += buf;
  ::pclose(sh);
  return got;
}

// The command line `args` stand for, for a test's messages.
inline std::string joined(const std::vector<std::string>& args) {
  std::string out = "shmcast";
  for (const auto& a : args) out += " " + a;
  return out;
}

inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

inline std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The unsigned number after `"key":` at or after `from` in a JSON text; nullopt if absent.
inline std::optional<std::uint64_t> json_u64(const std::string& text, const std::string& key, std::size_t from = 0) {
  const std::string k = "\"" + key + "\":";
  const std::size_t at = text.find(k, from);
  if (at == std::string::npos) return std::nullopt;
  std::size_t p = at + k.size();
  if (p >= text.size() || text[p] < '0' || text[p] > '9') return std::nullopt;
  std::uint64_t v = 0;
  while (p < text.size() && text[p] >= '0' && text[p] <= '9') v = v * 10 + static_cast<std::uint64_t>(text[p++] - '0');
  return v;
}

// The JSON object of the reader labelled `label` in `stat --json` output (from its "{" to its "}").
inline std::string reader_object(const std::string& stat_json, const std::string& label) {
  const std::size_t at = stat_json.find("\"label\":\"" + label + "\"");
  if (at == std::string::npos) return {};
  const std::size_t open = stat_json.rfind('{', at);
  const std::size_t close = stat_json.find('}', at);
  return stat_json.substr(open, close - open + 1);
}

// Polls the ring (through the library, cheaply) until `pred` holds.
inline bool wait_ring(const std::string& name, const std::function<bool(const RingStatus&)>& pred,
                      std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    try {
      if (pred(inspect(name))) return true;
    } catch (const Error&) {
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

// Waits until `n` live readers are registered on `name`.
inline bool wait_readers(const std::string& name, std::size_t n, std::chrono::milliseconds timeout = 10s) {
  return wait_ring(name, [n](const RingStatus& st) { return st.live_readers == n; }, timeout);
}

// Waits until a live reader of `name` shows each of `labels`. A reader claims its registry
// entry first and writes its label next: wait_readers() alone may see it in between.
inline bool wait_labelled(const std::string& name, const std::vector<std::string>& labels,
                          std::chrono::milliseconds timeout = 10s) {
  return wait_ring(
      name,
      [&](const RingStatus& st) {
        for (const std::string& label : labels) {
          bool found = false;
          for (const ReaderStatus& r : st.readers) found = found || (r.alive && r.label == label);
          if (!found) return false;
        }
        return true;
      },
      timeout);
}

// One error line on stderr: exactly one non-empty line, naming `ring` when given.
inline bool one_error_line(const std::string& err, const std::string& ring = {}) {
  const auto ls = lines(err);
  return ls.size() == 1 && !ls[0].empty() && ls[0].rfind("shmcast", 0) == 0 &&
         (ring.empty() || ls[0].find(ring) != std::string::npos);
}

}  // namespace shmcast::clitest
