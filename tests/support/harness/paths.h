#pragma once

#include <string>

namespace cosp::test {

// Where things are, as CMake configured them (absolute paths).

// The build's binary directory: codex-sub-proxy, -worker, -ctl, fake-codex-backend,
// fake-oauth-server.
std::string binDir();
// The repository's root (etc/, scripts/, README.md ...).
std::string sourceDir();
// tests/fixtures, and a path inside it ("responses/text.sse").
std::string fixturesDir();
std::string fixturePath(const std::string& relative);

}  // namespace cosp::test
