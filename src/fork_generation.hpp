// How many fork()s lie between the process that loaded the library and this one: 0 in
// that process, one more in each child (a pthread_atfork child handler, registered when
// the library is loaded). An object that stores the generation of its last use can tell a
// copy that a fork() left in a child, which must not act as the original (write out its
// buffer again at destruction), from one the child has taken on. A single relaxed load.
#pragma once

#include <cstdint>

namespace shmcast::detail {

[[nodiscard]] std::uint64_t fork_generation() noexcept;

}  // namespace shmcast::detail
