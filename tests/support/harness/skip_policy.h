#pragma once

// The one skip policy (tests/README.md): a test never skips on its own. A tool it needs that is
// missing fails the test with what to install; a privilege it needs that the run lacks fails it
// with how to run it. The only skips are the ones a person asks for with an environment variable,
// and they say so in the test's output.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>

namespace cosp::test {

// True when `tool` is an executable file in one of PATH's directories.
inline bool onPath(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Whether `tool` is on PATH; when it is not, records a failure that says which Debian package to
// install, and returns false (the test goes on: use COSP_REQUIRE_TOOL to end it there).
inline bool toolAvailable(const std::string& tool, const std::string& package) {
  if (onPath(tool)) return true;
  ADD_FAILURE() << tool << " is missing: install package " << package << " (scripts/setup does)";
  return false;
}

// True when the environment variable `name` is "1": the person running the tests asked to skip.
inline bool skipRequested(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && std::string(value) == "1";
}

}  // namespace cosp::test

// In a test body (or SetUp): the test fails and ends here when `tool` is not on PATH.
#define COSP_REQUIRE_TOOL(tool, package)                     \
  do {                                                       \
    if (!::cosp::test::toolAvailable(tool, package)) return; \
  } while (0)

// In a test body: the test needs root (`why` says what for). Without root it fails, unless
// COSP_SKIP_ROOT_TESTS=1 asks to skip it, which the output then says.
#define COSP_REQUIRE_ROOT(why)                                                                     \
  do {                                                                                             \
    if (::geteuid() != 0) {                                                                        \
      if (::cosp::test::skipRequested("COSP_SKIP_ROOT_TESTS")) {                                   \
        GTEST_SKIP() << "skipped as COSP_SKIP_ROOT_TESTS=1 asks: this test needs root " << why;    \
      }                                                                                            \
      FAIL() << "this test needs root " << why                                                     \
             << ": run it as root (CI does), or set COSP_SKIP_ROOT_TESTS=1 to skip it explicitly"; \
    }                                                                                              \
  } while (0)
