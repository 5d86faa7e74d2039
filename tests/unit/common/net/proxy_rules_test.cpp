#include "common/net/proxy_rules.h"

#include <gtest/gtest.h>

namespace cosp::common {
namespace {

ProxyRules rules(std::string_view proxy, std::string_view no_proxy) {
  auto r = ProxyRules::parse(proxy, no_proxy);
  EXPECT_TRUE(r) << (r ? "" : r.error());
  return r ? r.value() : ProxyRules{};
}

TEST(ProxyRulesTest, NoProxyConfiguredMeansDirect) {
  auto r = rules("", "");
  EXPECT_FALSE(r.hasProxy());
  EXPECT_FALSE(r.proxyFor("chatgpt.com", 443));
}

TEST(ProxyRulesTest, ParsesProxyWithCredentials) {
  auto r = rules("http://us%40er:p%3Ass@Proxy.Corp:3128/", "");
  auto p = r.proxyFor("chatgpt.com", 443);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "proxy.corp");
  EXPECT_EQ(p->port, 3128);
  EXPECT_EQ(p->username, "us@er");
  EXPECT_EQ(p->password, "p:ss");
  EXPECT_TRUE(p->hasCredentials());
  EXPECT_EQ(p->hostPort(), "proxy.corp:3128");
  // base64("us@er:p:ss")
  EXPECT_EQ(p->basicAuthorization(), "Basic dXNAZXI6cDpzcw==");
}

TEST(ProxyRulesTest, ParsesBareHostPortAndDefaultPort) {
  auto bare = rules("10.0.0.5:8080", "");
  ASSERT_TRUE(bare.proxyFor("x.com", 443));
  EXPECT_EQ(bare.proxyFor("x.com", 443)->port, 8080);
  EXPECT_FALSE(bare.proxyFor("x.com", 443)->hasCredentials());
  EXPECT_EQ(bare.proxyFor("x.com", 443)->basicAuthorization(), "");
  auto defaulted = rules("http://proxy", "");
  EXPECT_EQ(defaulted.proxyFor("x.com", 443)->port, 80);
  auto v6 = rules("http://[fd00::1]:3128", "");
  EXPECT_EQ(v6.proxyFor("x.com", 443)->host, "fd00::1");
  EXPECT_EQ(v6.proxyFor("x.com", 443)->hostPort(), "[fd00::1]:3128");
}

TEST(ProxyRulesTest, RejectsBadProxies) {
  for (const char* bad : {"https://proxy:443", "socks5://proxy:1080", "proxy", "http://proxy:0", "http://proxy:99999",
                          "http://:3128", "http://proxy:3128/path", "http://u%zz:p@proxy:1", "http://[::1:3128"}) {
    auto r = ProxyRules::parse(bad, "");
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().rfind("HTTPS_PROXY", 0), 0u) << r.error();
    }
  }
}

TEST(ProxyRulesTest, NoProxyDomainMatchesHostAndSubdomains) {
  auto r = rules("http://p:1", "example.com, .corp.internal ,*.wild.org");
  EXPECT_FALSE(r.proxyFor("example.com", 443));
  EXPECT_FALSE(r.proxyFor("api.example.com", 443));
  EXPECT_FALSE(r.proxyFor("EXAMPLE.COM.", 443));
  EXPECT_TRUE(r.proxyFor("badexample.com", 443));
  EXPECT_TRUE(r.proxyFor("example.com.evil.net", 443));
  EXPECT_FALSE(r.proxyFor("corp.internal", 443));
  EXPECT_FALSE(r.proxyFor("a.b.corp.internal", 443));
  EXPECT_FALSE(r.proxyFor("x.wild.org", 443));
  EXPECT_FALSE(r.proxyFor("wild.org", 443));
  EXPECT_TRUE(r.proxyFor("chatgpt.com", 443));
}

TEST(ProxyRulesTest, NoProxyStarBypassesEverything) {
  auto r = rules("http://p:1", "*");
  EXPECT_FALSE(r.proxyFor("chatgpt.com", 443));
  EXPECT_FALSE(r.proxyFor("10.1.1.1", 80));
}

TEST(ProxyRulesTest, NoProxyHostPortMatchesOnlyThatPort) {
  auto r = rules("http://p:1", "internal.svc:8443,10.0.0.1:80");
  EXPECT_FALSE(r.proxyFor("internal.svc", 8443));
  EXPECT_TRUE(r.proxyFor("internal.svc", 443));
  EXPECT_FALSE(r.proxyFor("10.0.0.1", 80));
  EXPECT_TRUE(r.proxyFor("10.0.0.1", 443));
}

TEST(ProxyRulesTest, NoProxyIpsAndCidrs) {
  auto r = rules("http://p:1", "192.168.1.7, 10.0.0.0/8, ::1, [fd00::2]:443, fe80::/10");
  EXPECT_FALSE(r.proxyFor("192.168.1.7", 443));
  EXPECT_TRUE(r.proxyFor("192.168.1.8", 443));
  EXPECT_FALSE(r.proxyFor("10.200.3.4", 443));
  EXPECT_TRUE(r.proxyFor("11.0.0.1", 443));
  EXPECT_FALSE(r.proxyFor("::1", 443));
  EXPECT_FALSE(r.proxyFor("[::1]", 443));
  EXPECT_FALSE(r.proxyFor("fd00::2", 443));
  EXPECT_TRUE(r.proxyFor("fd00::2", 80));
  EXPECT_FALSE(r.proxyFor("fe80::abcd", 443));
  // An IP entry never matches a name (no DNS) and loopback is not implicit.
  EXPECT_TRUE(r.proxyFor("localhost", 443));
  EXPECT_TRUE(r.proxyFor("127.0.0.1", 443));
}

TEST(ProxyRulesTest, LoopbackIsProxiedUnlessListed) {
  auto r = rules("http://p:1", "");
  EXPECT_TRUE(r.proxyFor("127.0.0.1", 8080));
  auto listed = rules("http://p:1", "127.0.0.1,localhost");
  EXPECT_FALSE(listed.proxyFor("127.0.0.1", 8080));
  EXPECT_FALSE(listed.proxyFor("localhost", 8080));
}

TEST(ProxyRulesTest, BypassesWorksWithoutProxy) {
  auto r = rules("", "example.com");
  EXPECT_TRUE(r.bypasses("a.example.com", 1));
  EXPECT_FALSE(r.proxyFor("other.com", 1));
}

TEST(ProxyRulesTest, RejectsBadNoProxyEntries) {
  for (const char* bad : {"10.0.0.0/33", "::/129", "host:abc", "host:0", "bad/host", "[::1", "a b$c", "1.2.3.4/x"}) {
    auto r = ProxyRules::parse("http://p:1", bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().rfind("NO_PROXY", 0), 0u) << r.error();
    }
  }
}

TEST(ProxyRulesTest, UrlOverload) {
  auto r = rules("http://p:1", "chatgpt.com");
  auto direct = parseUrl("https://chatgpt.com/backend-api/codex");
  auto proxied = parseUrl("https://auth.openai.com");
  ASSERT_TRUE(direct && proxied);
  EXPECT_FALSE(r.proxyFor(*direct));
  EXPECT_TRUE(r.proxyFor(*proxied));
}

TEST(ProxyRulesTest, Base64) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64Encode("Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(base64Encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

}  // namespace
}  // namespace cosp::common
