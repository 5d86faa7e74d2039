#include "common/net/url.h"

#include <gtest/gtest.h>

namespace cosp::common {
namespace {

TEST(UrlTest, ParsesHttpsWithDefaultPortAndPath) {
  auto u = parseUrl("https://ChatGPT.com/backend-api/codex");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "chatgpt.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/backend-api/codex");
  EXPECT_TRUE(u->isHttps());
  EXPECT_EQ(u->authority(), "chatgpt.com");
  EXPECT_EQ(u->hostPort(), "chatgpt.com:443");
  EXPECT_EQ(u->origin(), "https://chatgpt.com");
  EXPECT_EQ(u->toString(), "https://chatgpt.com/backend-api/codex");
}

TEST(UrlTest, ParsesExplicitPortAndQueryDropsFragment) {
  auto u = parseUrl("http://127.0.0.1:8080/a/b?x=1#frag");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/a/b?x=1");
  EXPECT_EQ(u->authority(), "127.0.0.1:8080");
}

TEST(UrlTest, SchemeIsCaseInsensitiveAndWhitespaceTrimmed) {
  auto u = parseUrl("  HTTP://example.com  ");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "");
}

TEST(UrlTest, ParsesIpv6Literal) {
  auto u = parseUrl("https://[::1]:8443/x");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8443);
  EXPECT_TRUE(u->isIpv6Literal());
  EXPECT_EQ(u->authority(), "[::1]:8443");
  EXPECT_EQ(u->hostPort(), "[::1]:8443");
  auto d = parseUrl("http://[fe80::1]");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->authority(), "[fe80::1]");
  EXPECT_EQ(d->port, 80);
}

TEST(UrlTest, QueryWithoutPathGetsSlash) {
  auto u = parseUrl("http://h?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->path, "/?x=1");
}

TEST(UrlTest, RejectsBadInput) {
  EXPECT_FALSE(parseUrl(""));
  EXPECT_FALSE(parseUrl("chatgpt.com/backend"));
  EXPECT_FALSE(parseUrl("ftp://example.com/"));
  EXPECT_FALSE(parseUrl("https://"));
  EXPECT_FALSE(parseUrl("https://:443/"));
  EXPECT_FALSE(parseUrl("https://user:pw@example.com/"));
  EXPECT_FALSE(parseUrl("https://example.com:0/"));
  EXPECT_FALSE(parseUrl("https://example.com:65536/"));
  EXPECT_FALSE(parseUrl("https://example.com:12a/"));
  EXPECT_FALSE(parseUrl("https://example.com:/"));
  EXPECT_FALSE(parseUrl("https://exa mple.com/"));
  EXPECT_FALSE(parseUrl("https://[::1/"));
  EXPECT_FALSE(parseUrl("https://[::1]x/"));
  EXPECT_FALSE(parseUrl("https://example.com/a b"));
  auto e = parseUrl("gopher://x");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("gopher"), std::string::npos);
}

TEST(UrlTest, JoinPath) {
  EXPECT_EQ(joinUrlPath("/backend-api/codex", "/responses"), "/backend-api/codex/responses");
  EXPECT_EQ(joinUrlPath("/backend-api/codex/", "/responses"), "/backend-api/codex/responses");
  EXPECT_EQ(joinUrlPath("", "/responses"), "/responses");
  EXPECT_EQ(joinUrlPath("/", "responses"), "/responses");
  EXPECT_EQ(joinUrlPath("/base", ""), "/base");
  EXPECT_EQ(joinUrlPath("", ""), "/");
  EXPECT_EQ(joinUrlPath("/base", "?q=1"), "/base?q=1");
}

}  // namespace
}  // namespace cosp::common
