// ConnectionThreads (the worker's connection threads) and LeanStreamSocketImpl, on socketpairs.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/integration/harness/eventually.h"
#include "worker/http/connection_threads.h"
#include "worker/http/lean_socket.h"

using cosp::test::eventually;
using cosp::worker::ConnectionThreads;
using cosp::worker::LeanStreamSocketImpl;
using namespace std::chrono_literals;

namespace {

// One connected pair: `server` goes to the pool, `peer` stays with the test.
struct Pair {
  Poco::Net::StreamSocket server;
  int peer = -1;
  Pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("socketpair");
    server = Poco::Net::StreamSocket(new LeanStreamSocketImpl(fds[0]));
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
  return [&gate](Poco::Net::StreamSocket& socket) {
    gate.enter();
    socket.sendBytes("x", 1);
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
  ConnectionThreads pool(smallPool(16, 16), [&](Poco::Net::StreamSocket& socket) {
    ++served;
    socket.sendBytes("x", 1);
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
  ConnectionThreads pool(smallPool(1, 4), [&](Poco::Net::StreamSocket& socket) {
    if (calls++ == 0) throw std::runtime_error("boom");
    socket.sendBytes("x", 1);
  });
  Pair failing;
  ASSERT_TRUE(pool.submit(failing.server));
  failing.server = Poco::Net::StreamSocket();  // the pool's copy is the last: dropping it closes
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
    running.server = Poco::Net::StreamSocket();
    queued.server = Poco::Net::StreamSocket();
    ASSERT_TRUE(eventually([&] { return gate.inside() == 1; }, 5s));
    // The queued connection closing shows the destructor has begun; only then may the running
    // call finish, so the destructor must have waited for it.
    opener = std::thread([&] {
      queued_saw = queued.readOne();
      gate.release();
    });
  }
  opener.join();
  EXPECT_EQ(queued_saw, "eof");          // dropped unserved
  EXPECT_EQ(running.readOne(0), "x");    // finished before the destructor returned
}

TEST(LeanStreamSocket, PollReportsReadWriteAndHangUpLikePocos) {
  Pair pair;
  Poco::Net::StreamSocket& socket = pair.server;
  EXPECT_FALSE(socket.poll(Poco::Timespan(0, 20 * 1000), Poco::Net::Socket::SELECT_READ));
  EXPECT_TRUE(socket.poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_WRITE));
  ASSERT_EQ(::send(pair.peer, "y", 1, 0), 1);
  EXPECT_TRUE(socket.poll(Poco::Timespan(1, 0), Poco::Net::Socket::SELECT_READ));
  char c = 0;
  EXPECT_EQ(socket.receiveBytes(&c, 1), 1);
  EXPECT_EQ(c, 'y');
  // The peer's hang-up reads as ready, as with POCO's own poll.
  ::close(pair.peer);
  pair.peer = -1;
  EXPECT_TRUE(socket.poll(Poco::Timespan(1, 0), Poco::Net::Socket::SELECT_READ));
  EXPECT_EQ(socket.receiveBytes(&c, 1), 0);
}
