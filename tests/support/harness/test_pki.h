#pragma once

// A throw-away certificate authority for TLS tests, made with the openssl CLI.

#include <optional>
#include <string>

#include "tests/support/harness/temp_dir.h"

namespace cosp::test {

// A CA plus server certificates, all files in the given directory.
struct TestPki {
  std::string ca_cert;
  std::string server_cert;  // SAN: DNS:localhost, IP:127.0.0.1
  std::string server_key;
  std::string wrong_cert;  // SAN: DNS:wrong.example only
  std::string wrong_key;
};
// Returns nullopt (and prints why) when the openssl CLI fails.
std::optional<TestPki> makeTestPki(const TempDir& dir);

}  // namespace cosp::test
