// Permissions between users: what another user may do with a ring, and that refusals are
// reported as permission problems naming the object, never as something else. The other
// user is `nobody` (uid/gid 65534), entered by a forked child of this (root) process; the
// children report through their exit codes. Run as root (CI is); skipped otherwise.
#include "fault_common.hpp"

#include <catch2/catch.hpp>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace shmcast;
using namespace shmcast::fault;

namespace {

constexpr uid_t kNobody = 65534;

// Runs `body` in a child as user and group `nobody`; its exit code, or 90 if it could not
// become nobody.
int as_nobody(const std::function<int()>& body) {
  const pid_t child = test::spawn([&] {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
        ::setresuid(kNobody, kNobody, kNobody) != 0)
      return 90;
    return body();
  });
  return test::wait_exit(child);
}

// The code of the shmcast::Error `f` throws (100 + the code), 0 if it throws none, 99 if
// it throws something else.
int error_code_of(const std::function<void()>& f) {
  try {
    f();
    return 0;
  } catch (const Error& e) {
    return 100 + static_cast<int>(e.code());
  } catch (...) {
    return 99;
  }
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

}  // namespace

TEST_CASE("permissions: another user's refusals say permission denied, and readers of a shared-read ring register",
          "[fault][permissions]") {
  if (::geteuid() != 0) {
    WARN("not root: the other-user checks need to switch to `nobody`; skipped");
    return;
  }
  test::RingGuard guard(test::unique_ring("perm"));
  const std::string& name = guard.name;
  const std::string ring_path = "/dev/shm/shmcast." + name;
  const int kPermissionDenied = 100 + static_cast<int>(Errc::permission_denied);

  SECTION("a ring others may read (0644): its registry lets them register (0666), whatever the umask") {
    const mode_t old_umask = ::umask(022);
    Producer p = Producer::create(name, Geometry{.ring_bytes = 8192}, CreateOptions{.mode = 0644});
    ::umask(old_umask);
    CHECK(mode_of(ring_path) == 0644);
    CHECK(mode_of(ring_path + ".readers") == 0666);
    p.publish(bytes_of("for everyone"));
    const int rc = as_nobody([&] {
      Reader r(name, {.start = StartAt::oldest, .label = "nobody"});
      if (!r.registered()) return 2;
      const ReadResult e = r.try_read();
      return e.status == ReadStatus::message && text_of(e.message.payload) == "for everyone" ? 0 : 3;
    });
    CHECK(rc == 0);  // 2: the reader could not register
    SECTION("but may not remove it, nor replace it, and the ring stays") {
      CHECK(as_nobody([&] { return error_code_of([&] { Producer::remove(name); }); }) == kPermissionDenied);
      // Replacing asks about the live producer first, and removes nothing.
      CHECK(as_nobody([&] {
              return error_code_of([&] { Producer::create(name, Geometry{.ring_bytes = 8192}, CreateOptions{.replace = true}); });
            }) == 100 + static_cast<int>(Errc::producer_active));
      CHECK(mode_of(ring_path) == 0644);
      CHECK(inspect(name).published == 1);
    }
  }
  SECTION("a ring whose producer has stopped: another user may not replace it either") {
    { Producer p = Producer::create(name, Geometry{.ring_bytes = 8192}, CreateOptions{.mode = 0644}); }
    CHECK(as_nobody([&] {
            return error_code_of([&] { Producer::create(name, Geometry{.ring_bytes = 8192}, CreateOptions{.replace = true}); });
          }) == kPermissionDenied);
    CHECK(as_nobody([&] { return error_code_of([&] { Producer::remove_unless_live(name); }); }) == kPermissionDenied);
    CHECK(mode_of(ring_path) == 0644);
  }
  SECTION("a private ring (0600): another user's reader is told permission denied, not that it does not exist") {
    Producer p = Producer::create(name, Geometry{.ring_bytes = 8192});
    CHECK(mode_of(ring_path) == 0600);
    CHECK(mode_of(ring_path + ".readers") == 0600);
    CHECK(as_nobody([&] { return error_code_of([&] { Reader r(name); }); }) == kPermissionDenied);
    CHECK(as_nobody([&] { return error_code_of([&] { Producer::remove(name); }); }) == kPermissionDenied);
  }
}
