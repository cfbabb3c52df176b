// A fresh directory for a test (under /tmp unless told), removed with everything in it when
// the test ends. If it cannot be made, `path` is /tmp itself for the default, empty for
// another place (a test then falls back on a directory of its own).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace shmcast::test {

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& under = "/tmp") {
    std::string tmpl = under + "/shmcast-test-XXXXXX";
    const char* made = ::mkdtemp(tmpl.data());
    path = made != nullptr ? std::string(made) : under == "/tmp" ? under : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty() && path != "/tmp") std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace shmcast::test
