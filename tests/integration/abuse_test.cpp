// Abuse suite on the real binaries: hostile and malformed clients (the findings of the client-side
// security issue). Everything runs on loopback, bounded in count and time; every wait has a
// deadline, and no sleep stands in for synchronisation. Each test asserts what a client observes:
// the status line, whether the server closed the connection (recv returns 0), that other clients
// are still served, and where it matters the workers' resident memory.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/call_bodies.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"
#include "tests/support/harness/raw_client.h"
#include "tests/support/harness/wire_text.h"

using namespace cosp::test;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kKey = "abuse-test-key-4f1c9e";

// Status lines in a byte stream: a second one where one response was expected is a split response
// or a smuggled request that was executed.
int countStatusLines(const std::string& raw) {
  int n = 0;
  for (std::size_t p = raw.find("HTTP/1."); p != std::string::npos; p = raw.find("HTTP/1.", p + 1)) {
    if (p == 0 || raw[p - 1] == '\n') ++n;
  }
  return n;
}

// A CR not followed by LF or an LF not preceded by CR: what a split header leaves behind.
bool hasBareCrOrLf(std::string_view head) {
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\r' && (i + 1 == head.size() || head[i + 1] != '\n')) return true;
    if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) return true;
  }
  return false;
}

// VmRSS of a process in KiB, or -1.
long vmRssKiB(int pid) {
  std::string status = readFile("/proc/" + std::to_string(pid) + "/status");
  std::size_t at = status.find("VmRSS:");
  if (at == std::string::npos) return -1;
  return std::strtol(status.c_str() + at + 6, nullptr, 10);
}

// A whole request as bytes. `auth`: with the configured key as a bearer token.
std::string requestBytes(const std::string& method, const std::string& path, const std::string& body = "",
                         const std::string& extra_headers = "", bool auth = true) {
  return rawRequest(method, path, body, auth ? kKey : "", extra_headers);
}

// A request that, if it were ever executed, reaches the backend and produces a second response.
std::string hiddenRequest() {
  return requestBytes("POST", "/v1/responses", R"({"model":"gpt-5.5","input":"smuggled [[scenario:text]]"})");
}

// The head of a model call with a valid key, before its framing headers.
std::string modelCallHead() {
  return "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + kKey +
         "\r\nContent-Type: application/json\r\n";
}

class Abuse : public ::testing::Test {
 protected:
  // The fake backend and one proxy (one worker, the key required) with `extra` on top.
  void start(ProxyProcess::Env extra = {}) {
    FakeBackendOptions options;
    options.fixtures_dir = fixturePath("responses");
    backend_ = std::make_unique<FakeCodexBackend>(options);
    ProxyProcess::Env env = {{"CODEX_BASE_URL", backend_->baseUrl()},
                             {"OPENAI_ACCESS_TOKEN", "upstream-access-token"},
                             {"OPENAI_CHATGPT_ACCOUNT_ID", "acct-123"},
                             {"PROXY_API_KEY", kKey},
                             {"WORKERS", "1"}};
    for (auto& [k, v] : extra) env[k] = v;
    proxy_ = std::make_unique<ProxyProcess>(env);
    proxy_->start();
    ASSERT_TRUE(proxy_->waitReady()) << proxy_->stderrText();
    ASSERT_EQ(proxy_->workerPids().size(), static_cast<std::size_t>(std::stoi(env["WORKERS"])));
  }
  int port() const { return proxy_->port(); }

  // Sends `bytes` on a fresh connection and reads until the server closes it (or `timeout`).
  std::unique_ptr<RawClient> exchange(const std::string& bytes, milliseconds timeout = 3000ms) {
    auto w = std::make_unique<RawClient>(port());
    EXPECT_TRUE(w->connected());
    EXPECT_TRUE(w->send(bytes));
    w->readToClose(timeout);
    return w;
  }

  // One exchange that the server must refuse with `status`, saying it once and then closing the
  // connection within a second, without any request reaching the backend.
  void expectRefused(const std::string& bytes, int status, const std::string& what) {
    SCOPED_TRACE(what + ": sent [" + printable(bytes) + "]");
    auto sent_at = Clock::now();
    auto w = exchange(bytes, 3000ms);
    EXPECT_TRUE(w->closed()) << "the connection was left open: " << describe(*w);
    if (w->closed()) {
      EXPECT_LT(msBetween(sent_at, w->closedAt()), 1000) << describe(*w);
    }
    EXPECT_EQ(w->received().rfind("HTTP/1.1 " + std::to_string(status) + " ", 0), 0u) << describe(*w);
    EXPECT_EQ(countStatusLines(w->received()), 1) << "more than one response: " << describe(*w);
    auto responses = w->responses();
    if (!responses.empty()) {
      EXPECT_TRUE(responses[0].complete) << describe(*w);
      EXPECT_EQ(responses[0].header("connection").value_or(""), "close") << describe(*w);
      EXPECT_EQ(responses[0].body.rfind("{\"error\":{", 0), 0u) << "not a JSON error body: " << describe(*w);
    }
    EXPECT_EQ(backend_->requestCount(), 0u) << "a request reached the backend";
    backend_->reset();
  }

  std::unique_ptr<FakeCodexBackend> backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

// ---- 1. No unauthenticated denial of service ---------------------------------------------------

TEST_F(Abuse, SlowHeadsHoldNoThreadAndCloseAtTheHeadDeadline) {
  ASSERT_NO_FATAL_FAILURE(start({{"WORKER_THREADS", "4"}, {"REQUEST_HEAD_TIMEOUT", "2s"}}));
  const int worker = proxy_->workerPids().at(0);
  const long rss_before = vmRssKiB(worker);
  ASSERT_GT(rss_before, 0);

  // 200 connections that each send one byte of a head, then one more byte every 500 ms: the
  // head deadline is for the whole head, so the trickle must not extend it.
  constexpr int kSlow = 200;
  const std::string trickle = "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<RawClient>(port()));
    ASSERT_TRUE(slow.back()->connected()) << "connection " << i;
    ASSERT_TRUE(slow.back()->send(trickle.substr(0, 1)));
  }

  // One thread trickles and watches for the server's closes; this one plays the normal clients.
  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool all_closed = false;  // under done_mutex
  std::atomic<bool> stop{false};
  std::thread trickler([&] {
    std::size_t next = 1;
    auto next_byte = Clock::now() + 500ms;
    auto give_up = Clock::now() + 10s;
    while (!stop.load() && Clock::now() < give_up) {
      std::vector<pollfd> fds;
      std::vector<RawClient*> wires;
      for (auto& w : slow) {
        if (w->closed()) continue;
        fds.push_back({w->fd(), POLLIN, 0});
        wires.push_back(w.get());
      }
      if (fds.empty()) break;
      int ready = ::poll(fds.data(), fds.size(), 50);
      for (std::size_t i = 0; ready > 0 && i < fds.size(); ++i) {
        if (fds[i].revents != 0) wires[i]->readSome(0);
      }
      if (Clock::now() >= next_byte && next < trickle.size()) {
        for (auto* w : wires) {
          if (!w->closed()) (void)::send(w->fd(), trickle.data() + next, 1, MSG_NOSIGNAL);
        }
        ++next;
        next_byte += 500ms;
      }
    }
    std::lock_guard<std::mutex> lock(done_mutex);
    all_closed = true;
    done_cv.notify_all();
  });

  int rounds = 0;
  int64_t slowest = 0;
  long rss_during = 0;
  std::vector<std::string> failures;
  auto phase_end = Clock::now() + 8s;
  // A round of normal requests every 100 ms (the wait ends early when the slow heads are gone).
  auto pace = [&] {
    std::unique_lock<std::mutex> lock(done_mutex);
    return done_cv.wait_for(lock, 100ms, [&] { return all_closed; });
  };
  for (bool done = false; !done && Clock::now() < phase_end; done = pace()) {
    auto t0 = Clock::now();
    auto health = httpRequest(port(), "GET", "/healthz", {}, "", 1000);
    if (health.status != 200) failures.push_back("healthz: " + std::to_string(health.status) + " " + health.error);
    auto models = httpRequest(port(), "GET", "/v1/models", {{"Authorization", "Bearer " + kKey}}, "", 1000);
    if (models.status != 200) failures.push_back("models: " + std::to_string(models.status) + " " + models.error);
    auto chat = httpRequest(port(), "POST", "/v1/chat/completions",
                            {{"Authorization", "Bearer " + kKey}, {"Content-Type", "application/json"}},
                            chatBody("hello"), 2000);
    if (chat.status != 200 || chat.body.find("The proxy works.") == std::string::npos) {
      failures.push_back("chat: " + std::to_string(chat.status) + " " + chat.error + " " + chat.body);
    }
    slowest = std::max(slowest, msSince(t0));
    rss_during = std::max(rss_during, vmRssKiB(worker));
    ++rounds;
  }
  stop = true;
  trickler.join();

  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << (failures.empty() ? "" : failures[0]);
  EXPECT_GE(rounds, 2);
  EXPECT_LT(slowest, 1500) << "a round of three normal requests took " << slowest << " ms";
  EXPECT_LT(rss_during - rss_before, 32 * 1024) << "worker RSS " << rss_before << " -> " << rss_during << " KiB";
  int early = 0, late = 0, open = 0, bad_answer = 0;
  int64_t latest = 0;
  std::string example;
  for (auto& w : slow) {
    if (!w->closed()) {
      ++open;
      continue;
    }
    int64_t after = msBetween(w->opened(), w->closedAt());
    latest = std::max(latest, after);
    if (after < 1500) ++early;
    if (after > 3000) ++late;
    if (!w->received().empty() && w->received().rfind("HTTP/1.1 408 ", 0) != 0) {
      ++bad_answer;
      example = describe(*w);
    }
  }
  int answered_408 = 0, resets = 0;
  for (auto& w : slow) {
    if (w->received().rfind("HTTP/1.1 408 ", 0) == 0) ++answered_408;
    if (w->wasReset()) ++resets;
  }
  std::printf(
      "[ info ] %d rounds of normal requests, slowest %lld ms; slow heads closed after at most %lld ms "
      "(%d with a 408, %d reset); worker RSS %ld -> %ld KiB\n",
      rounds, static_cast<long long>(slowest), static_cast<long long>(latest), answered_408, resets, rss_before,
      rss_during);
  EXPECT_EQ(open, 0) << "slow heads still open after the head deadline";
  EXPECT_EQ(late, 0) << "closed later than head timeout + 1 s; latest after " << latest << " ms";
  EXPECT_EQ(early, 0) << "closed before the head deadline";
  EXPECT_EQ(bad_answer, 0) << "answered other than 408: " << example;
  EXPECT_EQ(backend_->requestCount(), static_cast<std::size_t>(rounds));
}

TEST_F(Abuse, IdleConnectionsBeyondMaxConnectionsEvictTheOldest) {
  ASSERT_NO_FATAL_FAILURE(start({{"MAX_CONNECTIONS", "64"}}));
  const int worker = proxy_->workerPids().at(0);
  const long rss_before = vmRssKiB(worker);
  constexpr int kIdle = 300;
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(std::make_unique<RawClient>(port()));
    ASSERT_TRUE(idle.back()->connected()) << "connection " << i;
  }
  // A new client is served at once: the longest-idle connections made room for it.
  auto t0 = Clock::now();
  auto health = httpRequest(port(), "GET", "/healthz", {}, "", 1000);
  EXPECT_EQ(health.status, 200) << health.error;
  auto models = httpRequest(port(), "GET", "/v1/models", {{"x-api-key", kKey}}, "", 1000);
  EXPECT_EQ(models.status, 200) << models.error;
  EXPECT_LT(msSince(t0), 1500);

  // The oldest ones were closed by the server (end of file, no answer); the newest still stand.
  auto allOldClosed = [&] {
    for (int i = 0; i < kIdle - 64; ++i) {
      idle[i]->readSome(0);
      if (!idle[i]->closed()) return false;
    }
    return true;
  };
  EXPECT_TRUE(eventually(allOldClosed, 3s)) << "the oldest idle connections were not evicted";
  int unanswered_closes = 0;
  for (int i = 0; i < kIdle - 64; ++i) {
    if (idle[i]->closed() && idle[i]->received().empty()) ++unanswered_closes;
  }
  EXPECT_EQ(unanswered_closes, kIdle - 64) << "an evicted idle connection got bytes";
  for (int i = kIdle - 32; i < kIdle; ++i) {
    idle[i]->readSome(0);
    EXPECT_FALSE(idle[i]->closed()) << "connection " << i << " (among the newest) was closed";
  }
  // And one of the newest is still a working connection.
  ASSERT_TRUE(idle.back()->send(requestBytes("GET", "/healthz", "", "Connection: close\r\n", false)));
  EXPECT_TRUE(idle.back()->readResponses(1, 2000ms)) << describe(*idle.back());
  EXPECT_EQ(idle.back()->received().rfind("HTTP/1.1 200 ", 0), 0u) << describe(*idle.back());
  const long rss_after = vmRssKiB(worker);
  EXPECT_LT(rss_after - rss_before, 16 * 1024) << "worker RSS " << rss_before << " -> " << rss_after << " KiB";
}

TEST_F(Abuse, PerClientCapClosesTheFourthConnectionAtOnce) {
  ASSERT_NO_FATAL_FAILURE(start({{"MAX_CONNECTIONS_PER_CLIENT", "3"}}));
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawClient>(port()));
    ASSERT_TRUE(held.back()->connected());
  }
  // Accepted in order, so the three are counted before the fourth is looked at.
  RawClient fourth(port());
  ASSERT_TRUE(fourth.connected());
  auto t0 = Clock::now();
  EXPECT_TRUE(fourth.readToClose(1000ms)) << "the 4th connection was not closed: " << describe(fourth);
  EXPECT_TRUE(fourth.received().empty()) << "the 4th connection got a response: " << describe(fourth);
  EXPECT_LT(msSince(t0), 1000);
  for (auto& w : held) {
    w->readSome(0);
    EXPECT_FALSE(w->closed()) << "one of the first three was closed";
  }

  // One of the three leaves; a new connection is served once the server has seen it go (it may
  // take the accept loop a moment, so a few fresh attempts within two seconds).
  held[0]->close();
  std::string last;
  EXPECT_TRUE(eventually(
      [&] {
        RawClient next(port());
        next.send(requestBytes("GET", "/healthz", "", "Connection: close\r\n", false));
        next.readToClose(1000ms);
        last = describe(next);
        return next.received().rfind("HTTP/1.1 200 ", 0) == 0;
      },
      2s))
      << "no connection served after one of three closed: " << last;
  // The two that stayed are still served.
  ASSERT_TRUE(held[1]->send(requestBytes("GET", "/v1/models", "", "Connection: close\r\n")));
  EXPECT_TRUE(held[1]->readResponses(1, 2000ms)) << describe(*held[1]);
  EXPECT_EQ(held[1]->received().rfind("HTTP/1.1 200 ", 0), 0u) << describe(*held[1]);
}

TEST_F(Abuse, HealthzIsAnsweredWhileEveryThreadHoldsAStream) {
  ASSERT_NO_FATAL_FAILURE(start({{"WORKER_THREADS", "4"}}));
  const std::string held_stream =
      R"({"model":"gpt-5.5","stream":true,"input":"hold [[scenario:output_first+stall:60]]"})";
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawClient>(port()));
    ASSERT_TRUE(held.back()->send(requestBytes("POST", "/v1/responses", held_stream)));
    ASSERT_TRUE(held.back()->readUntil("response.output_item.added", 5000ms))
        << "stream " << i << ": " << describe(*held.back());
  }
  ASSERT_TRUE(backend_->waitForRequests(4, 5s));
  for (int round = 0; round < 3; ++round) {
    auto t0 = Clock::now();
    auto health = httpRequest(port(), "GET", "/healthz", {}, "", 1500);
    EXPECT_EQ(health.status, 200) << "round " << round << ": " << health.error;
    EXPECT_LT(msSince(t0), 1000) << "round " << round;
  }
  for (auto& w : held) w->close();
  for (std::size_t i = 0; i < 4; ++i) EXPECT_TRUE(backend_->waitForClientClose(i, 5s).has_value());
}

// ---- 2. Request smuggling, and other heads the parser refuses ------------------------------------

struct RefusedCase {
  const char* name;
  std::string bytes;
  int status;
};

// Names the case in test output (the default would print its bytes).
void PrintTo(const RefusedCase& c, std::ostream* os) { *os << c.name; }

std::vector<RefusedCase> refusedCases() {
  const std::string hidden = hiddenRequest();
  const std::string head = modelCallHead();
  const std::string chunked_hidden = "0\r\n\r\n" + hidden;
  return {
      {"ContentLengthAndChunked",
       head + "Content-Length: " + std::to_string(chunked_hidden.size()) + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
           chunked_hidden,
       400},
      {"ChunkedAndContentLength", head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunked_hidden,
       400},
      {"TwoDifferentContentLengths",
       head + "Content-Length: 5\r\nContent-Length: " + std::to_string(5 + hidden.size()) + "\r\n\r\nhello" + hidden,
       400},
      {"ContentLengthList", head + "Content-Length: 5, 5\r\n\r\nhello" + hidden, 400},
      {"TwoEqualContentLengths", head + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello" + hidden, 400},
      {"NegativeContentLength", head + "Content-Length: -5\r\n\r\nhello" + hidden, 400},
      {"PlusSignContentLength", head + "Content-Length: +5\r\n\r\nhello" + hidden, 400},
      {"IdentityThenChunked", head + "Transfer-Encoding: identity, chunked\r\n\r\n" + chunked_hidden, 400},
      {"TwoTransferEncodingFields",
       head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_hidden, 400},
      {"SpaceBeforeColon", head + "Transfer-Encoding : chunked\r\n\r\n" + chunked_hidden, 400},
      {"FoldedTransferEncoding", head + "Transfer-Encoding:\r\n chunked\r\n\r\n" + chunked_hidden, 400},
      {"ChunkedOnHttp10",
       "POST /v1/responses HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer " + kKey +
           "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_hidden,
       400},
      {"BareLfLineEnd", head + "Content-Length: 5\n\r\nhello" + hidden, 400},
      {"MalformedChunkSizeZz", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + hidden, 400},
      {"MalformedChunkSizeWithSpace", head + "Transfer-Encoding: chunked\r\n\r\n5 5\r\nhello\r\n0\r\n\r\n" + hidden,
       400},
      {"Http09RequestLine", "GET /\r\n", 400},
      {"Http2Version", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"HeaderLineWithoutColon", "GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 400},
      {"NulInHeaderName", std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A") + '\0' + "b: 1\r\n\r\n", 400},
      {"NulInHeaderValue", std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a") + '\0' + "b\r\n\r\n", 400},
      {"TwoAuthorizationFields",
       "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kKey +
           "\r\nAuthorization: Bearer wrong\r\n\r\n",
       400},
      {"TwoApiKeyFields", "GET /v1/models HTTP/1.1\r\nHost: x\r\nx-api-key: wrong\r\nx-api-key: " + kKey + "\r\n\r\n",
       400},
  };
}

class AbuseRefused : public Abuse, public ::testing::WithParamInterface<RefusedCase> {};

TEST_P(AbuseRefused, AnsweredOnceAndClosed) {
  // A long head deadline: a refusal that waited for it would show as a slow close.
  ASSERT_NO_FATAL_FAILURE(start({{"REQUEST_HEAD_TIMEOUT", "10s"}}));
  expectRefused(GetParam().bytes, GetParam().status, GetParam().name);
  // The server still serves the next client.
  auto health = httpRequest(port(), "GET", "/healthz", {}, "", 2000);
  EXPECT_EQ(health.status, 200) << health.error;
}

INSTANTIATE_TEST_SUITE_P(Abuse, AbuseRefused, ::testing::ValuesIn(refusedCases()),
                         [](const ::testing::TestParamInfo<RefusedCase>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(Abuse, ChunkedBodyCutShortThenHalfCloseIsNeverForwarded) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string body = R"({"model":"gpt-5.5","input":"x"})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  RawClient w(port());
  ASSERT_TRUE(w.send(modelCallHead() + "Transfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + body + "\r\n"));
  w.shutdownWrite();  // the last chunk never comes
  EXPECT_TRUE(w.readToClose(3000ms)) << describe(w);
  EXPECT_EQ(w.received().find("HTTP/1.1 2"), std::string::npos) << describe(w);
  EXPECT_LE(countStatusLines(w.received()), 1) << describe(w);
  EXPECT_EQ(backend_->requestCount(), 0u) << "a body without its last chunk was forwarded";
  std::printf("[ info ] chunked body cut short: %s\n", describe(w).substr(0, 200).c_str());
}

// ---- 3. Response splitting -----------------------------------------------------------------------

void expectNoSplit(const RawClient& w, int expected_status) {
  SCOPED_TRACE(describe(w));
  EXPECT_TRUE(w.closed());
  EXPECT_EQ(countStatusLines(w.received()), 1) << "a second status line";
  auto responses = w.responses();
  ASSERT_FALSE(responses.empty());
  const RawResponse& r = responses[0];
  EXPECT_EQ(r.status, expected_status);
  EXPECT_FALSE(r.header("x-injected").has_value()) << "an injected header";
  EXPECT_EQ(lower(r.head).find("\r\nx-injected"), std::string::npos);
  EXPECT_FALSE(hasBareCrOrLf(r.head)) << "a bare CR or LF in the head";
  if (auto dropped = r.header("x-codex-sub-proxy-dropped")) {
    std::printf("[ info ] %d answer, x-codex-sub-proxy-dropped: %s\n", r.status, printable(*dropped).c_str());
    EXPECT_NE(dropped->find("X-Injected"), std::string::npos) << "the dropped name is missing: " << *dropped;
    EXPECT_EQ(dropped->find_first_of("\r\n"), std::string::npos);
  }
}

TEST_F(Abuse, UnknownKeyWithCrLfCannotSplitTheResponse) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string evil = R"(,"evil\r\nX-Injected: 1\r\n":1)";
  {
    auto w = exchange(
        requestBytes("POST", "/v1/chat/completions", chatBody("hello", false, evil), "Connection: close\r\n"), 10000ms);
    expectNoSplit(*w, 200);
  }
  {
    // Streaming: the header goes out before the first event.
    auto w = exchange(
        requestBytes("POST", "/v1/chat/completions", chatBody("hello", true, evil), "Connection: close\r\n"), 10000ms);
    expectNoSplit(*w, 200);
  }
  {
    // The backend fails with a 502 (retried, then mapped): an error answer must be as clean.
    auto w = exchange(requestBytes("POST", "/v1/chat/completions", chatBody("x [[scenario:status:502]]", false, evil),
                                   "Connection: close\r\n"),
                      10000ms);
    expectNoSplit(*w, 502);
  }
}

// ---- 4. Quadratic CPU ------------------------------------------------------------------------------

TEST_F(Abuse, HundredThousandUnknownKeysAnsweredQuicklyWithASmallHead) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string extra;
  extra.reserve(1200000);
  char key[32];
  for (int i = 0; i < 100000; ++i) {
    std::snprintf(key, sizeof key, ",\"unknown_%06d\":1", i);
    extra += key;
  }
  std::string body = chatBody("hello", false, extra);
  ASSERT_GT(body.size(), 1000000u);
  auto t0 = Clock::now();
  RawClient w(port());
  ASSERT_TRUE(w.send(requestBytes("POST", "/v1/chat/completions", body, "Connection: close\r\n")));
  EXPECT_TRUE(w.readResponses(1, 10000ms)) << "no answer within 10 s: " << describe(w);
  auto elapsed = msSince(t0);
  auto responses = w.responses();
  ASSERT_FALSE(responses.empty()) << describe(w);
  EXPECT_GT(responses[0].status, 0) << describe(w);
  EXPECT_LT(responses[0].status, 500) << describe(w);
  EXPECT_LT(responses[0].head.size(), 8192u) << "response head of " << responses[0].head.size() << " bytes";
  std::printf("[ info ] 100,000 unknown keys (%zu bytes): status %d in %lld ms, head %zu bytes\n", body.size(),
              responses[0].status, static_cast<long long>(elapsed), responses[0].head.size());
}

// ---- 6. Header values are never decoded ------------------------------------------------------------

// An upstream on a plain socket that keeps the exact bytes of every request the proxy sends (the
// fake backend parses with POCO, which itself decodes RFC 2047 words, so it cannot tell what went
// over the wire), and answers each with the normal text transcript, then closes.
class CaptureBackend {
 public:
  CaptureBackend() {
    answer_body_ = readFile(fixturePath("responses") + "/text.sse");
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~CaptureBackend() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_) + "/backend-api/codex"; }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void run() {
    while (!stop_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) serve(c);
    }
  }
  // One request per connection, every read within a 5 s deadline.
  void serve(int c) {
    auto deadline = Clock::now() + 5s;
    std::string raw;
    auto complete = [&] {
      std::size_t end = raw.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      std::string head = lower(raw.substr(0, end));
      if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
        return raw.find("\r\n0\r\n\r\n", end) != std::string::npos;
      }
      std::size_t at = head.find("\r\ncontent-length:");
      std::size_t length = at == std::string::npos ? 0 : std::strtoul(head.c_str() + at + 17, nullptr, 10);
      return raw.size() >= end + 4 + length;
    };
    char buf[16384];
    while (!complete() && msLeft(deadline) > 0) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, msLeft(deadline)) <= 0) continue;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      raw.append(buf, static_cast<std::size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(raw);
    }
    std::string answer =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: " + std::to_string(answer_body_.size()) +
        "\r\nConnection: close\r\n\r\n" + answer_body_;
    (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
    ::shutdown(c, SHUT_WR);
    ::close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::string answer_body_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
};

TEST_F(Abuse, EncodedWordsAreNotDecoded) {
  CaptureBackend upstream;
  ASSERT_NO_FATAL_FAILURE(start({{"CODEX_BASE_URL", upstream.baseUrl()}}));
  // The key as an RFC 2047 encoded word is not the key.
  auto encoded_bearer =
      httpRequest(port(), "GET", "/v1/models", {{"Authorization", "Bearer =?UTF-8?Q?" + kKey + "?="}});
  EXPECT_EQ(encoded_bearer.status, 401) << encoded_bearer.body;
  auto encoded_api_key = httpRequest(port(), "GET", "/v1/models", {{"x-api-key", "=?UTF-8?Q?" + kKey + "?="}});
  EXPECT_EQ(encoded_api_key.status, 401) << encoded_api_key.body;
  auto plain = httpRequest(port(), "GET", "/v1/models", {{"Authorization", "Bearer " + kKey}});
  EXPECT_EQ(plain.status, 200) << plain.body;

  // An encoded CR/LF in a forwarded header stays text: the call succeeds or is refused, never a
  // 5xx, and if the header goes upstream it goes as the client wrote it.
  const std::string encoded = "=?UTF-8?Q?a=0D=0Ab?=";
  auto w = exchange(requestBytes("POST", "/v1/chat/completions", chatBody("hello"),
                                 "session_id: " + encoded + "\r\nConnection: close\r\n"),
                    10000ms);
  auto responses = w->responses();
  ASSERT_FALSE(responses.empty()) << describe(*w);
  EXPECT_GE(responses[0].status, 200) << describe(*w);
  EXPECT_LT(responses[0].status, 500) << describe(*w);
  EXPECT_EQ(countStatusLines(w->received()), 1) << describe(*w);
  // The supervisor's model catalog request (GET .../models) reaches this backend too.
  const auto upstream_requests = upstream.requests();
  const auto model_calls = std::count_if(upstream_requests.begin(), upstream_requests.end(),
                                         [](const std::string& raw) { return raw.rfind("POST ", 0) == 0; });
  EXPECT_EQ(model_calls, responses[0].status == 200 ? 1 : 0);
  for (const std::string& raw : upstream_requests) {
    SCOPED_TRACE("upstream request: " + printable(raw, 4000));
    std::string head = raw.substr(0, raw.find("\r\n\r\n") + 2);
    EXPECT_FALSE(hasBareCrOrLf(head));
    EXPECT_EQ(head.find("\r\nb\r\n"), std::string::npos) << "the encoded CR/LF was decoded";
    std::size_t at = lower(head).find("\r\nsession_id:");
    if (at != std::string::npos) {
      std::size_t eol = head.find("\r\n", at + 2);
      std::string value = head.substr(at + 13, eol - at - 13);
      value.erase(0, value.find_first_not_of(' '));
      EXPECT_EQ(value, encoded);
    }
    EXPECT_EQ(raw.find(kKey), std::string::npos) << "the client key went upstream";
  }
}

// ---- 7. Malformed Content-Length --------------------------------------------------------------------

TEST_F(Abuse, MalformedContentLengthIsA400WithAJsonBodyAndALogLine) {
  ASSERT_NO_FATAL_FAILURE(start());
  int refused = 0;
  for (const std::string value : {"abc", "0x10", "5, 5", "99999999999999999999"}) {
    expectRefused(modelCallHead() + "Content-Length: " + value + "\r\n\r\nhello", 400,
                  "POST /v1/responses, Content-Length: " + value);
    expectRefused("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + value + "\r\n\r\n", 400,
                  "GET /healthz, Content-Length: " + value);
    refused += 2;
  }
  auto logged = [&] {
    std::string log = proxy_->stderrText();
    int n = 0;
    for (std::size_t p = log.find("\"event\":\"bad_request\""); p != std::string::npos;
         p = log.find("\"event\":\"bad_request\"", p + 1)) {
      ++n;
    }
    return n >= refused;
  };
  EXPECT_TRUE(eventually(logged, 3s)) << "fewer than " << refused << " bad_request log lines:\n"
                                      << proxy_->stderrText();
  EXPECT_NE(proxy_->stderrText().find("malformed Content-Length"), std::string::npos);
}

// ---- 8. Expect: 100-continue ------------------------------------------------------------------------

TEST_F(Abuse, ExpectContinueOverTheBodyLimitIsRefusedBeforeAnyContinue) {
  ASSERT_NO_FATAL_FAILURE(start({{"MAX_BODY_BYTES", "1KiB"}}));
  for (const std::string path : {"/v1/responses", "/v1/chat/completions"}) {
    SCOPED_TRACE(path);
    RawClient w(port());
    ASSERT_TRUE(w.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kKey +
                       "\r\nContent-Type: application/json\r\nContent-Length: 2048\r\nExpect: 100-continue\r\n\r\n"));
    EXPECT_TRUE(w.readUntil("\r\n\r\n", 2000ms)) << describe(w);
    EXPECT_EQ(w.received().rfind("HTTP/1.1 413 ", 0), 0u) << describe(w);
    EXPECT_EQ(w.received().find("HTTP/1.1 100"), std::string::npos) << describe(w);
    EXPECT_TRUE(w.readToClose(2000ms)) << describe(w);
    EXPECT_EQ(w.received().find("HTTP/1.1 100"), std::string::npos) << describe(w);
  }
  EXPECT_EQ(backend_->requestCount(), 0u);

  // Within the limit, the client is told to go on, then answered.
  const std::string body = R"({"model":"gpt-5.5","input":"hello"})";
  RawClient w(port());
  ASSERT_TRUE(w.send(modelCallHead() + "Content-Length: " + std::to_string(body.size()) +
                     "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(w.readUntil("\r\n\r\n", 2000ms)) << describe(w);
  EXPECT_EQ(w.received(), "HTTP/1.1 100 Continue\r\n\r\n") << describe(w);
  ASSERT_TRUE(w.send(body));
  EXPECT_TRUE(w.readResponses(1, 10000ms)) << describe(w);
  auto responses = w.responses();
  ASSERT_EQ(responses.size(), 2u) << describe(w);
  EXPECT_EQ(responses[0].status, 100);
  EXPECT_EQ(responses[1].status, 200) << describe(w);
  EXPECT_NE(responses[1].body.find("The proxy works."), std::string::npos) << describe(w);
  EXPECT_EQ(backend_->requestCount(), 1u);
}

// ---- Half-closed clients and pipelining --------------------------------------------------------

TEST_F(Abuse, HalfClosedProbeStillGetsItsAnswer) {
  ASSERT_NO_FATAL_FAILURE(start());
  RawClient w(port());
  ASSERT_TRUE(w.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  w.shutdownWrite();
  EXPECT_TRUE(w.readToClose(2000ms)) << describe(w);
  EXPECT_EQ(w.received().rfind("HTTP/1.1 200 ", 0), 0u) << describe(w);
  EXPECT_EQ(countStatusLines(w.received()), 1);
}

// The client sends its whole request and at once shuts its sending side (nc -N, HTTP/1.0
// clients): it still waits for, and must get, the whole answer.
TEST_F(Abuse, HalfClosedModelCallStillGetsItsAnswer) {
  ASSERT_NO_FATAL_FAILURE(start());
  struct Kind {
    const char* name;
    std::string request;
    std::string marker;  // in the body of a whole answer
  };
  const std::vector<Kind> kinds = {
      {"streaming chat completion", requestBytes("POST", "/v1/chat/completions", chatBody("hello", true)),
       "data: [DONE]"},
      {"non-streaming response", requestBytes("POST", "/v1/responses", R"({"model":"gpt-5.5","input":"hello"})"),
       "The proxy works."},
  };
  constexpr int kCalls = 10;  // the request and its FIN race the accept loop: try it a few times
  for (const auto& kind : kinds) {
    int answered = 0;
    std::string example;
    for (int i = 0; i < kCalls; ++i) {
      RawClient w(port());
      ASSERT_TRUE(w.send(kind.request));
      w.shutdownWrite();
      const bool closed = w.readToClose(10000ms);
      // A `100 Continue` may come first: the proxy's probe of a client whose FIN it saw (an
      // interim answer every HTTP/1.1 client skips). Exactly one final answer must follow.
      auto responses = w.responses();
      std::erase_if(responses, [](const auto& r) { return r.status == 100; });
      if (closed && responses.size() == 1 && responses[0].status == 200 && responses[0].complete &&
          responses[0].body.find(kind.marker) != std::string::npos) {
        ++answered;
      } else if (example.empty()) {
        example = describe(w);
      }
    }
    EXPECT_EQ(answered, kCalls) << kind.name << ": " << kCalls - answered << " of " << kCalls
                                << " half-closed calls got no whole answer; first: " << example;
  }
  std::string log = proxy_->stderrText();
  std::size_t at = log.find("\"status\":0,");
  if (at != std::string::npos) {
    std::size_t line = log.rfind('\n', at) + 1;
    ADD_FAILURE() << "the proxy logged a request as abandoned by its client:\n"
                  << log.substr(line, log.find('\n', at) - line);
  }
}

TEST_F(Abuse, PipelinedProbesAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  RawClient w(port());
  ASSERT_TRUE(
      w.send("GET /healthz HTTP/1.1\r\nHost: x\r\nx-request-id: pipe-1\r\n\r\n"
             "GET /healthz HTTP/1.1\r\nHost: x\r\nx-request-id: pipe-2\r\n\r\n"
             "GET /healthz HTTP/1.1\r\nHost: x\r\nx-request-id: pipe-3\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(w.readToClose(3000ms)) << describe(w);
  auto responses = w.responses();
  ASSERT_EQ(responses.size(), 3u) << describe(w);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(responses[i].status, 200) << describe(w);
    EXPECT_TRUE(responses[i].complete);
    EXPECT_EQ(responses[i].header("x-request-id").value_or(""), "pipe-" + std::to_string(i + 1)) << describe(w);
  }
  // A probe pipelined behind a model call is answered after it, on the same connection.
  RawClient mixed(port());
  ASSERT_TRUE(mixed.send(requestBytes("GET", "/v1/models", "", "x-request-id: mix-1\r\n") +
                         "GET /healthz HTTP/1.1\r\nHost: x\r\nx-request-id: mix-2\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(mixed.readToClose(3000ms)) << describe(mixed);
  auto mixed_responses = mixed.responses();
  ASSERT_EQ(mixed_responses.size(), 2u) << describe(mixed);
  EXPECT_EQ(mixed_responses[0].header("x-request-id").value_or(""), "mix-1");
  EXPECT_EQ(mixed_responses[1].header("x-request-id").value_or(""), "mix-2");
}

// A long conversation's body arrives in many reads and lands in place (http_request.cpp): every
// byte of it reaches the backend, in order, and the request pipelined right behind it in the same
// bytes is neither read into the body nor lost, but answered next.
TEST_F(Abuse, ALargeBodyInPiecesWithARequestPipelinedBehindItArrivesWhole) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string text;
  for (int i = 0; text.size() < 300 * 1024; ++i) text += "turn " + std::to_string(i) + " of a long session; ";
  const std::string body = R"({"model":"gpt-5.5","input":")" + text + R"("})";
  const std::string bytes = requestBytes("POST", "/v1/responses", body, "x-request-id: big-1\r\n") +
                            "GET /healthz HTTP/1.1\r\nHost: x\r\nx-request-id: big-2\r\nConnection: close\r\n\r\n";
  RawClient w(port());
  // Several sends of uneven sizes; the kernel may merge or split them, the proxy must not care.
  for (std::size_t at = 0, piece = 1000; at < bytes.size(); at += piece, piece = piece * 3 + 7) {
    ASSERT_TRUE(w.send(std::string_view(bytes).substr(at, piece))) << describe(w);
  }
  EXPECT_TRUE(w.readToClose(10000ms)) << describe(w);
  auto responses = w.responses();
  ASSERT_EQ(responses.size(), 2u) << describe(w);
  EXPECT_EQ(responses[0].status, 200) << describe(w);
  EXPECT_EQ(responses[0].header("x-request-id").value_or(""), "big-1");
  EXPECT_EQ(responses[1].status, 200) << describe(w);
  EXPECT_EQ(responses[1].header("x-request-id").value_or(""), "big-2");
  auto requests = backend_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(requests[0].body.find(text), std::string::npos) << "the backend did not get the whole input";
}

// ---- What must keep holding ------------------------------------------------------------------------

TEST_F(Abuse, ClientKeysNeverReachTheBackend) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto bearer =
      httpRequest(port(), "POST", "/v1/chat/completions",
                  {{"Authorization", "Bearer " + kKey}, {"Content-Type", "application/json"}}, chatBody("hello"));
  EXPECT_EQ(bearer.status, 200) << bearer.body;
  auto api_key = httpRequest(port(), "POST", "/v1/responses", {{"x-api-key", kKey}},
                             R"({"model":"gpt-5.5","input":"hello","stream":true})");
  EXPECT_EQ(api_key.status, 200) << api_key.body;
  auto both = httpRequest(port(), "POST", "/v1/chat/completions",
                          {{"Authorization", "Bearer " + kKey}, {"x-api-key", kKey}}, chatBody("hello", true));
  EXPECT_EQ(both.status, 200) << both.body;
  auto requests = backend_->requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.header("Authorization").value_or(""), "Bearer upstream-access-token");
    EXPECT_FALSE(r.header("x-api-key").has_value());
    int authorizations = 0;
    for (const auto& [name, value] : r.headers) {
      if (strcasecmp(name.c_str(), "authorization") == 0) ++authorizations;
      EXPECT_EQ(value.find(kKey), std::string::npos) << "the client key went upstream in " << name;
    }
    EXPECT_EQ(authorizations, 1);
    EXPECT_EQ(r.body.find(kKey), std::string::npos);
  }
}

TEST_F(Abuse, PathTricksNeverBypassTheKey) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const std::string path :
       {"/v1/models", "//v1/models", "/v1/models/../models", "/V1/MODELS", "/v1/models%2F", "/v1/models/",
        "/v1/models?x=1", "/v1/./models", "/v1/models/gpt-5.5", "/v1/models/..%2Fmodels", "/metrics", "/v1/models#x"}) {
    auto r = httpRequest(port(), "GET", path, {}, "", 2000);
    EXPECT_TRUE(r.status == 401 || r.status == 404) << path << " -> " << r.status << " " << r.body;
    EXPECT_EQ(r.body.find("\"object\":\"list\""), std::string::npos) << path;
    EXPECT_EQ(r.body.find("\"object\":\"model\""), std::string::npos) << path;
  }
  for (const std::string path : {"/v1/chat/completions", "/v1/chat/completions/", "//v1/chat/completions",
                                 "/V1/chat/completions", "/v1/chat/completions%2F", "/v1/./chat/completions",
                                 "/v1/chat/completions?x=1", "/v1/responses/", "/v1/responses/../responses"}) {
    auto r = httpRequest(port(), "POST", path, {{"Content-Type", "application/json"}}, chatBody("hello"), 2000);
    EXPECT_TRUE(r.status == 401 || r.status == 404) << path << " -> " << r.status << " " << r.body;
  }
  // The absolute form is reduced to its path, and still needs the key.
  auto absolute = exchange("GET http://127.0.0.1/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(absolute->received().rfind("HTTP/1.1 401 ", 0), 0u) << describe(*absolute);
  EXPECT_EQ(backend_->requestCount(), 0u);
  EXPECT_EQ(httpRequest(port(), "GET", "/v1/models", {{"x-api-key", kKey}}).status, 200);
}

TEST_F(Abuse, FiftyClientsHangingUpMidStreamCloseTheirUpstreamsQuickly) {
  ASSERT_NO_FATAL_FAILURE(start());
  constexpr int kClients = 50;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawClient>(port()));
    ASSERT_TRUE(clients.back()->send(
        requestBytes("POST", "/v1/chat/completions", chatBody("x [[scenario:output_first+stall:30]]", true))));
  }
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(clients[i]->readUntil("HTTP/1.1 200", 5000ms)) << "client " << i << ": " << describe(*clients[i]);
  }
  ASSERT_TRUE(backend_->waitForRequests(kClients, 5s));
  auto hung_up = Clock::now();
  for (auto& c : clients) c->close();
  int64_t slowest = 0;
  for (int i = 0; i < kClients; ++i) {
    auto closed = backend_->waitForClientClose(static_cast<std::size_t>(i), 5s);
    ASSERT_TRUE(closed.has_value()) << "upstream " << i << " was kept open";
    slowest = std::max(slowest, msBetween(hung_up, *closed));
  }
  EXPECT_LT(slowest, 2000) << "the slowest upstream closed " << slowest << " ms after its client left";
  auto health = httpRequest(port(), "GET", "/healthz", {}, "", 2000);
  EXPECT_EQ(health.status, 200);
}

}  // namespace

// ---- Memory after a burst --------------------------------------------------------------------

// Finding 5's other half: after a burst of large bodies and large events the worker used to keep
// ~150 MB it no longer needed (glibc kept the freed heap and raised its mmap threshold). Eight
// 12 MiB request bodies, then eight streams of one 12 MiB event each: once quiet, the worker is
// back near where it started.
//
// Not built under AddressSanitizer: there the worker's memory comes from ASan's allocator, which
// keeps freed blocks in a quarantine of its own on purpose, and glibc's allocator (what this test
// is about) is not in use at all.
#if !defined(__SANITIZE_ADDRESS__)
TEST_F(Abuse, MemoryGoesBackAfterABurstOfLargeBodiesAndEvents) {
  ASSERT_NO_FATAL_FAILURE(start({{"WORKER_THREADS", "16"}}));
  const int worker = proxy_->workerPids().at(0);
  {
    auto warm = exchange(
        requestBytes("POST", "/v1/responses", R"({"model":"gpt-5.5","input":"hello"})", "Connection: close\r\n"),
        5000ms);
    ASSERT_EQ(warm->received().rfind("HTTP/1.1 200 ", 0), 0u) << describe(*warm);
  }
  const long rss_before = vmRssKiB(worker);
  ASSERT_GT(rss_before, 0);

  constexpr int kCalls = 8;
  constexpr std::size_t kBig = 12u * 1024 * 1024;
  auto burst = [&](const std::string& request) {
    std::vector<std::unique_ptr<RawClient>> wires;
    std::vector<std::thread> senders;
    for (int i = 0; i < kCalls; ++i) {
      wires.push_back(std::make_unique<RawClient>(port()));
      RawClient* w = wires.back().get();
      senders.emplace_back([w, &request] { w->send(request); });
    }
    for (auto& t : senders) t.join();
    for (auto& w : wires) {
      EXPECT_TRUE(w->readResponses(1, 30000ms)) << printable(w->received().substr(0, 300));
      auto responses = w->responses();
      ASSERT_FALSE(responses.empty());
      EXPECT_EQ(responses.back().status, 200);
    }
  };
  // Large request bodies (one long input string each), answered normally.
  burst(requestBytes("POST", "/v1/responses", R"({"model":"gpt-5.5","input":")" + std::string(kBig, 'a') + R"("})",
                     "Connection: close\r\n"));
  // Large upstream events relayed to streaming clients (under MAX_EVENT_BYTES).
  burst(requestBytes(
      "POST", "/v1/responses",
      R"({"model":"gpt-5.5","stream":true,"input":"[[scenario:huge-event:)" + std::to_string(kBig) + R"(]]"})",
      "Connection: close\r\n"));

  long rss_after = 0;
  const bool returned = eventually(
      [&] {
        rss_after = vmRssKiB(worker);
        return rss_after > 0 && rss_after <= rss_before + 48 * 1024;
      },
      10s);
  EXPECT_TRUE(returned) << "worker RSS " << rss_before / 1024 << " MiB before the burst, still " << rss_after / 1024
                        << " MiB 10 s after it";
  EXPECT_EQ(proxy_->workerPids().at(0), worker);  // the same worker: nothing crashed
}
#endif  // !defined(__SANITIZE_ADDRESS__)
