#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/os/systemd.h"
#include "common/os/unix_socket.h"
#include "tests/support/harness/temp_dir.h"

using namespace cosp::common;

TEST(UnixSocket, ControlSocketIs0600AndReportsPeerUid) {
  cosp::test::TempDir dir;
  std::string path = dir.file("sub/ctl.sock");
  UniqueFd listener = listenUnixSocket(path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  UniqueFd client = connectUnixSocket(path);
  ASSERT_TRUE(client);
  int accepted = ::accept(listener.get(), nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  EXPECT_EQ(peerUid(accepted), ::geteuid());
  ::close(accepted);
  // A second listener on a live socket is refused; a stale file is replaced.
  EXPECT_THROW(listenUnixSocket(path), std::runtime_error);
  listener.reset();
  EXPECT_NO_THROW(listenUnixSocket(path));
}

TEST(Systemd, NotifySendsOneDatagramToNotifySocket) {
  cosp::test::TempDir dir;
  std::string path = dir.file("notify");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(sdNotify("READY=1\nSTATUS=ok"));
  ::unsetenv("NOTIFY_SOCKET");
  char buf[256];
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "READY=1\nSTATUS=ok");
  EXPECT_TRUE(sdNotify("READY=1"));  // unset: a no-op that succeeds
  ::close(fd);
}

TEST(Systemd, ListenFdsOnlyForOurPid) {
  ::setenv("LISTEN_PID", "1", 1);
  ::setenv("LISTEN_FDS", "1", 1);
  EXPECT_TRUE(takeListenFds().empty());
  EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr);  // removed so children never see it
}
