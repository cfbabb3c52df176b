#include "liveness.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>

namespace shmcast::detail {

namespace {
struct flock producer_lock_range() noexcept {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 1;
  return lock;
}
}  // namespace

bool try_lock_producer(int fd) noexcept {
  struct flock lock = producer_lock_range();
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

bool producer_lock_held(int fd) noexcept {
  struct flock lock = producer_lock_range();
  if (::fcntl(fd, F_OFD_GETLK, &lock) != 0) return false;
  return lock.l_type != F_UNLCK;
}

namespace {
// Fields 3 (state) and 22 (start time, in clock ticks since boot) of a /proc stat file
// (/proc/PID/stat, /proc/PID/task/TID/stat); state and start time 0 if it cannot be read.
struct ProcStat {
  char state = 0;
  std::uint64_t start_time = 0;
};

ProcStat read_stat_file(const char* path) noexcept {
  ProcStat st;
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return st;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // comm may hold spaces and parentheses: fields are counted after the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return st;
  if (p[1] == ' ') st.state = p[2];
  int field = 2;
  for (; *p != '\0' && field < 22; ++p)
    if (*p == ' ') ++field;
  st.start_time = std::strtoull(p, nullptr, 10);
  return st;
}

ProcStat read_proc_stat(pid_t pid) noexcept {
  if (pid <= 0) return {};
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  return read_stat_file(path);
}

// Whether a thread of `pid` other than its main one is alive (not a zombie): /proc/PID/task.
bool other_thread_alive(pid_t pid) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/task", static_cast<int>(pid));
  DIR* dir = ::opendir(path);
  if (dir == nullptr) return errno != ENOENT && errno != ESRCH;  // gone, or unknown: alive, as kill() decides below
  bool alive = false;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long tid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || tid == pid) continue;
    char stat_path[96];
    std::snprintf(stat_path, sizeof stat_path, "/proc/%d/task/%ld/stat", static_cast<int>(pid), tid);
    errno = 0;
    const ProcStat task = read_stat_file(stat_path);
    // A task that vanished meanwhile reads as nothing; one that could not be read for
    // another reason counts as alive, so that no live reader's entry is taken on a doubt.
    const bool unreadable = task.state == 0 && errno != ENOENT && errno != ESRCH;
    if (unreadable || (task.state != 0 && task.state != 'Z' && task.state != 'X')) {
      alive = true;
      break;
    }
  }
  ::closedir(dir);
  return alive;
}

}  // namespace

std::uint64_t process_start_time(pid_t pid) noexcept { return read_proc_stat(pid).start_time; }

bool process_alive(pid_t pid, std::uint64_t start_time) noexcept {
  if (pid <= 0) return false;
  const ProcStat now = read_proc_stat(pid);
  if (now.start_time == 0) return ::kill(pid, 0) == 0 || errno == EPERM;  // no /proc: best effort
  if (start_time != 0 && now.start_time != start_time) return false;  // the pid was reused
  // A zombie (exited, not yet waited for by its parent) keeps its /proc entry and start
  // time, but will never write to shared memory again. The state is its main thread's: a
  // process whose main thread has exited while others run shows 'Z' too, and is alive.
  if (now.state == 'Z' || now.state == 'X') return other_thread_alive(pid);
  return true;
}

}  // namespace shmcast::detail
