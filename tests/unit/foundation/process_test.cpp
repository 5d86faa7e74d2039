#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/ipc/channel.h"
#include "common/ipc/messages.h"
#include "common/os/systemd.h"
#include "common/os/unix_socket.h"
#include "supervisor/respawn_policy.h"
#include "tests/integration/harness/temp_dir.h"

using namespace cosp::common;
using namespace std::chrono_literals;

TEST(RespawnPolicy, ImmediateThenExponentialThenReset) {
  cosp::supervisor::RespawnPolicy policy;
  EXPECT_EQ(policy.onExit(500ms).count(), 0);
  EXPECT_EQ(policy.onExit(500ms).count(), 100);
  EXPECT_EQ(policy.onExit(500ms).count(), 200);
  EXPECT_EQ(policy.onExit(500ms).count(), 400);
  for (int i = 0; i < 30; ++i) policy.onExit(10ms);
  EXPECT_EQ(policy.onExit(10ms).count(), 10000);  // capped
  EXPECT_EQ(policy.onExit(60s).count(), 0);       // a worker that lived a while: at once again
  EXPECT_EQ(policy.consecutiveFailures(), 1);
}

TEST(Channel, CarriesWholeMessagesAndReportsPeerExit) {
  auto [a_fd, b_fd] = Channel::makePair();
  Channel a(std::move(a_fd)), b(std::move(b_fd));
  WorkerCredentials creds;
  creds.generation = 7;
  creds.state = CredentialState::Ok;
  creds.access_token = "tok";
  creds.account_id = "acct";
  creds.expires_at_ms = 1234;
  ASSERT_TRUE(a.send(encodeCredentials(creds)));
  UpstreamObservation upstream;
  upstream.last_status = 429;
  upstream.last_status_at = 1700000000;
  upstream.rate_limits["x-codex-primary-used-percent"] = "97";
  ASSERT_TRUE(a.send(encodeHeartbeat({{"requests", 5}, {"active_streams", 2}}, upstream)));
  std::string message;
  ASSERT_EQ(b.receive(message, 1s), Channel::Status::Message);
  EXPECT_EQ(messageType(message), msg::kCredentials);
  auto decoded = decodeCredentials(message);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->generation, 7u);
  EXPECT_EQ(decoded->access_token, "tok");
  EXPECT_EQ(decoded->expires_at_ms, 1234);
  ASSERT_EQ(b.receive(message, 1s), Channel::Status::Message);
  auto beat = decodeHeartbeat(message);
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->counters["requests"], 5);
  EXPECT_EQ(beat->counters["active_streams"], 2);
  EXPECT_EQ(beat->upstream.last_status, 429);
  EXPECT_EQ(beat->upstream.last_status_at, 1700000000);
  EXPECT_EQ(beat->upstream.rate_limits["x-codex-primary-used-percent"], "97");
  EXPECT_EQ(b.receive(message), Channel::Status::WouldBlock);
  a.close();
  EXPECT_EQ(b.receive(message, 1s), Channel::Status::Closed);
  EXPECT_FALSE(b.send("x"));
}

TEST(Messages, CredentialsUsability) {
  WorkerCredentials c;
  EXPECT_FALSE(c.usable(1000));
  c.access_token = "t";
  c.state = CredentialState::Ok;
  EXPECT_TRUE(c.usable(1000));
  c.expires_at_ms = 999;
  EXPECT_FALSE(c.usable(1000));
  c.expires_at_ms = 2000;
  c.state = CredentialState::NeedsLogin;
  EXPECT_FALSE(c.usable(1000));
  EXPECT_EQ(messageInt(encodeDrain(2500), "grace_ms"), std::optional<int64_t>(2500));
  EXPECT_EQ(messageInt(encodeUnauthorized(9), "generation"), std::optional<int64_t>(9));
  EXPECT_EQ(messageType("[1]"), "");
}

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

#include "common/metrics/prometheus.h"

TEST(Prometheus, RendersFamiliesHistogramsAndSeconds) {
  MetricSeries series;
  series[seriesKey("http_requests_total", "route=\"models\",status=\"200\"")] = 3;
  observeHistogram(series, "http_request_duration_seconds", "route=\"models\"", 2000);    // 2 ms
  observeHistogram(series, "http_request_duration_seconds", "route=\"models\"", 400000);  // 400 ms
  series["active_streams"] = 2;
  std::string text = renderPrometheus(series);
  EXPECT_NE(text.find("# TYPE codex_sub_proxy_http_requests_total counter\n"
                      "codex_sub_proxy_http_requests_total{route=\"models\",status=\"200\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("codex_sub_proxy_http_request_duration_seconds_bucket{route=\"models\",le=\"0.001\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("le=\"0.001\"} 1"), std::string::npos);
  EXPECT_NE(text.find("codex_sub_proxy_http_request_duration_seconds_bucket{route=\"models\",le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("codex_sub_proxy_http_request_duration_seconds_bucket{route=\"models\",le=\"0.5\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("codex_sub_proxy_http_request_duration_seconds_bucket{route=\"models\",le=\"+Inf\"} 2\n"
                      "codex_sub_proxy_http_request_duration_seconds_sum{route=\"models\"} 0.402000\n"
                      "codex_sub_proxy_http_request_duration_seconds_count{route=\"models\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE codex_sub_proxy_active_streams gauge\ncodex_sub_proxy_active_streams 2\n"),
            std::string::npos);
  EXPECT_TRUE(isGaugeSeries("active_streams"));
  EXPECT_FALSE(isGaugeSeries("http_requests_total{route=\"x\"}"));
}
