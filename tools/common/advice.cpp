#include "common/advice.hpp"

#include "common/format.hpp"

namespace shmcast::cli {

std::string advice(Errc code, const std::string& ring, std::string_view command) {
  const std::string name = ring.empty() ? std::string("NAME") : ring;
  switch (code) {
    case Errc::not_found:
      if (command == "rm") return "see `shmcast list`";
      if (command == "publish")
        return "create it with `shmcast create " + name + "`, or pass --create to create it with the default geometry";
      return "create it with `shmcast create " + name + "` or start its producer";
    case Errc::already_exists: return "use it, or replace it with `shmcast create --force`";
    case Errc::permission_denied:
      // /dev/shm is sticky: only the object's owner (or root) may unlink it, whatever its mode.
      if (command == "rm") return "only the ring's owner (or root) may remove it: run `shmcast rm` as that user";
      if (command == "create")
        return "only the owner of what the name holds (or root) may replace it: run `shmcast create` as that "
               "user, or choose another name";
      return "run as the ring's owner or recreate it with a wider --mode";
    case Errc::no_space: return "free space in /dev/shm or choose a smaller --size";
    case Errc::corrupt:
    case Errc::truncated: return "remove it with `shmcast rm " + name + "` and recreate it";
    case Errc::foreign: return "remove it or choose another name";
    case Errc::version_mismatch:
      return "recreate it with `shmcast create " + name + " --size BYTES --force` (what it holds is lost), or use the "
             "shmcast build that made it";
    case Errc::not_ready: return "retry in a moment (a ring being created is ready within milliseconds, large ones within seconds)";
    case Errc::abandoned: return "it will not become a ring: remove it with `shmcast rm " + name + "`";
    case Errc::producer_active:
      if (command == "rm") return "stop it first, or pass --even-if-live to remove the ring anyway";
      if (command == "create") return "stop it first, or pass --even-if-live to replace the ring anyway";
      return "a ring has one producer: stop that one first";
    case Errc::geometry_mismatch: return "use it as it is, or replace it with `shmcast create --force`";
    case Errc::message_too_large:
      return "a message needs a ring with a larger --max-message (`shmcast create " + name +
             " --size BYTES --max-message BYTES --force`), a snapshot one with a larger --snapshot-size";
    case Errc::no_snapshot_area: return "recreate the ring with --snapshot-size";
    case Errc::replaced:
      if (command == "tail") return "run `shmcast tail` again (or leave out --no-reattach)";
      if (command == "bridge out") return "restart the bridge with a new --stream";
      if (command == "bridge in")
        return "remove the ring (`shmcast rm " + name + "`) or give `bridge in` another one: it then follows the new "
               "source from its start";
      return {};
    case Errc::invalid_argument:
    case Errc::system: return {};
  }
  return {};
}

std::string archive_advice(Errc code) {
  switch (code) {
    case Errc::not_found: return "an archive is a directory that `shmcast record RING --dir DIR` writes";
    case Errc::permission_denied: return "run as the archive's owner, or give this user access to the directory";
    case Errc::no_space: return "free space on the archive's disk, then run `shmcast record` again: it carries on";
    case Errc::corrupt:
      return "what comes before the damage reads; move the damaged segment aside to read on, or record into a new directory";
    case Errc::foreign: return "a file there is not an archive segment: move it out of the directory";
    case Errc::version_mismatch: return "read it with the shmcast build that wrote it";
    default: return {};
  }
}

std::string error_line(const Error& e, std::string_view command) {
  std::string line = e.ring().empty() ? e.reason() : "ring '" + e.ring() + "': " + e.reason();
  // A reason that already names a shmcast command to run (a few library reasons do) has
  // its advice: a second one would only repeat it.
  const bool advised = e.reason().find("`shmcast ") != std::string::npos;
  // The archive's errors name no ring and start with "archive DIR" (its where()): a ring's
  // advice would send the user to `shmcast rm` or /dev/shm for a file on disk.
  const bool about_archive = e.ring().empty() && e.reason().starts_with("archive ");
  const std::string what_to_do = advised           ? std::string()
                                 : about_archive ? archive_advice(e.code())
                                                 : advice(e.code(), e.ring(), command);
  if (!what_to_do.empty()) line += "; " + what_to_do;
  return one_line(line);
}

}  // namespace shmcast::cli
