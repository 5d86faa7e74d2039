// UpstreamPool against scripted raw HTTP servers: the wire-level corner cases a
// real server produces rarely but a client must survive, and the cookie jar and the header rules
// as the pool meets them on the wire.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/harness/eventually.h"
#include "tests/support/harness/scripted_server.h"
#include "worker/upstream/header_rules.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {
namespace {

using namespace std::chrono_literals;
using test::ScriptedServer;

UpstreamSettings settingsFor(const ScriptedServer& server) {
  UpstreamSettings s;
  s.base_url = server.url();
  s.connect_timeout = 2000ms;
  s.idle_timeout = 3000ms;
  return s;
}

UpstreamRequestSpec post() {
  UpstreamRequestSpec s;
  s.path = "/responses";
  s.body = "{}";
  return s;
}

std::string readBody(UpstreamExchange& ex) { return ex.readAll(1 << 20, 3s); }

TEST(UpstreamRawServerTest, StaleKeepAliveConnectionIsRetriedTransparently) {
  // Connection 0 answers once, then reads the next request and closes without a
  // byte: the race where the server timed out the idle connection just as we
  // reused it. Connection 1 answers normally.
  std::atomic<int> second_requests{0};
  ScriptedServer server([&](int fd, int index) {
    if (index == 0) {
      if (test::readHttpRequest(fd, 3s).empty()) return;
      test::writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none");
      if (!test::readHttpRequest(fd, 3s).empty()) second_requests++;
      return;  // closes
    }
    if (test::readHttpRequest(fd, 3s).empty()) return;
    test::writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo");
    test::waitPeerClosed(fd, 3s);
  });
  UpstreamPool pool(settingsFor(server));
  {
    auto ex = pool.send(post());
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_EQ(readBody(**ex), "one");
  }
  ASSERT_EQ(pool.stats().idle, 1u);
  {
    auto ex = pool.send(post());
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_FALSE((*ex)->reusedConnection());
    EXPECT_EQ(readBody(**ex), "two");
  }
  EXPECT_EQ(second_requests.load(), 1);
  EXPECT_EQ(pool.stats().stale_retries, 1u);
  EXPECT_EQ(pool.stats().connections_opened, 2u);
  EXPECT_EQ(server.connections(), 2);
}

TEST(UpstreamRawServerTest, FreshConnectionClosedBeforeHeadIsNotRetried) {
  ScriptedServer server([](int fd, int) { test::readHttpRequest(fd, 3s); });
  UpstreamPool pool(settingsFor(server));
  auto ex = pool.send(post());
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::ResetBeforeHead);
  EXPECT_TRUE(ex.error().request_sent);
  EXPECT_EQ(pool.stats().stale_retries, 0u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(UpstreamRawServerTest, ClosedIdleConnectionIsDiscardedAtCheckout) {
  std::atomic<bool> first_closed{false};
  ScriptedServer server([&](int fd, int index) {
    if (test::readHttpRequest(fd, 3s).empty()) return;
    test::writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    if (index == 0) {
      ::shutdown(fd, SHUT_RDWR);  // idle keep-alive timeout on the server side
      first_closed = true;
      return;
    }
    test::waitPeerClosed(fd, 3s);
  });
  UpstreamPool pool(settingsFor(server));
  {
    auto ex = pool.send(post());
    ASSERT_TRUE(ex);
    EXPECT_EQ(readBody(**ex), "ok");
  }
  ASSERT_TRUE(test::eventually([&] { return first_closed.load(); }, 3s));
  auto ex = pool.send(post());
  ASSERT_TRUE(ex) << ex.error().message;
  EXPECT_EQ(readBody(**ex), "ok");
  EXPECT_EQ(server.connections(), 2);
}

TEST(UpstreamRawServerTest, SkipsInformationalResponses) {
  ScriptedServer server([](int fd, int) {
    if (test::readHttpRequest(fd, 3s).empty()) return;
    test::writeAll(fd,
                   "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
                   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nok");
    test::waitPeerClosed(fd, 3s);
  });
  UpstreamPool pool(settingsFor(server));
  auto ex = pool.send(post());
  ASSERT_TRUE(ex) << ex.error().message;
  EXPECT_EQ((*ex)->head().status, 200);
  EXPECT_EQ(*(*ex)->head().header("x-final"), "yes");
  EXPECT_EQ(readBody(**ex), "ok");
}

TEST(UpstreamRawServerTest, ChunkedBodyWithExtensionsAndTrailersAcrossWrites) {
  ScriptedServer server([](int fd, int) {
    for (int i = 0; i < 2; ++i) {
      if (test::readHttpRequest(fd, 3s).empty()) return;
      test::writeAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=x\r");
      test::writeAll(fd, "\nhel");
      test::writeAll(fd, "lo\r\n");
      test::writeAll(fd, "6\r\n world\r\n0\r\nX-Trailer: t\r\n");
      test::writeAll(fd, "\r\n");
    }
    test::waitPeerClosed(fd, 3s);
  });
  UpstreamPool pool(settingsFor(server));
  for (int i = 0; i < 2; ++i) {
    auto ex = pool.send(post());
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_EQ(readBody(**ex), "hello world");
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(UpstreamRawServerTest, GarbageIsABadResponse) {
  ScriptedServer server([](int fd, int) {
    if (test::readHttpRequest(fd, 3s).empty()) return;
    test::writeAll(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  });
  UpstreamPool pool(settingsFor(server));
  auto ex = pool.send(post());
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::BadResponse);
}

TEST(UpstreamRawServerTest, ConflictingLengthsAreABadResponse) {
  ScriptedServer server([](int fd, int) {
    if (test::readHttpRequest(fd, 3s).empty()) return;
    test::writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok");
    test::waitPeerClosed(fd, 3s);
  });
  UpstreamPool pool(settingsFor(server));
  auto ex = pool.send(post());
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::BadResponse);
}

TEST(UpstreamRawServerTest, BadChunkIsAProtocolError) {
  ScriptedServer server([](int fd, int) {
    if (test::readHttpRequest(fd, 3s).empty()) return;
    test::writeAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    test::waitPeerClosed(fd, 3s);
  });
  UpstreamPool pool(settingsFor(server));
  auto ex = pool.send(post());
  ASSERT_TRUE(ex);
  std::string body;
  EXPECT_EQ((*ex)->read(body, 2s), ReadStatus::Error);
  EXPECT_EQ((*ex)->error().kind, ReadError::Kind::Protocol);
}

TEST(UpstreamRawServerTest, Http10ResponseIsNotReused) {
  ScriptedServer server([](int fd, int) {
    if (test::readHttpRequest(fd, 3s).empty()) return;
    test::writeAll(fd, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    test::waitPeerClosed(fd, 3s);
  });
  UpstreamPool pool(settingsFor(server));
  {
    auto ex = pool.send(post());
    ASSERT_TRUE(ex);
    EXPECT_EQ(readBody(**ex), "ok");
  }
  EXPECT_EQ(pool.stats().idle, 0u);
}

TEST(UpstreamRawServerTest, LargeRequestBodyIsSentCompletely) {
  std::atomic<std::size_t> got{0};
  ScriptedServer server([&](int fd, int) {
    const std::string req = test::readHttpRequest(fd, 5s);
    got = req.size() - (req.find("\r\n\r\n") + 4);
    test::writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    test::waitPeerClosed(fd, 3s);
  });
  UpstreamPool pool(settingsFor(server));
  auto s = post();
  s.body = std::string(3 * 1024 * 1024, 'a');
  auto ex = pool.send(s);
  ASSERT_TRUE(ex) << ex.error().message;
  EXPECT_EQ((*ex)->head().status, 200);
  EXPECT_TRUE((*ex)->finished());
  EXPECT_EQ(got.load(), s.body.size());
}

// The cookie jar (cookie_jar.h) and the response header rules (header_rules.h) on the wire.

// The pool stores what a response sets and sends it on its next request, on any connection.
TEST(CookieJar, ThePoolSendsTheKeptCookiesBackUpstream) {
  std::mutex mu;
  std::vector<std::string> requests;
  ScriptedServer server([&](int fd, int) {
    for (;;) {
      const std::string request = test::readHttpRequest(fd, 3s);
      if (request.empty()) return;
      std::size_t n;
      {
        std::lock_guard<std::mutex> lock(mu);
        requests.push_back(request);
        n = requests.size();
      }
      const std::string cookies = n == 1 ? "Set-Cookie: __cf_bm=bm1; path=/; HttpOnly\r\n"
                                           "Set-Cookie: tracking=no; path=/\r\n"
                                           "Set-Cookie: _cfuvid=uv1; path=/\r\n"
                                         : "Set-Cookie: __cf_bm=bm2; path=/\r\n";
      if (!test::writeAll(fd, "HTTP/1.1 200 OK\r\n" + cookies + "Content-Length: 2\r\n\r\nok")) return;
    }
  });
  UpstreamPool pool(settingsFor(server));
  for (int i = 0; i < 3; ++i) {
    auto ex = pool.send(post());
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_EQ((*ex)->readAll(1024, 3000ms), "ok");
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].find("Cookie:"), std::string::npos) << requests[0];
  EXPECT_NE(requests[1].find("\r\nCookie: __cf_bm=bm1; _cfuvid=uv1\r\n"), std::string::npos) << requests[1];
  EXPECT_NE(requests[2].find("\r\nCookie: __cf_bm=bm2; _cfuvid=uv1\r\n"), std::string::npos) << requests[2];
  EXPECT_EQ(requests[2].find("tracking"), std::string::npos);
}

TEST(HeaderRules, ABareCrOrNulFromTheBackendNeverReachesTheSelection) {
  // The wire as a broken (or hostile) backend sends it: the head parser keeps a bare CR or a
  // NUL inside a value, so the selection is what stands between it and the client.
  const std::string head = std::string("HTTP/1.1 200 OK\r\n") +
                           "x-codex-primary-used-percent: 7\r\n"
                           "x-codex-cr: a\rInjected: yes\r\n" +
                           std::string("x-codex-nul: 1\0 2\r\n", 19) +
                           "x-codex-esc: \x1b[0m\r\n"
                           "Content-Length: 0\r\n\r\n";
  ScriptedServer server([&](int fd, int) {
    if (test::readHttpRequest(fd, 3s).empty()) return;
    test::writeAll(fd, head);
    test::waitPeerClosed(fd, 3s);
  });
  UpstreamPool pool(settingsFor(server));
  auto ex = pool.send(post());
  ASSERT_TRUE(ex) << ex.error().message;
  ASSERT_EQ((*ex)->head().headers.size(), 5u);
  EXPECT_EQ(*(*ex)->head().header("x-codex-cr"), "a\rInjected: yes");
  const CodexHeaderSelection s = selectCodexHeaders((*ex)->head().headers);
  EXPECT_EQ(s.headers, (HeaderList{{"x-codex-primary-used-percent", "7"}}));
  EXPECT_EQ(s.dropped, 3u);
}

}  // namespace
}  // namespace cosp::worker
