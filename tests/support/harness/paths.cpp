#include "tests/support/harness/paths.h"

namespace cosp::test {

std::string binDir() { return COSP_TEST_BIN_DIR; }

std::string sourceDir() { return COSP_TEST_SOURCE_DIR; }

std::string fixturesDir() { return sourceDir() + "/tests/fixtures"; }

std::string fixturePath(const std::string& relative) { return fixturesDir() + "/" + relative; }

}  // namespace cosp::test
