// cookie_jar: which Set-Cookie headers of the backend are kept, for how long, and how they go back
// upstream (that the pool sends them on its next request: upstream_raw_server_test.cpp).
#include "worker/upstream/cookie_jar.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace cosp::worker {
namespace {

using namespace std::chrono_literals;
using Clock = CookieJar::Clock;

const Clock::time_point kNow = Clock::from_time_t(1761300000);  // 2025-10-24 10:00:00 UTC

TEST(CookieJar, OnlyTheCloudflareNamesAreAllowed) {
  for (const char* name : {"__cf_bm", "__cflb", "__cfruid", "_cfuvid", "cf_clearance", "cf_chl_rc_m", "cf_chl_2"}) {
    EXPECT_TRUE(CookieJar::isAllowedName(name)) << name;
  }
  for (const char* name : {"cf_chl_", "session", "__Secure-next-auth.session-token", "__cf_bm2", "CF_CLEARANCE", ""}) {
    EXPECT_FALSE(CookieJar::isAllowedName(name)) << name;
  }
}

TEST(CookieJar, KeepsAllowedCookiesAndSendsThemBackAsOneHeader) {
  CookieJar jar;
  jar.storeFrom({{"Content-Type", "text/event-stream"},
                 {"Set-Cookie",
                  "__cf_bm=abc.DEF-123; path=/; expires=Fri, 24-Oct-25 10:30:00 GMT; domain=.chatgpt.com; "
                  "HttpOnly; Secure; SameSite=None"},
                 {"set-cookie", "_cfuvid=u1-xyz; path=/; domain=.chatgpt.com; HttpOnly; Secure; SameSite=None"},
                 {"Set-Cookie", "oai-did=1234; path=/"},
                 {"Set-Cookie", "__Secure-next-auth.session-token=secret; path=/"}},
                kNow);
  EXPECT_EQ(jar.size(), 2u);
  EXPECT_EQ(*jar.cookieHeader(kNow), "__cf_bm=abc.DEF-123; _cfuvid=u1-xyz");
  // __cf_bm expires at 10:30; the session cookie _cfuvid stays.
  EXPECT_EQ(*jar.cookieHeader(kNow + 31min), "_cfuvid=u1-xyz");
  EXPECT_EQ(jar.size(), 1u);
}

TEST(CookieJar, NewerReplacesOlderAndMaxAgeWinsOverExpires) {
  CookieJar jar;
  ASSERT_TRUE(jar.store("cf_clearance=one; Max-Age=60", kNow));
  ASSERT_TRUE(jar.store("cf_clearance=two; Expires=Fri, 24 Oct 2025 09:00:00 GMT; Max-Age=600", kNow));
  EXPECT_EQ(*jar.cookieHeader(kNow + 120s), "cf_clearance=two");  // Max-Age won over the past Expires
  EXPECT_EQ(*jar.cookieHeader(kNow + 601s), "");
}

// The header is built when the jar changes: a snapshot handed out stays as it was, and a cookie
// re-sent unchanged with a later expiry lives to that one.
TEST(CookieJar, TheHeaderIsASnapshotRebuiltOnlyOnChange) {
  CookieJar jar;
  ASSERT_TRUE(jar.store("__cf_bm=a; Max-Age=60", kNow));
  const auto first = jar.cookieHeader(kNow);
  EXPECT_EQ(jar.cookieHeader(kNow + 1s), first);  // nothing changed: the same string
  ASSERT_TRUE(jar.store("__cf_bm=a; Max-Age=600", kNow));
  EXPECT_EQ(*jar.cookieHeader(kNow + 120s), "__cf_bm=a");
  ASSERT_TRUE(jar.store("__cf_bm=b; Max-Age=600", kNow + 120s));
  EXPECT_EQ(*jar.cookieHeader(kNow + 121s), "__cf_bm=b");
  EXPECT_EQ(*first, "__cf_bm=a");
  EXPECT_EQ(*jar.cookieHeader(kNow + 721s), "");
}

TEST(CookieJar, MaxAgeZeroOrAPastExpiresRemovesTheCookie) {
  CookieJar jar;
  ASSERT_TRUE(jar.store("__cflb=lb1", kNow));
  ASSERT_TRUE(jar.store("__cfruid=r1", kNow));
  ASSERT_TRUE(jar.store("__cflb=; Max-Age=0", kNow));
  ASSERT_TRUE(jar.store("__cfruid=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT", kNow));
  EXPECT_EQ(jar.size(), 0u);
  EXPECT_EQ(*jar.cookieHeader(kNow), "");
  ASSERT_TRUE(jar.store("__cflb=lb2; Max-Age=-1", kNow));  // a removal of nothing keeps nothing
  EXPECT_EQ(jar.size(), 0u);
}

TEST(CookieJar, MalformedOrOverlongCookiesAreIgnored) {
  CookieJar jar;
  EXPECT_FALSE(jar.store("__cf_bm", kNow));                 // no '='
  EXPECT_FALSE(jar.store("__cf_bm=a b", kNow));             // a space inside the value
  EXPECT_FALSE(jar.store("__cf_bm=a,b", kNow));             // a comma
  EXPECT_FALSE(jar.store("__cf_bm=a\rCookie: x=1", kNow));  // header injection
  EXPECT_FALSE(jar.store(std::string("__cf_bm=a\0b", 11), kNow));
  EXPECT_FALSE(jar.store("__cf_bm=" + std::string(CookieJar::kMaxValueBytes + 1, 'v'), kNow));
  EXPECT_FALSE(jar.store("cf_chl_" + std::string(CookieJar::kMaxNameBytes, 'n') + "=1", kNow));
  EXPECT_EQ(jar.size(), 0u);
  EXPECT_TRUE(jar.store("__cf_bm=\"quoted\"; Max-Age=bogus", kNow));  // a bad Max-Age is ignored
  EXPECT_TRUE(jar.store("__cfruid=" + std::string(CookieJar::kMaxValueBytes, 'v'), kNow));
  EXPECT_EQ(jar.cookieHeader(kNow + 24h)->substr(0, 18), "__cf_bm=\"quoted\"; ");
}

TEST(CookieJar, IsBoundedInCount) {
  CookieJar jar;
  for (std::size_t i = 0; i < CookieJar::kMaxCookies + 10; ++i) {
    jar.store("cf_chl_" + std::to_string(i) + "=v; Max-Age=" + (i < 4 ? "10" : "3600"), kNow);
  }
  EXPECT_EQ(jar.size(), CookieJar::kMaxCookies);
  // Once some expired, room for new ones again.
  EXPECT_TRUE(jar.store("__cf_bm=fresh", kNow + 60s));
  EXPECT_NE(jar.cookieHeader(kNow + 60s)->find("__cf_bm=fresh"), std::string::npos);
}

TEST(CookieJar, ParsesTheDateFormsCookiesUse) {
  const auto expected = Clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parseCookieDate("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
  EXPECT_EQ(parseCookieDate("Sun, 06-Nov-1994 08:49:37 GMT"), expected);
  EXPECT_EQ(parseCookieDate("Sun, 06-Nov-94 08:49:37 GMT"), expected);
  EXPECT_EQ(parseCookieDate("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
  EXPECT_EQ(parseCookieDate("Sun Nov  6 08:49:37 1994"), expected);
  EXPECT_EQ(parseCookieDate("Fri, 24-Oct-25 10:30:00 GMT"), kNow + 30min);
  EXPECT_FALSE(parseCookieDate("tomorrow").has_value());
  EXPECT_FALSE(parseCookieDate("Sun, 06 Nov 1994 08:49:37 PST").has_value());
}

TEST(CookieJar, IsSafeToUseFromManyThreads) {
  CookieJar jar;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&jar, t] {
      for (int i = 0; i < 500; ++i) {
        jar.store("cf_chl_" + std::to_string((t * 500 + i) % 40) + "=v" + std::to_string(i), kNow);
        jar.store("__cf_bm=t" + std::to_string(t), kNow);
        EXPECT_FALSE(jar.cookieHeader(kNow)->empty());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(jar.size(), CookieJar::kMaxCookies);
}

}  // namespace
}  // namespace cosp::worker
