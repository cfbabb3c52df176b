// Process plumbing for shmcast-bench: fork, pin, reap, and the fixed-size tables of children,
// shm names, files and the point's daemon that the signal handler reads without allocating.
#include "processes.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sched.h>
#include <stdexcept>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace shmcast::bench {
namespace {

// Names of every POSIX shared-memory object this run created, as shm_unlink wants them,
// in fixed storage so that the signal handler can unlink them without allocating.
constexpr int kMaxNames = 16;
char g_names[kMaxNames][128];
volatile std::sig_atomic_t g_name_count = 0;
pid_t g_children[kMaxReaders + 4];
volatile std::sig_atomic_t g_child_count = 0;

// Files to unlink and directories to remove (after the files), same rules: a temporary
// directory and what is in it, and the sockets of up to kMaxReaders + 1 iceoryx runtimes.
constexpr int kMaxPaths = 2 * (kMaxReaders + 1) + 8;
char g_paths[kMaxPaths][256];
bool g_path_is_dir[kMaxPaths];
volatile std::sig_atomic_t g_path_count = 0;

// The point's daemon (RouDi), its lock file and what it leaves behind when killed.
constexpr int kMaxLeftovers = 8;
volatile pid_t g_daemon = -1;
char g_daemon_lock[256];
char g_leftovers[kMaxLeftovers][256];
volatile std::sig_atomic_t g_leftover_count = 0;

void copy_path(char (&to)[256], const std::string& from) { std::snprintf(to, sizeof to, "%s", from.c_str()); }

}  // namespace

void remember_name(const std::string& object) {
  if (g_name_count >= kMaxNames) return;
  std::snprintf(g_names[g_name_count], sizeof g_names[0], "/%s", object.c_str());
  g_name_count = g_name_count + 1;
}

void remember_path(const std::string& path, bool directory) {
  if (g_path_count >= kMaxPaths) return;
  copy_path(g_paths[g_path_count], path);
  g_path_is_dir[g_path_count] = directory;
  g_path_count = g_path_count + 1;
}

void unlink_names() noexcept {
  for (int i = 0; i < g_name_count; ++i) ::shm_unlink(g_names[i]);
  g_name_count = 0;
  for (int i = 0; i < g_path_count; ++i)
    if (!g_path_is_dir[i]) ::unlink(g_paths[i]);
  for (int i = 0; i < g_path_count; ++i)
    if (g_path_is_dir[i]) ::rmdir(g_paths[i]);
  g_path_count = 0;
}

bool lock_held(const char* path) noexcept {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);  // never created here: no file, no holder
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the probe's own lock, if it got one
  return held;
}

void remember_daemon(pid_t pid, const std::string& lock, const std::vector<std::string>& leftovers) {
  copy_path(g_daemon_lock, lock);
  g_leftover_count = 0;
  for (const std::string& f : leftovers) {
    if (g_leftover_count >= kMaxLeftovers) break;
    copy_path(g_leftovers[g_leftover_count], f);
    g_leftover_count = g_leftover_count + 1;
  }
  g_daemon = pid;
}

void forget_daemon() noexcept {
  g_daemon = -1;
  g_leftover_count = 0;
}

void remove_daemon_leftovers() noexcept {
  if (lock_held(g_daemon_lock)) return;  // another daemon runs now: its files, not ours
  for (int i = 0; i < g_leftover_count; ++i) ::unlink(g_leftovers[i]);
}

void kill_daemon() noexcept {
  const pid_t pid = g_daemon;
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  remove_daemon_leftovers();
  forget_daemon();
}

extern "C" void on_signal(int sig) {
  for (int i = 0; i < g_child_count; ++i) ::kill(g_children[i], SIGKILL);
  for (int i = 0; i < g_child_count; ++i) ::waitpid(g_children[i], nullptr, 0);
  // Killed, the children never said goodbye to the daemon, which would signal their (now
  // free) pids on a graceful stop: it is killed too.
  kill_daemon();
  unlink_names();
  ::_exit(128 + sig);
}

void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof set, &set);
}

pid_t spawn(int cpu, Control& c, const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    pin_to(cpu);
    int rc = 1;
    try {
      rc = body();
    } catch (const std::exception& e) {
      set_error(c, e.what());
      rc = 2;
    }
    ::_exit(rc);  // no destructors: the parent owns every named object
  }
  g_children[g_child_count] = pid;
  g_child_count = g_child_count + 1;
  return pid;
}

// The parent sleeps in sigtimedwait for SIGCHLD rather than polling: its children are
// pinned to every CPU there is, and each wake-up of the parent would take a CPU from one
// of them in the middle of a measurement (bench/README.md, harness change 12).
int reap_children(Control& c, double timeout_s) {
  const u64 deadline = mono_ns() + static_cast<u64>(timeout_s * 1e9);
  // Blocked, SIGCHLD stays pending for sigtimedwait even with its default (ignore)
  // action. A child that exited before this is found by the first waitpid below.
  sigset_t chld, saved;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, &saved);
  int worst = 0;
  // Each child by its pid, not waitpid(-1): the point's daemon (RouDi) is a child of this
  // process too, and is reaped by whoever stops it.
  bool reaped[kMaxReaders + 4] = {};
  int left = g_child_count;
  while (left > 0) {
    for (int i = 0; i < g_child_count; ++i) {
      if (reaped[i]) continue;
      int status = 0;
      const pid_t pid = ::waitpid(g_children[i], &status, WNOHANG);
      if (pid == 0) continue;
      reaped[i] = true;
      --left;
      if (pid < 0) continue;  // already gone (ECHILD): nothing to report
      const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (rc != 0) {
        worst = std::max(worst, rc);
        // One process failing (or killed) would leave the others waiting for it.
        c.stop.store(1, std::memory_order_release);
        c.producer_done.store(1, std::memory_order_release);
      }
    }
    if (left == 0) break;
    if (mono_ns() > deadline) {
      set_error(c, "timed out; killed");
      for (int i = 0; i < g_child_count; ++i)
        if (!reaped[i]) ::kill(g_children[i], SIGKILL);  // a reaped child's pid may be someone else's now
      worst = std::max(worst, 124);
      c.stop.store(1, std::memory_order_release);
      c.producer_done.store(1, std::memory_order_release);
    }
    // Past the deadline the children were sent SIGKILL: wait for them in short slices.
    const u64 now = mono_ns();
    const u64 slice_ns = now < deadline ? std::min<u64>(deadline - now, 100'000'000) : 1'000'000;
    const timespec slice{static_cast<time_t>(slice_ns / 1'000'000'000), static_cast<long>(slice_ns % 1'000'000'000)};
    ::sigtimedwait(&chld, nullptr, &slice);  // SIGCHLD, a timeout or EINTR: look again
  }
  ::sigprocmask(SIG_SETMASK, &saved, nullptr);
  g_child_count = 0;
  return worst;
}

}  // namespace shmcast::bench
