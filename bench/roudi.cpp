// Starting and stopping iox-roudi for a point (see roudi.hpp). The names below are iceoryx
// 2.0's own (Debian's 2.0.3): the lock a running RouDi holds, its management segment, the
// payload segment named after the group it runs as, and its unix-domain socket.
#include "roudi.hpp"

#include "processes.hpp"
#include "tsc.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace shmcast::bench {
namespace {

constexpr const char* kRoudi = SHMCAST_BENCH_IOX_ROUDI;
constexpr const char* kLock = "/tmp/iox-unique-roudi.lock";
constexpr const char* kReady = "RouDi is ready for clients";

// What RouDi removes itself when it stops cleanly, and leaves behind when killed.
std::vector<std::string> leftovers() {
  std::vector<std::string> files{"/dev/shm/iceoryx_mgmt", "/tmp/roudi", "/tmp/roudi.lock"};
  if (const group* g = ::getgrgid(::getegid())) files.push_back(std::string("/dev/shm/") + g->gr_name);
  return files;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  const std::size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

}  // namespace

std::string roudi_unavailable() {
  if (::access(kRoudi, X_OK) != 0) return std::string(kRoudi) + " is not there (package iceoryx)";
  if (lock_held(kLock))
    return std::string("a RouDi that this run did not start is running (") + kLock + " is locked); it is left alone";
  return {};
}

pid_t start_roudi(const std::string& dir, const RoudiMempool& pool) {
  if (lock_held(kLock)) throw RoudiBusy(roudi_unavailable());
  const std::string config = dir + "/roudi.toml", log = dir + "/roudi.log";
  remember_path(config);
  remember_path(log);
  {
    std::ofstream f(config);
    f << "# shmcast-bench: one mempool, sized for this point\n"
      << "[general]\nversion = 1\n\n[[segment]]\n\n[[segment.mempool]]\n"
      << "size = " << pool.size << "\ncount = " << pool.count << "\n";
    if (!f) throw std::runtime_error("cannot write " + config);
  }
  // Its own process group, so that a terminal's Ctrl-C reaches only this process, which
  // stops it in order; its output in the log, where readiness is read from.
  posix_spawn_file_actions_t files;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&files);
  ::posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::posix_spawn_file_actions_adddup2(&files, 1, 2);
  ::posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setpgroup(&attr, 0);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  // Monitoring off: the harness owns every client's lifetime and stops RouDi after each
  // point, and on two vCPUs a client starved by pinned spinners could miss its keep-alives
  // and be declared dead mid-run. Warnings only: readiness is printed whatever the level.
  std::string c = config;
  const char* argv[] = {kRoudi, "-c", c.c_str(), "-m", "off", "-l", "warning", nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, kRoudi, &files, &attr, const_cast<char* const*>(argv), environ);
  ::posix_spawn_file_actions_destroy(&files);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error(std::string("posix_spawn ") + kRoudi + ": " + std::strerror(rc));
  remember_daemon(pid, kLock, leftovers());

  const u64 deadline = mono_ns() + 10'000'000'000ull;
  for (;;) {
    const std::string text = read_file(log);
    if (text.find(kReady) != std::string::npos) return pid;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      forget_daemon();
      if (text.find("Could not acquire lock") != std::string::npos) throw RoudiBusy("another RouDi took the lock first; left alone");
      throw std::runtime_error("iox-roudi exited before it was ready: " + last_line(text));
    }
    if (mono_ns() > deadline) {
      kill_daemon();
      throw std::runtime_error("iox-roudi was not ready within 10 s: " + last_line(text));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void stop_roudi(pid_t pid, bool graceful) noexcept {
  if (pid <= 0) return;
  if (!graceful) {
    kill_daemon();
    return;
  }
  ::kill(pid, SIGTERM);
  const u64 deadline = mono_ns() + 5'000'000'000ull;
  while (mono_ns() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) remove_daemon_leftovers();
      forget_daemon();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill_daemon();
}

}  // namespace shmcast::bench
