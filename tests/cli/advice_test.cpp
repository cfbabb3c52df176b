// The one line every CLI error becomes: the ring when the error concerns one, the reason,
// and the advice for its code (tools/common/advice.hpp).
#include "common/advice.hpp"

#include <catch2/catch.hpp>

using shmcast::Errc;
using shmcast::Error;
using shmcast::cli::advice;
using shmcast::cli::error_line;

TEST_CASE("an error line names the ring, says what is wrong and what to do", "[advice]") {
  CHECK(error_line(Error(Errc::not_found, "ticks", "does not exist")) ==
        "ring 'ticks': does not exist; create it with `shmcast create ticks` or start its producer");
  CHECK(error_line(Error(Errc::corrupt, "t", "is corrupt (bad head)")) ==
        "ring 't': is corrupt (bad head); remove it with `shmcast rm t` and recreate it");
  // An error that concerns no ring has no ring part; one with nothing to advise no advice.
  CHECK(error_line(Error(Errc::system, "cannot read snapshot file 'f': No such file")) ==
        "cannot read snapshot file 'f': No such file");
  CHECK(error_line(Error(Errc::invalid_argument, "t", "ring size 3000 must be a power of two from 4 KiB to 64 GiB")) ==
        "ring 't': ring size 3000 must be a power of two from 4 KiB to 64 GiB");
  // One line, always.
  CHECK(error_line(Error(Errc::system, "two\nlines")) == "two lines");
}

TEST_CASE("every code a user can meet has its advice", "[advice]") {
  for (Errc code : {Errc::not_found, Errc::already_exists, Errc::not_ready, Errc::foreign, Errc::version_mismatch,
                    Errc::truncated, Errc::corrupt, Errc::geometry_mismatch, Errc::producer_active,
                    Errc::permission_denied, Errc::no_space, Errc::message_too_large, Errc::no_snapshot_area,
                    Errc::abandoned}) {
    INFO(shmcast::to_string(code));
    CHECK_FALSE(advice(code, "r").empty());
  }
  CHECK(advice(Errc::no_snapshot_area, "r").find("--snapshot-size") != std::string::npos);
  CHECK(advice(Errc::not_found, "").find("`shmcast create NAME`") != std::string::npos);
  // Where a command knows better.
  CHECK(advice(Errc::not_found, "r", "rm") == "see `shmcast list`");
  CHECK(advice(Errc::replaced, "r", "tail").find("--no-reattach") != std::string::npos);
}

TEST_CASE("advice speaks of the byte ring, not of slots", "[advice]") {
  for (Errc code : {Errc::not_found, Errc::already_exists, Errc::not_ready, Errc::foreign, Errc::version_mismatch,
                    Errc::truncated, Errc::corrupt, Errc::geometry_mismatch, Errc::producer_active,
                    Errc::permission_denied, Errc::no_space, Errc::message_too_large, Errc::no_snapshot_area,
                    Errc::abandoned}) {
    INFO(shmcast::to_string(code));
    CHECK(advice(code, "r").find("slot") == std::string::npos);
  }
  CHECK(advice(Errc::no_space, "r").find("--size") != std::string::npos);
  CHECK(advice(Errc::message_too_large, "r").find("--max-message") != std::string::npos);
  CHECK(advice(Errc::message_too_large, "r").find("--snapshot-size") != std::string::npos);
  // A ring of an older layout: recreate it, with the command spelled out.
  CHECK(advice(Errc::version_mismatch, "ticks").find("`shmcast create ticks --size BYTES --force`") != std::string::npos);
  CHECK(error_line(Error(Errc::version_mismatch, "ticks", "has layout version 4, this build reads version 3")) ==
        "ring 'ticks': has layout version 4, this build reads version 3; recreate it with `shmcast create ticks "
        "--size BYTES --force` (what it holds is lost), or use the shmcast build that made it");
}

TEST_CASE("a reason that already names the command to run gets no second advice", "[advice]") {
  const std::string reason =
      "has layout version 2, this build reads version 3; recreate it (`shmcast create t --size BYTES --force`) "
      "with this version's tools";
  CHECK(error_line(Error(Errc::version_mismatch, "t", reason)) == "ring 't': " + reason);
  CHECK(error_line(Error(Errc::message_too_large, "t", "message of 9 bytes exceeds 8 (`shmcast create --max-message` sets it)"))
            .find("; a message needs") == std::string::npos);
}

TEST_CASE("a refused rm or create --force says only the ring's owner may do it and not to widen --mode", "[advice]") {
  // /dev/shm is sticky: no mode lets another user unlink the ring.
  for (const char* command : {"rm", "create"}) {
    INFO(command);
    const std::string said = advice(Errc::permission_denied, "r", command);
    CHECK(said.find("--mode") == std::string::npos);
    CHECK(said.find("(or root) may") != std::string::npos);
  }
  CHECK(advice(Errc::permission_denied, "r", "rm").find("only the ring's owner (or root)") != std::string::npos);
  CHECK(advice(Errc::permission_denied, "r", "create").find("run `shmcast create` as that user") != std::string::npos);
  // Reading or publishing is what a wider mode allows.
  CHECK(advice(Errc::permission_denied, "r", "tail").find("wider --mode") != std::string::npos);
}

TEST_CASE("a foreign object's reason gets the advice once, after it", "[advice]") {
  // The library's reason for a FIFO in /dev/shm (src/mapping.cpp) states facts only.
  CHECK(error_line(Error(Errc::foreign, "x",
                         "/dev/shm/shmcast.x is a FIFO, not a shared-memory object: something other than shmcast "
                         "made it")) ==
        "ring 'x': /dev/shm/shmcast.x is a FIFO, not a shared-memory object: something other than shmcast made it; "
        "remove it or choose another name");
  CHECK(error_line(Error(Errc::foreign, "x", "/dev/shm/shmcast.x is not a shmcast ring (bad magic)")) ==
        "ring 'x': /dev/shm/shmcast.x is not a shmcast ring (bad magic); remove it or choose another name");
}
