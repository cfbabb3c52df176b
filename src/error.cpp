#include <shmcast/error.hpp>

namespace shmcast {

namespace {
std::string describe(std::string_view ring, const std::string& reason) {
  return "ring '" + std::string(ring) + "': " + reason;
}
}  // namespace

Error::Error(Errc code, std::string_view ring, std::string reason)
    : std::runtime_error(describe(ring, reason)), code_(code), ring_(ring), reason_(std::move(reason)) {}

Error::Error(Errc code, const std::string& reason) : std::runtime_error(reason), code_(code), reason_(reason) {}

const char* to_string(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::not_ready: return "not_ready";
    case Errc::foreign: return "foreign";
    case Errc::version_mismatch: return "version_mismatch";
    case Errc::truncated: return "truncated";
    case Errc::corrupt: return "corrupt";
    case Errc::geometry_mismatch: return "geometry_mismatch";
    case Errc::producer_active: return "producer_active";
    case Errc::permission_denied: return "permission_denied";
    case Errc::no_space: return "no_space";
    case Errc::message_too_large: return "message_too_large";
    case Errc::replaced: return "replaced";
    case Errc::system: return "system";
    case Errc::no_snapshot_area: return "no_snapshot_area";
    case Errc::abandoned: return "abandoned";
  }
  return "unknown";
}

}  // namespace shmcast
