#include "tests/support/harness/test_pki.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace cosp::test {

namespace {

bool runShell(const std::string& cmd) {
  const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  if (rc != 0) std::fprintf(stderr, "command failed (%d): %s\n", rc, cmd.c_str());
  return rc == 0;
}

bool makeLeaf(const TempDir& dir, const std::string& name, const std::string& san) {
  std::ofstream(dir.file(name + ".ext")) << "subjectAltName=" << san
                                         << "\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                                         << "extendedKeyUsage=serverAuth\n";
  return runShell("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name +
                  " -keyout " + dir.file(name + ".key") + " -out " + dir.file(name + ".csr")) &&
         runShell("openssl x509 -req -days 2 -in " + dir.file(name + ".csr") + " -CA " + dir.file("ca.pem") +
                  " -CAkey " + dir.file("ca.key") + " -CAcreateserial -out " + dir.file(name + ".pem") + " -extfile " +
                  dir.file(name + ".ext"));
}

}  // namespace

std::optional<TestPki> makeTestPki(const TempDir& dir) {
  if (!runShell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                "-subj /CN=cosp-test-ca -keyout " +
                dir.file("ca.key") + " -out " + dir.file("ca.pem"))) {
    return std::nullopt;
  }
  if (!makeLeaf(dir, "localhost", "DNS:localhost,IP:127.0.0.1")) return std::nullopt;
  if (!makeLeaf(dir, "wrong", "DNS:wrong.example")) return std::nullopt;
  TestPki pki;
  pki.ca_cert = dir.file("ca.pem");
  pki.server_cert = dir.file("localhost.pem");
  pki.server_key = dir.file("localhost.key");
  pki.wrong_cert = dir.file("wrong.pem");
  pki.wrong_key = dir.file("wrong.key");
  return pki;
}

}  // namespace cosp::test
