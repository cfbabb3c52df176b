// The harness's processes and the named objects they share: fork a child pinned to a CPU,
// wait for all of them (killing them after a timeout), and remember every POSIX shm name a
// point creates so that it is unlinked after the point, on error and on a signal.
#pragma once

#include "control.hpp"

#include <functional>
#include <string>
#include <sys/types.h>

namespace shmcast::bench {

void pin_to(int cpu);

// Forks a child pinned to `cpu` (-1: not pinned) that runs `body` and exits with what it
// returns; an exception is written to `c.error` and exits 2. The child runs no destructors.
pid_t spawn(int cpu, Control& c, const std::function<int()>& body);

// Waits for every child spawned since the last call; kills them all after `timeout_s`.
// Returns the worst exit status (124 after a timeout).
int reap_children(Control& c, double timeout_s);

// `object` as Boost.Interprocess or shmcast names it (no leading slash).
void remember_name(const std::string& object);
void unlink_names() noexcept;

// For SIGINT, SIGTERM and SIGHUP: kills the children, unlinks the names, exits 128 + sig.
extern "C" void on_signal(int sig);

}  // namespace shmcast::bench
