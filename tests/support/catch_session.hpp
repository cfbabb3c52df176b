// The one Catch2 runner of every test suite. It makes "no test case matched" a failure:
// ctest runs each test case by name (catch_discover_tests), and a name Catch2 cannot
// match (a ';' in it, for one, splits it in CMake) would otherwise pass having run nothing.
#pragma once

#include <catch2/catch.hpp>

namespace shmcast::test {

inline int run_catch(int argc, char** argv) {
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  auto& config = session.configData();
  config.warnings = static_cast<Catch::WarnAbout::What>(config.warnings | Catch::WarnAbout::NoTests);
  return session.run();
}

}  // namespace shmcast::test
