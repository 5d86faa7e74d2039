// UpstreamPool against scripted raw HTTP servers: the wire-level corner cases a
// real server produces rarely but a client must survive.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>

#include "tests/support/harness/eventually.h"
#include "tests/support/harness/scripted_server.h"
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

}  // namespace
}  // namespace cosp::worker
