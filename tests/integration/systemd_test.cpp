// systemd integration on the real binaries: sd_notify messages and socket activation.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"

using namespace cosp::test;
using namespace std::chrono_literals;

namespace {

// A fake NOTIFY_SOCKET: a datagram socket that collects what the supervisor sends.
class NotifySink {
 public:
  explicit NotifySink(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind notify");
  }
  ~NotifySink() { ::close(fd_); }
  const std::string& path() const { return path_; }
  // Everything received so far, datagrams separated by '|'.
  const std::string& drain() {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, 0)) > 0) all_ += std::string(buf, static_cast<size_t>(n)) + "|";
    return all_;
  }
  bool saw(const std::string& text) { return drain().find(text) != std::string::npos; }

 private:
  std::string path_;
  int fd_;
  std::string all_;
};

}  // namespace

TEST(Systemd, NotifiesReadyReloadingAndStopping) {
  TempDir dir;
  NotifySink sink(dir.file("notify.sock"));
  ProxyProcess proxy(
      ProxyProcess::Env{{"NOTIFY_SOCKET", sink.path()}, {"WORKERS", "2"}, {"OPENAI_REFRESH_TOKEN", "seed-refresh"}});
  proxy.start();
  ASSERT_TRUE(eventually([&] { return sink.saw("READY=1"); }, 15s)) << proxy.stderrText();
  // READY=1 comes only once the workers serve.
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(proxy.workerPids().size(), 2u);
  EXPECT_TRUE(sink.saw("STATUS=2/2 workers ready"));
  // Workers never talk to systemd and never hold the refresh token: neither is in their environment.
  for (int pid : proxy.workerPids()) {
    std::string environ = readFile("/proc/" + std::to_string(pid) + "/environ");
    EXPECT_NE(environ.find("PORT="), std::string::npos);
    EXPECT_EQ(environ.find("NOTIFY_SOCKET="), std::string::npos);
    EXPECT_EQ(environ.find("OPENAI_REFRESH_TOKEN="), std::string::npos);
  }

  proxy.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return sink.saw("RELOADING=1\nMONOTONIC_USEC="); }, 5s)) << sink.drain();
  // After the reload, READY=1 again.
  ASSERT_TRUE(eventually(
      [&] {
        const std::string& all = sink.drain();
        return all.find("READY=1", all.find("RELOADING=1")) != std::string::npos;
      },
      15s));

  proxy.signal(SIGTERM);
  EXPECT_TRUE(eventually([&] { return sink.saw("STOPPING=1"); }, 5s));
  EXPECT_EQ(proxy.waitExit(10s), std::optional<int>(0));
}

TEST(Systemd, ServesOnASocketPassedWithListenFds) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 128), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);

  // PORT points elsewhere on purpose: with socket activation the inherited socket is used.
  ProxyProcess proxy(ProxyProcess::Env{{"WORKERS", "2"}});
  proxy.startWithSocket(fd);
  ::close(fd);
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto r = httpRequest(port, "GET", "/v1/models");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("gpt-5.5"), std::string::npos);
  EXPECT_FALSE(httpRequest(proxy.port(), "GET", "/healthz", {}, "", 1000).connected);
  auto status = proxy.status();
  ASSERT_TRUE(status);
  EXPECT_NE(status->getValue<std::string>("listen").find("(systemd)"), std::string::npos);
}
