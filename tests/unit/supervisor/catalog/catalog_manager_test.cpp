// The supervisor's model catalog: the request it sends, what it makes of the answers, and the
// manager's schedule against a manual clock with a scripted transport.
#include "supervisor/catalog/catalog_manager.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <deque>
#include <mutex>

#include "common/ipc/catalog_message.h"
#include "supervisor/catalog/catalog_fetch.h"
#include "tests/support/fakes/fake_clock.h"

namespace cosp::supervisor {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using test::FakeClock;

const char* kCatalog = R"({"models":[
  {"slug":"gpt-5.6-sol","display_name":"GPT-5.6 Sol","supported_reasoning_levels":[{"effort":"low"},{"effort":"max"}],
   "default_reasoning_level":"low","visibility":"list","context_window":400000},
  {"slug":"gpt-5.4-mini","supported_reasoning_levels":[{"effort":"low"},{"effort":"high"}],"visibility":"list"},
  {"slug":"hidden-one","visibility":"hide"}]})";

// A transport whose GET answers are queued by the test; they are handed out at once.
class CatalogTransport final : public HttpTransport {
 public:
  struct Get {
    std::string url;
    HttpHeaders headers;
    size_t max_bytes = 0;
    std::string header(const std::string& name) const {
      for (const auto& [k, v] : headers) {
        if (k == name) return v;
      }
      return {};
    }
    bool has(const std::string& name) const {
      for (const auto& [k, v] : headers) {
        if (k == name) return true;
      }
      return false;
    }
  };

  common::Result<HttpReply, std::string> post(const std::string&, const std::string&, const std::string&) override {
    return std::string("unexpected POST");
  }
  common::Result<HttpDocument, std::string> get(const std::string& url, const HttpHeaders& headers,
                                                size_t max_bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    gets_.push_back({url, headers, max_bytes});
    if (replies_.empty()) return std::string("no scripted reply");
    auto reply = std::move(replies_.front());
    replies_.pop_front();
    return reply;
  }
  void cancel() override {}

  void reply(int status, std::string body, std::string etag = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(HttpDocument{status, std::move(body), std::move(etag)});
  }
  void fail(std::string error) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(std::move(error));
  }
  std::vector<Get> gets() const {
    std::lock_guard<std::mutex> lock(mu_);
    return gets_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Get> gets_;
  std::deque<common::Result<HttpDocument, std::string>> replies_;
};

common::WorkerCredentials credentials(uint64_t generation, std::string account = "acct-1") {
  common::WorkerCredentials c;
  c.generation = generation;
  c.state = common::CredentialState::Ok;
  c.access_token = "access-" + std::to_string(generation);
  c.account_id = std::move(account);
  return c;
}

// ---- fetchCatalog and the URL ----

TEST(CatalogFetch, UrlJoinsTheBaseAndAsksForTheClientVersion) {
  EXPECT_EQ(catalogUrl("https://chatgpt.com/backend-api/codex", "0.169.0")->toString(),
            "https://chatgpt.com/backend-api/codex/models?client_version=0.169.0");
  EXPECT_EQ(catalogUrl("http://127.0.0.1:9/backend-api/codex/", "1.2.3-alpha.1")->toString(),
            "http://127.0.0.1:9/backend-api/codex/models?client_version=1.2.3-alpha.1");
  EXPECT_FALSE(catalogUrl("not a url", "0.169.0").ok());
}

TEST(CatalogFetch, SendsTokenAccountAndETag) {
  CatalogTransport t;
  t.reply(200, kCatalog, "W/\"v1\"");
  CatalogFetchResult r = fetchCatalog(t, {"http://h/models?client_version=1.0.0", "tok", "acct-1", "W/\"v0\""});
  ASSERT_EQ(r.kind, CatalogFetchResult::Kind::Fresh) << r.error;
  EXPECT_EQ(r.catalog.models.size(), 3u);
  EXPECT_EQ(r.etag, "W/\"v1\"");
  const CatalogTransport::Get get = t.gets().at(0);
  EXPECT_EQ(get.url, "http://h/models?client_version=1.0.0");
  EXPECT_EQ(get.header("Authorization"), "Bearer tok");
  EXPECT_EQ(get.header("ChatGPT-Account-ID"), "acct-1");
  EXPECT_EQ(get.header("If-None-Match"), "W/\"v0\"");
  EXPECT_EQ(get.max_bytes, kMaxCatalogBytes);

  t.reply(200, kCatalog);
  fetchCatalog(t, {"http://h/m", "tok", "", ""});
  EXPECT_FALSE(t.gets().at(1).has("ChatGPT-Account-ID"));
  EXPECT_FALSE(t.gets().at(1).has("If-None-Match"));
}

TEST(CatalogFetch, ClassifiesAnswers) {
  using Kind = CatalogFetchResult::Kind;
  CatalogTransport t;
  const CatalogFetchRequest request{"http://h/m", "tok", "acct", ""};
  t.reply(304, "");
  EXPECT_EQ(fetchCatalog(t, request).kind, Kind::NotModified);
  t.reply(401, R"({"detail":"Could not parse your authentication token."})");
  CatalogFetchResult unauthorized = fetchCatalog(t, request);
  EXPECT_EQ(unauthorized.kind, Kind::Unauthorized);
  EXPECT_EQ(unauthorized.error, "HTTP 401: Could not parse your authentication token.");
  t.reply(403, "<html>Just a moment...</html>");  // Cloudflare: not the token's fault
  CatalogFetchResult challenge = fetchCatalog(t, request);
  EXPECT_EQ(challenge.kind, Kind::Failed);
  EXPECT_EQ(challenge.error, "HTTP 403");
  t.reply(500, R"({"error":{"message":"boom\nline"}})");
  EXPECT_EQ(fetchCatalog(t, request).error, "HTTP 500: boom line");
  t.reply(200, "{\"models\":[]}");
  CatalogFetchResult empty = fetchCatalog(t, request);
  EXPECT_EQ(empty.kind, Kind::Failed);
  EXPECT_EQ(empty.status, 200);
  t.fail("timed out talking to h:80");
  CatalogFetchResult down = fetchCatalog(t, request);
  EXPECT_EQ(down.kind, Kind::Failed);
  EXPECT_EQ(down.status, 0);
  EXPECT_EQ(down.error, "timed out talking to h:80");
}

// ---- CatalogManager ----

class CatalogManagerTest : public ::testing::Test {
 protected:
  void make(std::vector<std::string> configured = {}) {
    CatalogSettings settings;
    settings.base_url = "http://127.0.0.1:9/backend-api/codex";
    settings.client_version = "0.169.0";
    settings.configured = std::move(configured);
    transport = std::make_shared<CatalogTransport>();
    auto made = CatalogManager::create(settings, transport, clock);
    ASSERT_TRUE(made.ok()) << made.error();
    mgr = std::move(made.value());
    mgr->on_change = [this] { ++changes; };
    mgr->on_unauthorized = [this](uint64_t generation) { unauthorized.push_back(generation); };
  }

  // Runs the loop's part once: a tick when due, then waits (with a deadline) for the fetch.
  bool tickAndWait() {
    auto deadline = mgr->nextDeadline();
    if (!deadline || *deadline > clock.steadyNow()) return false;
    mgr->onTick();
    pollfd pfd{mgr->eventFd(), POLLIN, 0};
    if (::poll(&pfd, 1, 5000) != 1) return false;
    mgr->onEvent();
    return true;
  }

  FakeClock clock;
  std::shared_ptr<CatalogTransport> transport;
  std::unique_ptr<CatalogManager> mgr;
  int changes = 0;
  std::vector<uint64_t> unauthorized;
};

TEST_F(CatalogManagerTest, BuiltInUntilTheFirstFetchThenTheBackendsCatalog) {
  make();
  EXPECT_EQ(mgr->served().source, common::ModelCatalog::Source::BuiltIn);
  EXPECT_EQ(mgr->nextDeadline(), std::nullopt);  // no token yet
  auto message = common::decodeCatalog(mgr->message());
  ASSERT_TRUE(message);
  EXPECT_EQ(message->models.size(), 3u);

  transport->reply(200, kCatalog, "\"e1\"");
  mgr->onCredentials(credentials(1));
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(mgr->served().source, common::ModelCatalog::Source::Backend);
  ASSERT_EQ(mgr->served().models.size(), 3u);
  EXPECT_EQ(mgr->served().etag, "\"e1\"");
  EXPECT_EQ(mgr->served().fetched_at_ms, clock.unixMillis());
  EXPECT_EQ(transport->gets().at(0).url, "http://127.0.0.1:9/backend-api/codex/models?client_version=0.169.0");
  EXPECT_EQ(transport->gets().at(0).header("Authorization"), "Bearer access-1");
  message = common::decodeCatalog(mgr->message());
  ASSERT_TRUE(message);
  EXPECT_EQ(message->models[0].slug, "gpt-5.6-sol");

  CatalogReport r = mgr->report();
  EXPECT_EQ(r.source, common::ModelCatalog::Source::Backend);
  EXPECT_EQ(r.models, 3u);
  EXPECT_EQ(r.backend_models, 3u);
  EXPECT_EQ(r.fetched_ago_s, 0);
  EXPECT_EQ(r.fetches_ok, 1u);
  EXPECT_EQ(r.next_fetch_in_s, 3600);
  EXPECT_EQ(r.client_version, "0.169.0");

  // An hour later: asked again with the ETag; 304 keeps the copy and tells the workers nothing.
  clock.advance(minutes(59));
  EXPECT_FALSE(tickAndWait());
  clock.advance(minutes(1));
  transport->reply(304, "");
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(transport->gets().at(1).header("If-None-Match"), "\"e1\"");
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(mgr->report().fetches_not_modified, 1u);
  EXPECT_EQ(mgr->report().fetched_ago_s, 0);
}

TEST_F(CatalogManagerTest, ARepeatedCatalogTellsTheWorkersNothing) {
  make();
  transport->reply(200, kCatalog, "\"e1\"");
  mgr->onCredentials(credentials(1));
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(changes, 1);
  // A backend without working ETags answers 200 with the same catalog: only the ETag moves.
  clock.advance(hours(1));
  transport->reply(200, kCatalog, "\"e2\"");
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(mgr->served().etag, "\"e2\"");
  // One entry differs in a field the workers do not parse: its raw entry changed, so it is news.
  clock.advance(hours(1));
  std::string changed = kCatalog;
  changed.replace(changed.find("400000"), 6, "500000");
  transport->reply(200, changed, "\"e3\"");
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(changes, 2);
}

TEST_F(CatalogManagerTest, AFailedFetchKeepsTheStaleCopy) {
  make();
  transport->reply(200, kCatalog);
  mgr->onCredentials(credentials(1));
  ASSERT_TRUE(tickAndWait());
  clock.advance(hours(1));
  transport->reply(502, "<html>bad gateway</html>");
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(mgr->served().source, common::ModelCatalog::Source::Backend);
  CatalogReport r = mgr->report();
  EXPECT_EQ(r.fetches_failed, 1u);
  EXPECT_EQ(r.consecutive_failures, 1);
  EXPECT_EQ(r.last_error, "HTTP 502");
  EXPECT_EQ(r.last_error_at, clock.unixSeconds());
  EXPECT_EQ(r.fetched_ago_s, 3600);
  EXPECT_EQ(r.next_fetch_in_s, 60);
}

TEST_F(CatalogManagerTest, FailureAtStartServesTheBuiltInListAndRetries) {
  make();
  transport->fail("connection refused");
  mgr->onCredentials(credentials(1));
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(changes, 0);
  EXPECT_EQ(mgr->served().source, common::ModelCatalog::Source::BuiltIn);
  EXPECT_EQ(mgr->report().last_error, "connection refused");
  EXPECT_EQ(mgr->report().fetched_ago_s, std::nullopt);
  EXPECT_EQ(mgr->report().backend_models, 0u);
  clock.advance(minutes(1));
  transport->reply(200, kCatalog);
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(mgr->served().source, common::ModelCatalog::Source::Backend);
  EXPECT_EQ(changes, 1);
}

TEST_F(CatalogManagerTest, A401IsReportedAndTheRefreshedTokenRetriesAtOnce) {
  make();
  transport->reply(401, "{}");
  mgr->onCredentials(credentials(4));
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(unauthorized, (std::vector<uint64_t>{4}));
  EXPECT_EQ(mgr->report().next_fetch_in_s, 60);
  mgr->onCredentials(credentials(5));  // the credential manager refreshed
  transport->reply(200, kCatalog);
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(transport->gets().at(1).header("Authorization"), "Bearer access-5");
  EXPECT_EQ(mgr->served().source, common::ModelCatalog::Source::Backend);
}

TEST_F(CatalogManagerTest, NoFetchWithoutAUsableToken) {
  make();
  common::WorkerCredentials needs_login = credentials(1);
  needs_login.state = common::CredentialState::NeedsLogin;
  mgr->onCredentials(needs_login);
  EXPECT_EQ(mgr->nextDeadline(), std::nullopt);
  common::WorkerCredentials expired = credentials(2);
  expired.expires_at_ms = clock.unixMillis() - 1;
  mgr->onCredentials(expired);
  EXPECT_EQ(mgr->nextDeadline(), std::nullopt);
  EXPECT_TRUE(transport->gets().empty());
}

TEST_F(CatalogManagerTest, ConfiguredModelsWinAndTakeTheCatalogsEfforts) {
  make({"gpt-5.4-mini", "my-model"});
  EXPECT_EQ(mgr->served().source, common::ModelCatalog::Source::Configured);
  ASSERT_EQ(mgr->served().models.size(), 2u);
  transport->reply(200, kCatalog);
  mgr->onCredentials(credentials(1));
  ASSERT_TRUE(tickAndWait());
  EXPECT_EQ(changes, 1);  // gpt-5.4-mini's efforts came from the backend
  EXPECT_EQ(mgr->served().source, common::ModelCatalog::Source::Configured);
  ASSERT_EQ(mgr->served().models.size(), 2u);
  EXPECT_EQ(mgr->served().models[0].efforts, (std::vector<std::string>{"low", "high"}));
  EXPECT_EQ(mgr->served().models[1].efforts.size(), 6u);
  EXPECT_EQ(mgr->report().backend_models, 3u);
}

TEST_F(CatalogManagerTest, ReconfigureAppliesCodexModelsAndRefetchesForANewVersion) {
  make();
  transport->reply(200, kCatalog, "\"e1\"");
  mgr->onCredentials(credentials(1));
  ASSERT_TRUE(tickAndWait());
  CatalogSettings next;
  next.base_url = "http://127.0.0.1:9/backend-api/codex";
  next.client_version = "0.169.0";
  next.configured = {"gpt-5.6-sol"};
  mgr->reconfigure(next);
  EXPECT_EQ(changes, 2);
  EXPECT_EQ(mgr->served().source, common::ModelCatalog::Source::Configured);
  EXPECT_EQ(mgr->report().next_fetch_in_s, 3600);  // same endpoint: no new fetch

  next.client_version = "0.170.0";
  mgr->reconfigure(next);
  transport->reply(200, kCatalog);
  ASSERT_TRUE(tickAndWait());
  const auto get = transport->gets().at(1);
  EXPECT_EQ(get.url, "http://127.0.0.1:9/backend-api/codex/models?client_version=0.170.0");
  EXPECT_FALSE(get.has("If-None-Match"));
}

}  // namespace
}  // namespace cosp::supervisor
