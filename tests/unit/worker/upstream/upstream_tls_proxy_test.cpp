// The real TLS path (throw-away CA via ca_file, SNI, ALPN, host-name checks) and
// the HTTP proxy paths (CONNECT tunnel and absolute-form), all on 127.0.0.1.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "common/net/tls_context.h"
#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/scripted_server.h"
#include "tests/support/harness/skip_policy.h"
#include "tests/support/harness/temp_dir.h"
#include "tests/support/harness/test_pki.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::FakeBackendOptions;
using test::FakeCodexBackend;

constexpr const char* kText =
    "event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"x\"}\n\n"
    "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n";

class TlsProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    auto pki = test::makeTestPki(*dir_);
    if (pki) pki_ = new test::TestPki(*pki);
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!pki_) {
      COSP_REQUIRE_TOOL("openssl", "openssl");
      FAIL() << "the openssl CLI could not make a test CA (the failed command is above)";
    }
  }

  static std::unique_ptr<FakeCodexBackend> tlsBackend(bool wrong_name = false) {
    FakeBackendOptions o;
    o.tls_cert_file = wrong_name ? pki_->wrong_cert : pki_->server_cert;
    o.tls_key_file = wrong_name ? pki_->wrong_key : pki_->server_key;
    auto b = std::make_unique<FakeCodexBackend>(o);
    b->addTranscript("text", kText);
    return b;
  }

  static UpstreamSettings settingsFor(const std::string& base_url, bool with_ca = true) {
    UpstreamSettings s;
    s.base_url = base_url;
    s.connect_timeout = 3000ms;
    s.idle_timeout = 5000ms;
    if (with_ca) s.tls.ca_file = pki_->ca_cert;
    return s;
  }

  static UpstreamRequestSpec spec(const std::string& scenario = "text") {
    UpstreamRequestSpec s;
    s.path = "/responses";
    s.headers = {{"Content-Type", "application/json"}, {"x-fake-scenario", scenario}};
    s.body = test::kAcceptedCodexBody;
    return s;
  }

  static std::string readAllSlices(UpstreamExchange& ex, ReadStatus* last) {
    std::string body;
    const auto deadline = Clock::now() + 5s;
    ReadStatus st = ReadStatus::Timeout;
    while (Clock::now() < deadline) {
      st = ex.read(body, 50ms);
      if (st == ReadStatus::End || st == ReadStatus::Error) break;
    }
    if (last) *last = st;
    return body;
  }

  static test::TempDir* dir_;
  static test::TestPki* pki_;
};

test::TempDir* TlsProxyTest::dir_ = nullptr;
test::TestPki* TlsProxyTest::pki_ = nullptr;

TEST_F(TlsProxyTest, HttpsWithCaFileStreamsAndReusesTheConnection) {
  auto backend = tlsBackend();
  UpstreamPool pool(settingsFor(backend->baseUrl()));
  for (int i = 0; i < 2; ++i) {
    auto ex = pool.send(spec("text+delay:60"));
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_EQ((*ex)->head().status, 200);
    ReadStatus last;
    const std::string body = readAllSlices(**ex, &last);
    EXPECT_EQ(last, ReadStatus::End);
    EXPECT_NE(body.find("response.completed"), std::string::npos);
    EXPECT_EQ((*ex)->reusedConnection(), i == 1);
  }
  EXPECT_EQ(backend->distinctConnections(), 1u);
  // ALPN: exactly HTTP/1.1 was offered.
  const auto alpn = backend->observedAlpn();
  ASSERT_EQ(alpn.size(), 1u);
  EXPECT_EQ(alpn[0], "http/1.1");
  // No SNI for an IP literal (RFC 6066); the certificate's IP SAN was verified.
  const auto sni = backend->observedSni();
  ASSERT_EQ(sni.size(), 1u);
  EXPECT_EQ(sni[0], "");
}

TEST_F(TlsProxyTest, SniCarriesTheHostName) {
  auto backend = tlsBackend();
  UpstreamPool pool(settingsFor("https://localhost:" + std::to_string(backend->port()) + "/backend-api/codex"));
  auto ex = pool.send(spec());
  ASSERT_TRUE(ex) << ex.error().message;
  ReadStatus last;
  readAllSlices(**ex, &last);
  EXPECT_EQ(last, ReadStatus::End);
  const auto sni = backend->observedSni();
  ASSERT_FALSE(sni.empty());
  EXPECT_EQ(sni.back(), "localhost");
}

TEST_F(TlsProxyTest, UnknownCaIsRejected) {
  auto backend = tlsBackend();
  UpstreamPool pool(settingsFor(backend->baseUrl(), /*with_ca=*/false));  // system store only
  auto ex = pool.send(spec());
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::TlsFailed);
  EXPECT_EQ(backend->requestCount(), 0u);
}

TEST_F(TlsProxyTest, HostNameMismatchIsRejectedEvenOnLoopback) {
  auto backend = tlsBackend(/*wrong_name=*/true);  // valid chain, SAN wrong.example only
  // Both by name (DNS SAN check) and by IP literal (IP SAN check).
  for (const std::string& base : {"https://localhost:" + std::to_string(backend->port()), backend->baseUrl()}) {
    UpstreamPool pool(settingsFor(base));
    auto ex = pool.send(spec());
    ASSERT_FALSE(ex) << base;
    EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::TlsFailed) << base;
    EXPECT_NE(ex.error().message.find("ertificate"), std::string::npos) << ex.error().message;
  }
  EXPECT_EQ(backend->requestCount(), 0u);
}

TEST_F(TlsProxyTest, TlsStallAbortIsSeenWithinOneSecond) {
  auto backend = tlsBackend();
  UpstreamPool pool(settingsFor(backend->baseUrl()));
  auto ex = pool.send(spec("text+stall:30"));
  ASSERT_TRUE(ex) << ex.error().message;
  std::string body;
  ASSERT_EQ((*ex)->read(body, 2s), ReadStatus::Data);
  EXPECT_EQ((*ex)->read(body, 100ms), ReadStatus::Timeout);
  const auto aborted_at = Clock::now();
  (*ex)->abort();
  const auto closed_at = backend->waitForClientClose(0, 3s);
  ASSERT_TRUE(closed_at.has_value());
  EXPECT_LT(*closed_at - aborted_at, 1s);
}

TEST_F(TlsProxyTest, TlsIdleTimeout) {
  auto backend = tlsBackend();
  UpstreamSettings s = settingsFor(backend->baseUrl());
  s.idle_timeout = 300ms;
  UpstreamPool pool(s);
  auto ex = pool.send(spec("text+stall:30"));
  ASSERT_TRUE(ex);
  ReadStatus last;
  const auto start = Clock::now();
  readAllSlices(**ex, &last);
  EXPECT_EQ(last, ReadStatus::Error);
  EXPECT_EQ((*ex)->error().kind, ReadError::Kind::IdleTimeout);
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST_F(TlsProxyTest, HttpsThroughConnectProxyWithCredentials) {
  auto backend = tlsBackend();
  test::TestProxy proxy;
  UpstreamSettings s = settingsFor(backend->baseUrl());
  s.https_proxy = "http://user:pw@127.0.0.1:" + std::to_string(proxy.port());
  UpstreamPool pool(s);
  ASSERT_TRUE(pool.proxy().has_value());
  for (int i = 0; i < 2; ++i) {
    auto ex = pool.send(spec());
    ASSERT_TRUE(ex) << ex.error().message;
    ReadStatus last;
    readAllSlices(**ex, &last);
    EXPECT_EQ(last, ReadStatus::End);
  }
  const auto lines = proxy.requestLines();
  ASSERT_EQ(lines.size(), 1u);  // one tunnel, kept alive for both exchanges
  EXPECT_EQ(lines[0], "CONNECT 127.0.0.1:" + std::to_string(backend->port()) + " HTTP/1.1");
  EXPECT_EQ(proxy.proxyAuthorizations()[0], "Basic dXNlcjpwdw==");
  const auto rec = backend->request(0);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->uri, "/backend-api/codex/responses");  // origin form inside the tunnel
  EXPECT_FALSE(rec->header("proxy-authorization").has_value());
}

TEST_F(TlsProxyTest, ProxyRefusalMapsToProxyFailed) {
  auto backend = tlsBackend();
  test::TestProxy proxy(407);
  UpstreamSettings s = settingsFor(backend->baseUrl());
  s.https_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
  UpstreamPool pool(s);
  auto ex = pool.send(spec());
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::ProxyFailed);
  EXPECT_EQ(ex.error().status, 407);
  EXPECT_TRUE(ex.error().isConnectError());
}

TEST_F(TlsProxyTest, PlainHttpThroughProxyUsesAbsoluteForm) {
  FakeCodexBackend backend;
  backend.addTranscript("text", kText);
  test::TestProxy proxy;
  UpstreamSettings s;
  s.base_url = backend.baseUrl();
  s.https_proxy = "http://u:p@127.0.0.1:" + std::to_string(proxy.port());
  UpstreamPool pool(s);
  auto ex = pool.send(spec());
  ASSERT_TRUE(ex) << ex.error().message;
  ReadStatus last;
  readAllSlices(**ex, &last);
  EXPECT_EQ(last, ReadStatus::End);
  const auto lines = proxy.requestLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "POST http://127.0.0.1:" + std::to_string(backend.port()) + "/backend-api/codex/responses HTTP/1.1");
  EXPECT_EQ(proxy.proxyAuthorizations()[0], "Basic dTpw");
}

TEST_F(TlsProxyTest, NoProxyBypassesTheProxy) {
  FakeCodexBackend backend;
  backend.addTranscript("text", kText);
  test::TestProxy proxy;
  UpstreamSettings s;
  s.base_url = backend.baseUrl();
  s.https_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
  s.no_proxy = "localhost,127.0.0.1";
  UpstreamPool pool(s);
  EXPECT_FALSE(pool.proxy().has_value());
  auto ex = pool.send(spec());
  ASSERT_TRUE(ex) << ex.error().message;
  EXPECT_EQ(proxy.connections(), 0);
  EXPECT_EQ(backend.requestCount(), 1u);
}

TEST(TlsContextTest, MissingCaFileIsAClearError) {
  auto ctx = common::tryMakeClientTlsContext(common::TlsOptions{"/nonexistent/ca.pem"});
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().find("/nonexistent/ca.pem"), std::string::npos);
  auto sys = common::tryMakeClientTlsContext(common::TlsOptions{});
  ASSERT_TRUE(sys) << sys.error();
  EXPECT_EQ((*sys)->verificationMode(), Poco::Net::Context::VERIFY_STRICT);
  EXPECT_FALSE((*sys)->sessionCacheEnabled());
}

}  // namespace
}  // namespace cosp::worker
