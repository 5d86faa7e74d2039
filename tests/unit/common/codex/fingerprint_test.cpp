#include "common/codex/fingerprint.h"

#include <gtest/gtest.h>

#include "common/version.h"

namespace cosp::common {
namespace {

TEST(CodexFingerprint, IsShapedLikeTheCliAndNamesTheProxy) {
  const HostDescription host{"Linux", "6.1.0-18-amd64", "x86_64"};
  const CodexFingerprint f = makeCodexFingerprint("codex_cli_rs", "0.169.0", host);
  EXPECT_EQ(f.originator, "codex_cli_rs");
  EXPECT_EQ(f.version, "0.169.0");
  EXPECT_EQ(f.user_agent,
            std::string("codex_cli_rs/0.169.0 (Linux 6.1.0-18-amd64; x86_64) codex-sub-proxy/") + kVersion);
}

TEST(CodexFingerprint, ThisHostIsHeaderSafe) {
  const HostDescription& host = thisHost();
  for (const std::string* s : {&host.os, &host.os_version, &host.arch}) {
    ASSERT_FALSE(s->empty());
    for (char c : *s) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f && c != '(' && c != ')' && c != ';') << *s;
    }
  }
  EXPECT_EQ(codexFingerprint("x", "1.2.3").user_agent.rfind("x/1.2.3 (" + host.os + " ", 0), 0u);
}

TEST(CodexFingerprint, RecognisesCodexClients) {
  EXPECT_TRUE(isCodexClientUserAgent("codex_cli_rs/0.169.0 (Debian 12; x86_64) xterm"));
  EXPECT_TRUE(isCodexClientUserAgent("codex_exec/0.169.0 (Linux; x86_64) dumb (codex_exec; 0.169.0)"));
  EXPECT_TRUE(isCodexClientUserAgent("codex-tui/1.0"));
  EXPECT_FALSE(isCodexClientUserAgent("OpenAI/Python 1.99.0"));
  EXPECT_FALSE(isCodexClientUserAgent("curl/7.88.1"));
  EXPECT_FALSE(isCodexClientUserAgent(""));
  EXPECT_FALSE(isCodexClientUserAgent("Codex_cli_rs/1"));  // the CLI's prefix is lower case
}

TEST(CodexFingerprint, VersionSyntax) {
  for (const char* ok : {"0.169.0", "1.0.0", "10.20.30-alpha.1", "0.1.2-rc1"}) EXPECT_TRUE(isCodexVersion(ok)) << ok;
  for (const char* bad : {"", "0.169", "latest", "0.169.0-", "1..2", "a.b.c", "0.169.0 ", "0.1.2-a b"}) {
    EXPECT_FALSE(isCodexVersion(bad)) << bad;
  }
}

}  // namespace
}  // namespace cosp::common
