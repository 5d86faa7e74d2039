// UpstreamPool against the in-process FakeCodexBackend on 127.0.0.1 (plain http).
#include "worker/upstream/upstream_pool.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/scripted_server.h"

namespace cosp::worker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::FakeCodexBackend;

constexpr const char* kText =
    "event: response.created\n"
    "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n"
    "\n"
    "event: response.output_text.delta\n"
    "data: {\"type\":\"response.output_text.delta\",\"delta\":\"Hello\"}\n"
    "\n"
    "event: response.completed\n"
    "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"usage\":{\"input_tokens\":3}}}\n"
    "\n";

int countOf(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

// Drops the fake's ": t=..." stamp lines so bodies can be compared.
std::string withoutStamps(const std::string& body) {
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto nl = body.find('\n', pos);
    const std::size_t end = nl == std::string::npos ? body.size() : nl + 1;
    if (body.compare(pos, 4, ": t=") != 0) out.append(body, pos, end - pos);
    pos = end;
  }
  return out;
}

struct ReadResult {
  std::string body;
  ReadStatus last = ReadStatus::Timeout;
  int data = 0;
  int timeouts = 0;
};

ReadResult readToEnd(UpstreamExchange& ex, std::chrono::milliseconds slice = 50ms,
                     std::chrono::milliseconds budget = 10s) {
  ReadResult r;
  const auto deadline = Clock::now() + budget;
  while (Clock::now() < deadline) {
    r.last = ex.read(r.body, slice);
    if (r.last == ReadStatus::Data) ++r.data;
    if (r.last == ReadStatus::Timeout) ++r.timeouts;
    if (r.last == ReadStatus::End || r.last == ReadStatus::Error) break;
  }
  return r;
}

class UpstreamPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The transport is under test, with bodies chosen for it (echoed bytes, scenario markers):
    // the real backend's body rules are not (tests/unit/support covers them).
    test::FakeBackendOptions options;
    options.rules = test::BackendRules::none();
    backend_ = std::make_unique<FakeCodexBackend>(options);
    backend_->addTranscript("text", kText);
  }

  UpstreamSettings settings() const {
    UpstreamSettings s;
    s.base_url = backend_->baseUrl();
    s.connect_timeout = 2000ms;
    s.idle_timeout = 5000ms;
    return s;
  }

  static UpstreamRequestSpec spec(const std::string& scenario, std::string body = "{\"model\":\"gpt-5.4\"}") {
    UpstreamRequestSpec s;
    s.path = "/responses";
    s.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
    if (!scenario.empty()) s.headers.emplace_back("x-fake-scenario", scenario);
    s.body = std::move(body);
    return s;
  }

  std::unique_ptr<FakeCodexBackend> backend_;
};

TEST_F(UpstreamPoolTest, StreamsResponseInSlices) {
  UpstreamPool pool(settings());
  auto ex = pool.send(spec("text+delay:150"));
  ASSERT_TRUE(ex) << ex.error().message;
  EXPECT_EQ((*ex)->head().status, 200);
  EXPECT_EQ(*(*ex)->head().header("content-type"), "text/event-stream");
  EXPECT_EQ(*(*ex)->head().header("X-Codex-Primary-Used-Percent"), "7");
  EXPECT_EQ((*ex)->framing().kind, BodyFraming::Kind::Chunked);
  EXPECT_FALSE((*ex)->reusedConnection());

  const auto r = readToEnd(**ex, 30ms);
  EXPECT_EQ(r.last, ReadStatus::End);
  // 150 ms gaps read in 30 ms slices: the caller got control back in between.
  EXPECT_GE(r.timeouts, 4);
  EXPECT_GE(r.data, 1);
  EXPECT_EQ(countOf(r.body, "\nevent: "), 3);
  EXPECT_EQ(countOf(r.body, ": t="), 3);
  EXPECT_EQ(withoutStamps(r.body), kText);
  EXPECT_TRUE((*ex)->finished());
  EXPECT_EQ((*ex)->read(const_cast<std::string&>(r.body), 10ms), ReadStatus::End);
}

TEST_F(UpstreamPoolTest, KeepAliveReusesOneConnection) {
  UpstreamPool pool(settings());
  for (int i = 0; i < 2; ++i) {
    auto ex = pool.send(spec("text"));
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_EQ((*ex)->reusedConnection(), i == 1);
    EXPECT_EQ(readToEnd(**ex).last, ReadStatus::End);
  }
  ASSERT_EQ(backend_->requestCount(), 2u);
  EXPECT_EQ(backend_->distinctConnections(), 1u);
  const PoolStats st = pool.stats();
  EXPECT_EQ(st.connections_opened, 1u);
  EXPECT_EQ(st.reused, 1u);
  EXPECT_EQ(st.exchanges, 2u);
  EXPECT_EQ(st.returned_to_pool, 2u);
  EXPECT_EQ(st.idle, 1u);
  EXPECT_EQ(st.active, 0u);
}

TEST_F(UpstreamPoolTest, ConcurrentExchangesUseSeparateConnections) {
  UpstreamPool pool(settings());
  auto a = pool.send(spec("text+delay:50"));
  auto b = pool.send(spec("text+delay:50"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(pool.stats().active, 2u);
  EXPECT_EQ(readToEnd(**a).last, ReadStatus::End);
  EXPECT_EQ(readToEnd(**b).last, ReadStatus::End);
  a.value().reset();
  b.value().reset();
  EXPECT_EQ(pool.stats().idle, 2u);
  EXPECT_EQ(backend_->distinctConnections(), 2u);
}

TEST_F(UpstreamPoolTest, ContentLengthBodyIsReadAndReused) {
  UpstreamPool pool(settings());
  for (int i = 0; i < 2; ++i) {
    auto ex = pool.send(spec("text+framing:length"));
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_EQ((*ex)->framing().kind, BodyFraming::Kind::Length);
    const auto r = readToEnd(**ex);
    EXPECT_EQ(r.last, ReadStatus::End);
    EXPECT_EQ(withoutStamps(r.body), kText);
  }
  EXPECT_EQ(backend_->distinctConnections(), 1u);
}

TEST_F(UpstreamPoolTest, CloseDelimitedBodyIsNotReused) {
  UpstreamPool pool(settings());
  for (int i = 0; i < 2; ++i) {
    auto ex = pool.send(spec("text+framing:close"));
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_EQ((*ex)->framing().kind, BodyFraming::Kind::UntilClose);
    const auto r = readToEnd(**ex);
    EXPECT_EQ(r.last, ReadStatus::End);
    EXPECT_EQ(withoutStamps(r.body), kText);
  }
  EXPECT_EQ(pool.stats().connections_opened, 2u);
  EXPECT_EQ(pool.stats().idle, 0u);
  EXPECT_EQ(backend_->distinctConnections(), 2u);
}

TEST_F(UpstreamPoolTest, ConnectionCloseResponseIsNotReused) {
  UpstreamPool pool(settings());
  auto ex = pool.send(spec("text+conn-close"));
  ASSERT_TRUE(ex);
  EXPECT_EQ(readToEnd(**ex).last, ReadStatus::End);
  ex.value().reset();
  EXPECT_EQ(pool.stats().idle, 0u);
}

TEST_F(UpstreamPoolTest, DribbledChunksDecodeIdentically) {
  UpstreamPool pool(settings());
  auto ex = pool.send(spec("text+dribble"));
  ASSERT_TRUE(ex);
  const auto r = readToEnd(**ex);
  EXPECT_EQ(r.last, ReadStatus::End);
  EXPECT_EQ(withoutStamps(r.body), kText);
  EXPECT_GE(r.data, 1);  // how many pieces the reader saw depends on timing
}

TEST_F(UpstreamPoolTest, AbortClosesUpstreamWithinOneSecond) {
  UpstreamPool pool(settings());
  auto ex = pool.send(spec("text+stall:30"));
  ASSERT_TRUE(ex);
  std::string body;
  ReadStatus st = ReadStatus::Timeout;
  const auto deadline = Clock::now() + 5s;
  while (st != ReadStatus::Data && Clock::now() < deadline) st = (*ex)->read(body, 50ms);
  ASSERT_EQ(st, ReadStatus::Data);
  EXPECT_EQ((*ex)->read(body, 100ms), ReadStatus::Timeout);  // stalled

  const auto aborted_at = Clock::now();
  (*ex)->abort();
  const auto closed_at = backend_->waitForClientClose(0, 3s);
  ASSERT_TRUE(closed_at.has_value());
  EXPECT_LT(*closed_at - aborted_at, 1s);
  EXPECT_EQ((*ex)->read(body, 50ms), ReadStatus::Error);
  EXPECT_EQ((*ex)->error().kind, ReadError::Kind::Aborted);
  ex.value().reset();
  EXPECT_EQ(pool.stats().idle, 0u);
}

TEST_F(UpstreamPoolTest, AbortFromAnotherThreadWakesReader) {
  UpstreamSettings s = settings();
  s.idle_timeout = 20s;
  UpstreamPool pool(s);
  auto ex = pool.send(spec("text+stall:30"));
  ASSERT_TRUE(ex);
  std::string body;
  ASSERT_EQ((*ex)->read(body, 2s), ReadStatus::Data);
  std::thread killer([&] {
    std::this_thread::sleep_for(100ms);  // let the reader block in its slice first (not a sync point)
    (*ex)->abort();
  });
  const auto start = Clock::now();
  ReadStatus st = ReadStatus::Timeout;
  while (st == ReadStatus::Timeout && Clock::now() - start < 5s) st = (*ex)->read(body, 2s);
  killer.join();
  EXPECT_EQ(st, ReadStatus::Error);
  EXPECT_LT(Clock::now() - start, 1500ms);
  EXPECT_TRUE(backend_->waitForClientClose(0, 2s).has_value());
}

TEST_F(UpstreamPoolTest, AClientHangUpEndsTheWaitBeforeTheSlice) {
  UpstreamSettings s = settings();
  s.idle_timeout = 60s;
  UpstreamPool pool(s);
  auto ex = pool.send(spec("text+stall:30"));
  ASSERT_TRUE(ex);
  std::string body;
  ASSERT_EQ((*ex)->read(body, 2s), ReadStatus::Data);
  int client[2];  // [0] = the handler's side of its client connection
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, client), 0);
  // A connected client: the stalled upstream wait lasts its slice.
  EXPECT_EQ((*ex)->read(body, 100ms, client[0]), ReadStatus::Timeout);
  // The client leaves: a 30 s slice ends at once, so the handler can look and give up.
  ::close(client[1]);
  const auto start = Clock::now();
  EXPECT_EQ((*ex)->read(body, 30s, client[0]), ReadStatus::Timeout);
  EXPECT_LT(Clock::now() - start, 10s) << "the wait ran out its slice instead of seeing the hang-up";
  ::close(client[0]);
  EXPECT_FALSE(backend_->request(0)->client_closed) << "the exchange itself stays the caller's to end";
}

TEST_F(UpstreamPoolTest, DroppingAnUnfinishedExchangeClosesTheConnection) {
  UpstreamPool pool(settings());
  {
    auto ex = pool.send(spec("text+stall:30"));
    ASSERT_TRUE(ex);
    std::string body;
    ASSERT_EQ((*ex)->read(body, 2s), ReadStatus::Data);
  }
  EXPECT_TRUE(backend_->waitForClientClose(0, 2s).has_value());
  EXPECT_EQ(pool.stats().idle, 0u);
}

TEST_F(UpstreamPoolTest, IdleTimeoutEndsAStalledStream) {
  UpstreamSettings s = settings();
  s.idle_timeout = 300ms;
  UpstreamPool pool(s);
  auto ex = pool.send(spec("text+stall:30"));
  ASSERT_TRUE(ex);
  ReadResult r;
  Clock::time_point last_data = Clock::now();
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    r.last = (*ex)->read(r.body, 50ms);
    if (r.last == ReadStatus::Data) last_data = Clock::now();
    if (r.last == ReadStatus::Timeout) ++r.timeouts;
    if (r.last == ReadStatus::Error || r.last == ReadStatus::End) break;
  }
  const auto waited = Clock::now() - last_data;
  EXPECT_EQ(r.last, ReadStatus::Error);
  EXPECT_EQ((*ex)->error().kind, ReadError::Kind::IdleTimeout);
  EXPECT_GE(waited, 280ms);
  EXPECT_LT(waited, 1500ms);
  EXPECT_GE(r.timeouts, 3);  // the budget spans several slices
  EXPECT_TRUE(backend_->waitForClientClose(0, 2s).has_value());
}

TEST_F(UpstreamPoolTest, AbruptCloseMidBodyIsAnError) {
  UpstreamPool pool(settings());
  auto ex = pool.send(spec("text+abrupt:1"));
  ASSERT_TRUE(ex);
  const auto r = readToEnd(**ex);
  EXPECT_EQ(r.last, ReadStatus::Error);
  EXPECT_EQ((*ex)->error().kind, ReadError::Kind::ClosedMidBody);
  EXPECT_EQ(countOf(r.body, "response.created"), 2);  // event line + data line of the first event
}

TEST_F(UpstreamPoolTest, ErrorStatusBodyViaReadAllThenReuse) {
  const std::string usage =
      "{\"error\":{\"type\":\"usage_limit_reached\",\"message\":\"limit\",\"resets_in_seconds\":60}}";
  backend_->addBody("usage.json", usage);
  UpstreamPool pool(settings());
  {
    auto ex = pool.send(spec("status:429:usage.json"));
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_EQ((*ex)->head().status, 429);
    EXPECT_EQ((*ex)->head().reason, "Too Many Requests");
    EXPECT_EQ(*(*ex)->head().header("Content-Type"), "application/json");
    EXPECT_EQ((*ex)->readAll(64 * 1024, 2s), usage);
    EXPECT_TRUE((*ex)->finished());
  }
  auto again = pool.send(spec("text"));
  ASSERT_TRUE(again);
  EXPECT_TRUE((*again)->reusedConnection());
}

TEST_F(UpstreamPoolTest, ReadAllCapTruncatesAndDropsTheConnection) {
  backend_->addBody("big.txt", std::string(20000, 'x'));
  UpstreamPool pool(settings());
  {
    auto ex = pool.send(spec("status:500:big.txt"));
    ASSERT_TRUE(ex);
    EXPECT_EQ((*ex)->head().status, 500);
    EXPECT_EQ((*ex)->readAll(100, 2s), std::string(100, 'x'));
  }
  EXPECT_EQ(pool.stats().idle, 0u);
}

TEST_F(UpstreamPoolTest, HeadTimeout) {
  UpstreamPool pool(settings());
  auto s = spec("text+slow:3000");
  s.head_timeout = 200ms;
  const auto start = Clock::now();
  auto ex = pool.send(s);
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::HeadTimeout);
  EXPECT_TRUE(ex.error().isTimeout());
  EXPECT_TRUE(ex.error().request_sent);
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST_F(UpstreamPoolTest, CancelledWhileWaitingForHeadClosesUpstream) {
  UpstreamPool pool(settings());
  auto s = spec("text+slow:5000");
  s.poll_slice = 50ms;
  const auto start = Clock::now();
  s.cancelled = [&] { return Clock::now() - start > 150ms; };
  auto ex = pool.send(s);
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::Cancelled);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_TRUE(backend_->waitForClientClose(0, 2s).has_value());
}

TEST_F(UpstreamPoolTest, RequestLineHeadersAndBodyReachUpstream) {
  UpstreamPool pool(settings());
  auto s = spec("echo", "{\"input\":\"hi\"}");
  s.headers.emplace_back("x-codex-beta", "1");
  s.headers.emplace_back("Host", "evil.example");   // client-owned: dropped
  s.headers.emplace_back("Content-Length", "999");  // client-owned: dropped
  s.headers.emplace_back("Connection", "close");    // client-owned: dropped
  auto ex = pool.send(s);
  ASSERT_TRUE(ex) << ex.error().message;
  EXPECT_EQ((*ex)->head().status, 200);
  (*ex)->readAll(64 * 1024, 2s);
  const auto rec = backend_->request(0);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->method, "POST");
  EXPECT_EQ(rec->path, "/backend-api/codex/responses");
  EXPECT_EQ(rec->uri, "/backend-api/codex/responses");
  EXPECT_EQ(rec->body, "{\"input\":\"hi\"}");
  EXPECT_EQ(*rec->header("host"), "127.0.0.1:" + std::to_string(backend_->port()));
  EXPECT_EQ(*rec->header("content-length"), "14");
  EXPECT_EQ(*rec->header("x-codex-beta"), "1");
  EXPECT_EQ(*rec->header("accept"), "text/event-stream");
  EXPECT_FALSE(rec->header("connection").has_value());
}

TEST_F(UpstreamPoolTest, HeaderInjectionIsRefused) {
  UpstreamPool pool(settings());
  auto s = spec("text");
  s.headers.emplace_back("x-evil", "a\r\nInjected: yes");
  auto ex = pool.send(s);
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::InvalidRequest);
  auto p = spec("text");
  p.path = "/responses x";
  EXPECT_EQ(pool.send(p).error().kind, UpstreamFailure::Kind::InvalidRequest);
  EXPECT_EQ(backend_->requestCount(), 0u);
}

TEST_F(UpstreamPoolTest, EveryControlCharacterAndEveryBadNameIsRefusedAsAnErrorValue) {
  UpstreamPool pool(settings());
  const std::vector<std::pair<std::string, std::string>> bad = {{"session_id", std::string("a\0b", 3)},
                                                                {"session_id", "a\rb"},
                                                                {"session_id", "a\nb"},
                                                                {"x-codex-beta", "a\x01"},
                                                                {"x-codex-beta", "\x7f"},
                                                                {"x evil", "1"},
                                                                {"x:evil", "1"},
                                                                {"", "1"},
                                                                {"x-\xc3\xa9", "1"}};
  for (const auto& [name, value] : bad) {
    auto s = spec("text");
    s.headers.emplace_back(name, value);
    auto ex = pool.send(s);
    ASSERT_FALSE(ex) << name;
    EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::InvalidRequest) << name;
    EXPECT_FALSE(ex.error().request_sent);
  }
  auto m = spec("text");
  m.method = "PO\rST";
  EXPECT_EQ(pool.send(m).error().kind, UpstreamFailure::Kind::InvalidRequest);
  EXPECT_EQ(backend_->requestCount(), 0u);
  // Tabs, spaces and UTF-8 in a value are fine.
  auto ok = spec("echo");
  ok.headers.emplace_back("x-codex-note", "a\tb c \xc3\xa9");
  auto ex = pool.send(ok);
  ASSERT_TRUE(ex) << ex.error().message;
  (*ex)->readAll(64 * 1024, 2s);
  EXPECT_EQ(*backend_->request(0)->header("x-codex-note"), "a\tb c \xc3\xa9");
}

TEST_F(UpstreamPoolTest, ScenarioMarkerInBodySelectsScenario) {
  UpstreamPool pool(settings());
  auto s = spec(
      "", "{\"input\":[{\"role\":\"user\",\"content\":\"[[scenario:status:404]] then [[scenario:status:418]]\"}]}");
  auto ex = pool.send(s);
  ASSERT_TRUE(ex);
  EXPECT_EQ((*ex)->head().status, 418);
  EXPECT_EQ(backend_->request(0)->scenario, "status:418");
}

TEST_F(UpstreamPoolTest, ConnectRefusedMapsToConnectFailed) {
  std::uint16_t port = 0;
  const int fd = test::listenLoopback(1, &port);
  ASSERT_GE(fd, 0);
  ::close(fd);  // nothing listens there any more
  UpstreamSettings s = settings();
  s.base_url = "http://127.0.0.1:" + std::to_string(port) + "/backend-api/codex";
  UpstreamPool pool(s);
  auto ex = pool.send(spec("text"));
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::ConnectFailed);
  EXPECT_TRUE(ex.error().isConnectError());
  EXPECT_FALSE(ex.error().request_sent);
  EXPECT_EQ(pool.stats().connect_failures, 1u);
}

TEST_F(UpstreamPoolTest, ConnectTimeoutWhenTheBacklogIsFull) {
  // Linux drops SYNs for a listener whose accept queue (backlog 0 = one slot) is
  // full and nobody accepts, so the handshake never completes.
  std::uint16_t port = 0;
  const int listener = test::listenLoopback(0, &port);
  ASSERT_GE(listener, 0);
  std::vector<int> fillers;
  for (int i = 0; i < 2; ++i) {
    const int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    ::connect(f, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(f);
  }
  UpstreamSettings s = settings();
  s.base_url = "http://127.0.0.1:" + std::to_string(port);
  s.connect_timeout = 300ms;
  UpstreamPool pool(s);
  const auto start = Clock::now();
  auto ex = pool.send(spec("text"));
  const auto took = Clock::now() - start;
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::ConnectTimeout);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  for (int f : fillers) ::close(f);
  ::close(listener);
}

TEST_F(UpstreamPoolTest, InvalidSettingsAreReportedByCreate) {
  UpstreamSettings bad = settings();
  bad.base_url = "ftp://x";
  auto p = UpstreamPool::create(bad);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("CODEX_BASE_URL"), std::string::npos);
  UpstreamSettings bad_proxy = settings();
  bad_proxy.https_proxy = "socks5://x:1";
  auto q = UpstreamPool::create(bad_proxy);
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().find("HTTPS_PROXY"), std::string::npos);
  EXPECT_THROW(UpstreamPool{bad}, std::invalid_argument);
  auto ok = UpstreamPool::create(settings());
  ASSERT_TRUE(ok);
  EXPECT_FALSE((*ok)->proxy().has_value());
}

TEST_F(UpstreamPoolTest, ManyThreadsShareThePool) {
  UpstreamPool pool(settings());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto ex = pool.send(spec("text"));
        if (!ex) continue;
        if (readToEnd(**ex).last == ReadStatus::End) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
  EXPECT_EQ(backend_->requestCount(), 20u);
  EXPECT_LE(pool.stats().connections_opened, 4u + 0u);
  EXPECT_EQ(pool.stats().active, 0u);
}

}  // namespace
}  // namespace cosp::worker
