// Process lifecycle on the real binaries, with real signals.
#include <Poco/JSON/Array.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"

using namespace cosp::test;
using namespace std::chrono_literals;

namespace {

// Clients that open a fresh connection per request until stopped, counting outcomes.
class ClientLoop {
 public:
  ClientLoop(int port, int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, port] {
        while (!stop_) {
          auto r = httpRequest(port, "GET", "/v1/models", {}, "", 5000);
          ++total_;
          if (!r.connected)
            ++refused_;
          else if (r.status == 200 && r.complete)
            ++ok_;
          else
            ++failed_;
        }
      });
    }
  }
  ~ClientLoop() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int total() const { return total_; }
  int ok() const { return ok_; }
  int refused() const { return refused_; }
  int failed() const { return failed_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> total_{0}, ok_{0}, refused_{0}, failed_{0};
  std::vector<std::thread> threads_;
};

}  // namespace

TEST(Lifecycle, KilledWorkerIsReplacedWithinOneSecond) {
  ProxyProcess proxy(ProxyProcess::Env{{"WORKERS", "2"}});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto before = proxy.workerPids();
  ASSERT_EQ(before.size(), 2u);

  ClientLoop loop(proxy.port(), 2);
  ASSERT_TRUE(eventually([&] { return loop.ok() > 50; }, 10s));
  auto killed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(before[0], SIGKILL), 0);
  bool replaced = eventually(
      [&] {
        auto now = proxy.workerPids();
        return now.size() == 2 && std::find(now.begin(), now.end(), before[0]) == now.end();
      },
      5s);
  auto replace_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at);
  ASSERT_TRUE(replaced) << proxy.stderrText();
  EXPECT_LT(replace_ms.count(), 1000 * kSanitizerSlowdown) << "replacement took " << replace_ms.count() << " ms";
  int after_kill = loop.total();
  ASSERT_TRUE(eventually([&] { return loop.total() > after_kill + 100; }, 10s));
  loop.stop();

  double success = static_cast<double>(loop.ok()) / loop.total();
  EXPECT_GE(success, 0.99) << loop.ok() << " of " << loop.total() << " succeeded";
  auto status = proxy.status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->getValue<int>("worker_restarts"), 1);
  EXPECT_NE(proxy.stderrText().find("\"event\":\"worker_died\""), std::string::npos);
}

TEST(Lifecycle, HupReplacesWorkersWithoutRefusingOrFailing) {
  ProxyProcess proxy(ProxyProcess::Env{{"WORKERS", "2"}});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto before = proxy.workerPids();
  ASSERT_EQ(before.size(), 2u);

  ClientLoop loop(proxy.port(), 3);
  ASSERT_TRUE(eventually([&] { return loop.ok() > 50; }, 10s));
  proxy.signal(SIGHUP);
  bool swapped = eventually(
      [&] {
        auto s = proxy.status();
        if (!s || s->getValue<std::string>("state") != "running" || s->getValue<int>("generation") != 2) return false;
        auto now = proxy.workerPids();
        if (now.size() != 2) return false;
        for (int pid : now) {
          if (std::find(before.begin(), before.end(), pid) != before.end()) return false;
        }
        return proxy.workerPids("draining").empty();
      },
      15s);
  int after_swap = loop.total();
  ASSERT_TRUE(eventually([&] { return loop.total() > after_swap + 50; }, 10s));
  loop.stop();
  ASSERT_TRUE(swapped) << proxy.stderrText();
  EXPECT_EQ(loop.refused(), 0);
  EXPECT_EQ(loop.failed(), 0);
  EXPECT_GT(loop.ok(), 100);
  // The old workers are gone for good.
  for (int pid : before) EXPECT_TRUE(eventually([pid] { return !processAlive(pid); }, 5s)) << pid;
}

TEST(Lifecycle, HupWithBadConfigKeepsServing) {
  TempDir conf;
  writeFile(conf.file("proxy.conf"), "workers = 2\n");
  ProxyProcess proxy(ProxyProcess::Env{{"WORKERS", "<unset>"}}, {"--config", conf.file("proxy.conf")});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto before = proxy.workerPids();
  writeFile(conf.file("proxy.conf"), "workers = many\n");
  proxy.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return proxy.stderrText().find("reload_rejected") != std::string::npos; }, 5s));
  EXPECT_NE(proxy.stderrText().find("WORKERS"), std::string::npos);
  EXPECT_EQ(proxy.workerPids(), before);
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/healthz").status, 200);

  // A good edit is applied by the next reload: three workers now.
  writeFile(conf.file("proxy.conf"), "workers = 3\n");
  proxy.signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return proxy.workerPids().size() == 3 && proxy.workerPids("draining").empty(); }, 15s))
      << proxy.stderrText();
}

TEST(Lifecycle, TermStopsWithExitZero) {
  ProxyProcess proxy;
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto workers = proxy.workerPids();
  proxy.signal(SIGTERM);
  EXPECT_EQ(proxy.waitExit(10s), std::optional<int>(0));
  for (int pid : workers) EXPECT_TRUE(eventually([pid] { return !processAlive(pid); }, 5s));
  EXPECT_FALSE(httpRequest(proxy.port(), "GET", "/healthz", {}, "", 1000).connected);
}

TEST(Lifecycle, IntIsAFastStop) {
  ProxyProcess proxy;
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  proxy.signal(SIGINT);
  EXPECT_EQ(proxy.waitExit(5s), std::optional<int>(0));
  EXPECT_NE(proxy.stderrText().find("shutdown_fast"), std::string::npos);
}

TEST(Lifecycle, WorkersExitWhenTheSupervisorDies) {
  ProxyProcess proxy;
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto workers = proxy.workerPids();
  ASSERT_EQ(workers.size(), 2u);
  ::kill(proxy.pid(), SIGKILL);
  EXPECT_EQ(proxy.waitExit(5s), std::optional<int>(-SIGKILL));
  for (int pid : workers) {
    EXPECT_TRUE(eventually([pid] { return !processAlive(pid); }, 5s)) << "worker " << pid << " outlived the supervisor";
  }
  // ... and the port is free again for the next supervisor.
  ProxyProcess next(ProxyProcess::Env{{"PORT", std::to_string(proxy.port())}});
  next.start();
  EXPECT_TRUE(next.waitReady()) << next.stderrText();
}

TEST(Lifecycle, DrainClosesIdleKeepAliveConnectionsAtOnce) {
  ProxyProcess proxy(ProxyProcess::Env{{"WORKERS", "1"}});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  // A keep-alive client that made one request and then just holds the connection.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(proxy.port()));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  char buf[1024];
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  ASSERT_NE(std::string(buf, static_cast<size_t>(n)).find("Keep-Alive"), std::string::npos);

  auto sent_at = std::chrono::steady_clock::now();
  proxy.signal(SIGTERM);
  EXPECT_EQ(proxy.waitExit(10s), std::optional<int>(0));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent_at).count();
  // Well under the 5 s keep-alive timeout the idle connection would otherwise hold the drain for.
  EXPECT_LT(ms, 2000) << "stop took " << ms << " ms";
  EXPECT_EQ(::recv(fd, buf, sizeof buf, 0), 0) << "the idle connection was closed";
  ::close(fd);
}
