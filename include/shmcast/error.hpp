// shmcast::Error: what construction, attach and the CLI throw. Hot paths (publish,
// try_read) never throw except for a caller's mistake they refuse before writing
// anything (a message larger than the slot).
#pragma once

#include <stdexcept>
#include <string>

namespace shmcast {

enum class Errc {
  invalid_argument,   // a bad name, geometry or option
  not_found,          // no ring by that name
  already_exists,     // create() on a name that is taken
  not_ready,          // the ring is still being created (or its creator died mid-way)
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
};

const char* to_string(Errc code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  [[nodiscard]] Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

}  // namespace shmcast
