// ConnectionThreads (the worker's connection threads) and ClientConnection, on socketpairs.
#include "worker/http/connection_threads.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/harness/eventually.h"
#include "worker/http/client_connection.h"

using cosp::test::eventually;
using cosp::worker::ClientConnection;
using cosp::worker::ConnectionThreads;
using namespace std::chrono_literals;

namespace {

// One connected pair: `server` goes to the pool, `peer` stays with the test.
struct Pair {
  std::unique_ptr<ClientConnection> server;
  int peer = -1;
  Pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("socketpair");
    server = std::make_unique<ClientConnection>(fds[0], "local");
    peer = fds[1];
  }
  ~Pair() {
    if (peer >= 0) ::close(peer);
  }
  // What the pool's side did to the connection, seen from the peer: its first byte, or EOF.
  std::string readOne(int timeout_ms = 5000) const {
    pollfd p{peer, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return "timeout";
    char c;
    ssize_t n = ::recv(peer, &c, 1, 0);
    return n == 1 ? std::string(1, c) : "eof";
  }
};

// Holds every serve() call until release(), counting how many run at once.
class Gate {
 public:
  void enter() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++inside_;
    max_inside_ = std::max(max_inside_, inside_);
    cv_.wait_for(lock, 10s, [this] { return open_; });
    --inside_;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  int inside() {
    std::lock_guard<std::mutex> lock(mutex_);
    return inside_;
  }
  int maxInside() {
    std::lock_guard<std::mutex> lock(mutex_);
    return max_inside_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int inside_ = 0;
  int max_inside_ = 0;
  bool open_ = false;
};

void sendX(ClientConnection& connection) { ASSERT_EQ(::send(connection.fd(), "x", 1, MSG_NOSIGNAL), 1); }

ConnectionThreads::Options smallPool(int max_threads, int max_queued) {
  ConnectionThreads::Options o;
  o.max_threads = max_threads;
  o.max_queued = max_queued;
  o.stack_size = 128 * 1024;
  o.idle_exit = 100ms;
  return o;
}

// Serves a connection by writing one byte, after the gate opens.
ConnectionThreads::Serve answerAfter(Gate& gate) {
  return [&gate](std::unique_ptr<ClientConnection>& connection) {
    gate.enter();
    sendX(*connection);
  };
}

}  // namespace

TEST(ConnectionThreads, ABurstGetsOneThreadPerConnectionAndAllAreServed) {
  Gate gate;
  ConnectionThreads pool(smallPool(16, 16), answerAfter(gate));
  std::vector<std::unique_ptr<Pair>> pairs;
  for (int i = 0; i < 10; ++i) {
    pairs.push_back(std::make_unique<Pair>());
    ASSERT_TRUE(pool.submit(pairs.back()->server));
  }
  // All ten run at once: none waits behind another.
  ASSERT_TRUE(eventually([&] { return gate.inside() == 10; }, 5s)) << gate.inside();
  EXPECT_EQ(pool.stats().threads, 10);
  EXPECT_EQ(pool.stats().queued, 0u);
  gate.release();
  for (auto& p : pairs) EXPECT_EQ(p->readOne(), "x");
}

TEST(ConnectionThreads, IdleThreadsAreReusedThenLeaveByThemselves) {
  std::atomic<int> served{0};
  ConnectionThreads pool(smallPool(16, 16), [&](std::unique_ptr<ClientConnection>& connection) {
    ++served;
    sendX(*connection);
  });
  Pair first;
  ASSERT_TRUE(pool.submit(first.server));
  ASSERT_EQ(first.readOne(), "x");
  ASSERT_TRUE(eventually([&] { return pool.stats().idle == 1; }, 5s));
  Pair second;  // taken by the idle thread: no second thread
  ASSERT_TRUE(pool.submit(second.server));
  ASSERT_EQ(second.readOne(), "x");
  EXPECT_EQ(pool.stats().threads, 1);
  // After idle_exit without work the thread is gone, and a new connection starts a new one.
  ASSERT_TRUE(eventually([&] { return pool.stats().threads == 0; }, 5s)) << pool.stats().threads;
  Pair third;
  ASSERT_TRUE(pool.submit(third.server));
  EXPECT_EQ(third.readOne(), "x");
  EXPECT_EQ(served.load(), 3);
}

TEST(ConnectionThreads, BeyondMaxThreadsConnectionsQueueAndBeyondTheQueueAreRefused) {
  Gate gate;
  ConnectionThreads pool(smallPool(2, 2), answerAfter(gate));
  std::vector<std::unique_ptr<Pair>> pairs;
  for (int i = 0; i < 4; ++i) {
    pairs.push_back(std::make_unique<Pair>());
    ASSERT_TRUE(pool.submit(pairs.back()->server)) << i;
  }
  ASSERT_TRUE(eventually([&] { return gate.inside() == 2; }, 5s));
  EXPECT_EQ(pool.stats().threads, 2);
  EXPECT_EQ(pool.stats().queued, 2u);
  Pair refused;
  EXPECT_FALSE(pool.submit(refused.server));  // the caller keeps it
  gate.release();
  for (auto& p : pairs) EXPECT_EQ(p->readOne(), "x");
  EXPECT_EQ(gate.maxInside(), 2);
}

TEST(ConnectionThreads, AnExceptionInServeEndsOnlyThatConnection) {
  std::atomic<int> calls{0};
  ConnectionThreads pool(smallPool(1, 4), [&](std::unique_ptr<ClientConnection>& connection) {
    if (calls++ == 0) throw std::runtime_error("boom");
    sendX(*connection);
  });
  Pair failing;
  ASSERT_TRUE(pool.submit(failing.server));
  failing.server.reset();  // the pool holds the only owner: when it drops it, the connection closes
  EXPECT_EQ(failing.readOne(), "eof");
  Pair next;
  ASSERT_TRUE(pool.submit(next.server));
  EXPECT_EQ(next.readOne(), "x");
}

TEST(ConnectionThreads, DestructionClosesQueuedConnectionsAndWaitsForRunningOnes) {
  Gate gate;
  Pair running;
  Pair queued;
  std::string queued_saw;
  std::thread opener;
  {
    ConnectionThreads pool(smallPool(1, 4), answerAfter(gate));
    ASSERT_TRUE(pool.submit(running.server));
    ASSERT_TRUE(pool.submit(queued.server));
    running.server.reset();
    queued.server.reset();
    ASSERT_TRUE(eventually([&] { return gate.inside() == 1; }, 5s));
    // The queued connection closing shows the destructor has begun; only then may the running
    // call finish, so the destructor must have waited for it.
    opener = std::thread([&] {
      queued_saw = queued.readOne();
      gate.release();
    });
  }
  opener.join();
  EXPECT_EQ(queued_saw, "eof");        // dropped unserved
  EXPECT_EQ(running.readOne(0), "x");  // finished before the destructor returned
}

TEST(ClientConnection, ReadsWithADeadlineAndSeesTheClientsEndOfFile) {
  Pair pair;
  ClientConnection& c = *pair.server;
  auto start = ClientConnection::Clock::now();
  EXPECT_EQ(c.readUntil(start + 50ms), ClientConnection::ReadResult::WouldBlock);
  EXPECT_GE(ClientConnection::Clock::now() - start, 50ms);
  ASSERT_EQ(::send(pair.peer, "GET", 3, 0), 3);
  EXPECT_EQ(c.readUntil(ClientConnection::Clock::now() + 5s), ClientConnection::ReadResult::Data);
  EXPECT_EQ(c.buffer(), "GET");
  c.consume(2);
  EXPECT_EQ(c.buffer(), "T");
  ::shutdown(pair.peer, SHUT_WR);  // half-close: the client still reads
  EXPECT_EQ(c.readUntil(ClientConnection::Clock::now() + 5s), ClientConnection::ReadResult::Eof);
  EXPECT_TRUE(c.peerClosed());
  EXPECT_TRUE(c.writeAll("ok", ClientConnection::Clock::now() + 1s));
  EXPECT_EQ(pair.readOne(), "o");
}

TEST(ClientConnection, AWriteToAClientThatStopsReadingEndsAtItsOneDeadline) {
  Pair pair;
  int small = 4096;
  ::setsockopt(pair.server->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(pair.peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::string big(4 * 1024 * 1024, 'x');
  auto start = ClientConnection::Clock::now();
  EXPECT_FALSE(pair.server->writeAll(big, start + 200ms));
  auto took = ClientConnection::Clock::now() - start;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
}

TEST(ClientConnection, FindHeadEndSearchesOnlyWhatIsNew) {
  using cosp::worker::findHeadEnd;
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
  EXPECT_EQ(findHeadEnd(head, 0), head.size() - 4);
  EXPECT_EQ(findHeadEnd(head.substr(0, 20), 0), std::string::npos);
  // A terminator split across two reads is still found when the search resumes near the end.
  EXPECT_EQ(findHeadEnd(head, 25), head.size() - 4);
}
