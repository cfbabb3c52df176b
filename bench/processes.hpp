// The harness's processes and the named objects they share: fork a child pinned to a CPU,
// wait for all of them (killing them after a timeout), and remember every POSIX shm name and
// file a point creates so that it is removed after the point, on error and on a signal; and
// a point's daemon (iceoryx's RouDi), which a signal must stop too.
#pragma once

#include "control.hpp"

#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace shmcast::bench {

void pin_to(int cpu);

// Forks a child pinned to `cpu` (-1: not pinned) that runs `body` and exits with what it
// returns; an exception is written to `c.error` and exits 2. The child runs no destructors.
pid_t spawn(int cpu, Control& c, const std::function<int()>& body);

// Waits for every child spawned since the last call (only those: a daemon child is left to
// its owner); kills them all after `timeout_s`. Returns the worst exit status (124 after a
// timeout).
int reap_children(Control& c, double timeout_s);

// `object` as Boost.Interprocess or shmcast names it (no leading slash).
void remember_name(const std::string& object);
// A file (path) to unlink, or with `directory` a directory to rmdir after the files.
void remember_path(const std::string& path, bool directory = false);
// Unlinks the remembered shm names and files, then removes the remembered directories.
void unlink_names() noexcept;

// A daemon child the parent started for a point (iceoryx's RouDi), which its owner stops.
// On a signal it is sent SIGKILL and reaped, and then `leftovers` (files it removes itself
// when it stops cleanly) are unlinked, but only while nobody holds `lock`: a daemon of the
// same kind that someone else started since is left alone.
// True while some process holds an flock on `path` (a daemon's "I am running" lock).
bool lock_held(const char* path) noexcept;
void remember_daemon(pid_t pid, const std::string& lock, const std::vector<std::string>& leftovers);
void forget_daemon() noexcept;
// The leftovers, as above, for a daemon that has exited without cleaning up.
void remove_daemon_leftovers() noexcept;
// SIGKILL, reap, remove the leftovers, forget: the signal handler's way, and its owner's last resort.
void kill_daemon() noexcept;

// For SIGINT, SIGTERM and SIGHUP: kills the children and the daemon, unlinks the names and
// files, exits 128 + sig.
extern "C" void on_signal(int sig);

}  // namespace shmcast::bench
