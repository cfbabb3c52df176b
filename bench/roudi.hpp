// iox-roudi, iceoryx's daemon, run by the harness for one point: a TOML config whose one
// mempool fits the point, the daemon started as a child of the parent process, ready once
// its log says so, and stopped by the pid it was started with. A RouDi that this process did
// not start is never touched: only one can run on a machine (it holds an flock on its lock
// file while it runs), so a point that finds one running is skipped instead.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <sys/types.h>

namespace shmcast::bench {

// What RouDi is asked for: `count` chunks of `size` bytes after the chunk header (RouDi adds
// the header: a chunk is size + sizeof(iox::mepoo::ChunkHeader) bytes).
struct RoudiMempool {
  std::uint32_t size = 0;
  std::uint32_t count = 0;
};

// Someone else's RouDi holds the machine's RouDi lock.
struct RoudiBusy : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A one-line reason why no RouDi can be started here now, or "" if one can.
std::string roudi_unavailable();

// Writes DIR/roudi.toml, starts iox-roudi on it with its output in DIR/roudi.log, and waits
// up to 10 s for "RouDi is ready for clients". Returns its pid. Throws RoudiBusy when another
// RouDi runs, std::runtime_error (with the log's last line) when it fails to start.
pid_t start_roudi(const std::string& dir, const RoudiMempool& pool);

// Stops a RouDi that start_roudi started: SIGTERM, up to 5 s for it to exit, then SIGKILL.
// `graceful` false (some client was killed and never deregistered: RouDi would signal its
// pid, which may be someone else's by now): SIGKILL at once. What a RouDi that did not exit
// cleanly leaves behind (its shared memory and sockets) is removed, unless another RouDi
// runs by then.
void stop_roudi(pid_t pid, bool graceful) noexcept;

}  // namespace shmcast::bench
