// What each forked process of a point runs: the producer and K readers of the throughput
// and latency workloads, or ping and echo of rtt, on the point's transport. They report
// into the control block; a nonzero return is the child's exit status (3: a bad payload).
#pragma once

#include "control.hpp"
#include "options.hpp"
#include "setup.hpp"

namespace shmcast::bench {

enum class Role { producer, reader, ping, echo };

// Runs `role` against spec.transport (reader `index` for Role::reader).
int dispatch(Role role, const Spec& spec, const Setup& s, Control& c, int index);

}  // namespace shmcast::bench
