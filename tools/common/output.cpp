#include "common/output.hpp"

#include <shmcast/error.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <unistd.h>

namespace shmcast::cli {

namespace {

// Whether standard output is a pipe or socket whose reader has gone: poll() reports POLLERR
// on the write end of a pipe with no reader left (and POLLHUP on a socket shut down).
bool reader_gone() noexcept {
  pollfd fd{STDOUT_FILENO, POLLOUT, 0};
  return ::poll(&fd, 1, 0) == 1 && (fd.revents & (POLLERR | POLLHUP)) != 0;
}

[[noreturn]] void failed(int error) {
  if (error == EPIPE || reader_gone()) throw OutputClosed{};
  throw Error(Errc::system, std::string("writing standard output failed: ") +
                                (error != 0 ? std::strerror(error) : "an earlier write failed"));
}

}  // namespace

void write_stdout(std::string_view text) {
  errno = 0;
  const std::size_t written = std::fwrite(text.data(), 1, text.size(), stdout);
  if (written != text.size() || std::fflush(stdout) != 0) failed(errno);
}

void finish_stdout() {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) failed(errno);
}

namespace {
bool closed_at_start[3] = {false, false, false};
}  // namespace

void guard_standard_descriptors() noexcept {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    closed_at_start[fd] = true;
    // open() returns the lowest free number: fd itself, the lower ones being open by now.
    const int got = ::open("/dev/null", (fd == STDIN_FILENO ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (got >= 0 && got != fd) ::close(got);  // cannot happen; never hold a stray descriptor
  }
}

bool started_closed(int fd) noexcept { return fd >= 0 && fd <= 2 && closed_at_start[fd]; }

}  // namespace shmcast::cli
