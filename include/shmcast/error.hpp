// shmcast::Error: what construction, attach and the CLI throw. Hot paths (publish,
// try_read) never throw except for a caller's mistake they refuse before writing
// anything (a message larger than the ring accepts, a sequence past the last).
//
// An Error carries its facts as data: the code, the ring it concerns (empty when it
// concerns none) and the reason in words. It gives no advice on what to run next: that
// depends on the program (the `shmcast` CLI maps each code to its advice in one place).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace shmcast {

enum class Errc {
  invalid_argument,   // a bad name, geometry or option
  not_found,          // no ring by that name
  already_exists,     // create() on a name that is taken
  not_ready,          // the ring is still being created by a live process
  foreign,            // the object is not a shmcast ring (wrong magic)
  version_mismatch,   // a shmcast ring of another layout version
  truncated,          // the object is smaller than its header says
  corrupt,            // header fields that contradict each other
  geometry_mismatch,  // open_or_create() found a ring of another geometry
  producer_active,    // another live producer holds the ring
  permission_denied,
  no_space,           // /dev/shm cannot hold the ring
  message_too_large,  // a message or snapshot larger than its capacity; nothing written
  replaced,           // the ring was removed or recreated under the same name
  system,             // any other system error
  no_snapshot_area,   // a snapshot was asked of a ring created without a snapshot area
  abandoned,          // an unfinished object that no process is creating: its creator died, or
                      // something else made it. It will not become a ring; remove it
};

const char* to_string(Errc code) noexcept;

class Error : public std::runtime_error {
 public:
  // An error about ring `ring`: what() is "ring 'RING': REASON".
  Error(Errc code, std::string_view ring, std::string reason);
  // An error that concerns no ring in particular: what() is the reason.
  Error(Errc code, const std::string& reason);

  [[nodiscard]] Errc code() const noexcept { return code_; }
  [[nodiscard]] const std::string& ring() const noexcept { return ring_; }  // empty: none
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  Errc code_;
  std::string ring_;
  std::string reason_;
};

}  // namespace shmcast
