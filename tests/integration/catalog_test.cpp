// The model catalog through the real binaries: the supervisor fetches it from a scripted backend
// (`GET {CODEX_BASE_URL}/models?client_version=`) and the workers serve it on /v1/models.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <strings.h>

#include <functional>
#include <map>
#include <mutex>
#include <sstream>

#include "tests/support/fakes/fake_oauth_server.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"
#include "tests/support/harness/scripted_server.h"

using namespace cosp::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAccount = "acct-catalog-0001";

// Shaped like the backend's answer (a dump of 2026-08): a model with efforts up to ultra, a
// smaller one, a hidden one, and members the proxy does not read.
const char* kCatalog = R"({"models":[
  {"slug":"gpt-5.6-sol","display_name":"GPT-5.6 Sol","supported_reasoning_levels":[
    {"effort":"low","description":"a"},{"effort":"medium","description":"b"},{"effort":"high","description":"c"},
    {"effort":"xhigh","description":"d"},{"effort":"max","description":"e"},{"effort":"ultra","description":"f"}],
   "default_reasoning_level":"medium","visibility":"list","supported_in_api":true,"context_window":400000,
   "priority":1,"service_tiers":["default","priority"]},
  {"slug":"gpt-5.4-mini","display_name":"GPT-5.4 mini","supported_reasoning_levels":[
    {"effort":"low","description":"a"},{"effort":"high","description":"c"}],
   "default_reasoning_level":"low","visibility":"list"},
  {"slug":"codex-auto-review","display_name":"Auto review","supported_reasoning_levels":[
    {"effort":"low","description":"a"}],"visibility":"hide"}]})";

struct SeenRequest {
  std::string method, target;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

std::string httpAnswer(int status, const std::string& body, const std::string& extra_headers = {}) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
}

// The backend's catalog endpoint, answered by `answer`; every request is recorded.
class CatalogBackend {
 public:
  using Answer = std::function<std::string(const SeenRequest&)>;
  explicit CatalogBackend(Answer answer) : answer_(std::move(answer)), server_([this](int fd, int) { serve(fd); }) {}

  std::string baseUrl() const { return server_.url() + "/backend-api/codex"; }
  std::vector<SeenRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void serve(int fd) {
    const std::string raw = readHttpRequest(fd, 5s);
    if (raw.empty()) return;
    SeenRequest seen;
    std::istringstream in(raw.substr(0, raw.find("\r\n\r\n")));
    std::string line;
    std::getline(in, line);
    std::istringstream first(line);
    first >> seen.method >> seen.target;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      seen.headers[name] = value;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(seen);
    }
    writeAll(fd, answer_(seen));
  }

  Answer answer_;
  mutable std::mutex mu_;
  std::vector<SeenRequest> requests_;
  ScriptedServer server_;  // last: its threads stop before what they use goes
};

std::vector<std::string> listedIds(int port) {
  auto r = httpRequest(port, "GET", "/v1/models");
  std::vector<std::string> ids;
  if (r.status != 200) return ids;
  Poco::JSON::Parser parser;
  auto data = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>()->getArray("data");
  for (size_t i = 0; i < data->size(); ++i)
    ids.push_back(data->getObject(static_cast<unsigned>(i))->getValue<std::string>("id"));
  return ids;
}

bool lists(int port, const std::string& id) {
  auto ids = listedIds(port);
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

Poco::JSON::Object::Ptr catalogStatus(const ProxyProcess& proxy) {
  auto s = proxy.status();
  return s ? s->getObject("catalog") : nullptr;
}

ProxyProcess::Env env(const CatalogBackend& backend, const std::string& token, ProxyProcess::Env extra = {}) {
  ProxyProcess::Env e = {{"CODEX_BASE_URL", backend.baseUrl()},
                         {"OPENAI_ACCESS_TOKEN", token},
                         {"OPENAI_CHATGPT_ACCOUNT_ID", kAccount},
                         {"WORKERS", "2"}};
  for (auto& [k, v] : extra) e[k] = v;
  return e;
}

}  // namespace

TEST(Catalog, FetchedWithTheTokenAndFingerprintAndServedByEveryWorker) {
  CatalogBackend backend([](const SeenRequest&) { return httpAnswer(200, kCatalog, "ETag: \"cat-1\"\r\n"); });
  const std::string token = FakeOAuthServer::makeJwt(unixSeconds() + 3600, kAccount, "user");
  ProxyProcess proxy(env(backend, token, {{"CODEX_CLIENT_VERSION", "0.170.0"}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  ASSERT_TRUE(eventually([&] { return lists(proxy.port(), "gpt-5.6-sol"); }, 10s)) << proxy.stderrText();

  ASSERT_EQ(backend.requests().size(), 1u);  // once at start, not once per worker
  const SeenRequest request = backend.requests()[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/backend-api/codex/models?client_version=0.170.0");
  EXPECT_EQ(request.header("authorization"), "Bearer " + token);
  EXPECT_EQ(request.header("chatgpt-account-id"), kAccount);
  EXPECT_EQ(request.header("version"), "0.170.0");
  EXPECT_EQ(request.header("originator"), "codex_cli_rs");
  EXPECT_EQ(request.header("user-agent").rfind("codex_cli_rs/0.170.0 (", 0), 0u) << request.header("user-agent");
  EXPECT_EQ(request.header("if-none-match"), "");  // nothing held yet

  // Every worker serves the fetched catalog (each got it pushed, microseconds apart): the listed
  // models, no hidden one.
  const std::vector<std::string> expected = {"gpt-5.6-sol", "gpt-5.4-mini"};
  EXPECT_TRUE(eventually(
      [&] {
        for (int i = 0; i < 6; ++i) {
          if (listedIds(proxy.port()) != expected) return false;
        }
        return true;
      },
      5s));
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/v1/models/gpt-5.6-sol-ultra").status, 200);
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/v1/models/gpt-5.4-mini-xhigh").status, 404);  // not its effort
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/v1/models/gpt-5.5").status, 404);             // not in this catalog
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/v1/models/codex-auto-review").status, 200);   // hidden, callable

  auto catalog = catalogStatus(proxy);
  ASSERT_TRUE(catalog);
  EXPECT_EQ(catalog->getValue<std::string>("source"), "backend");
  EXPECT_EQ(catalog->getValue<int>("models"), 3);
  EXPECT_EQ(catalog->getValue<int>("fetches_ok"), 1);
  EXPECT_EQ(catalog->getValue<std::string>("client_version"), "0.170.0");
  EXPECT_GE(catalog->getValue<int>("next_fetch_in_s"), 3500);

  // A worker started later (a reload) gets the catalog at start, before it serves.
  proxy.signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] {
        auto s = proxy.status();
        auto workers = s ? s->getArray("workers") : nullptr;
        if (!workers || workers->size() != 2) return false;
        for (size_t i = 0; i < workers->size(); ++i) {
          auto w = workers->getObject(static_cast<unsigned>(i));
          if (w->getValue<int>("generation") != 2 || w->getValue<std::string>("state") != "ready") return false;
        }
        return true;
      },
      20s))
      << proxy.stderrText();
  EXPECT_TRUE(lists(proxy.port(), "gpt-5.6-sol"));
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/v1/models/gpt-5.6-sol-max").status, 200);
  EXPECT_EQ(backend.requests().size(), 1u);  // the same endpoint and version: no new fetch

  // The supervisor pushes the /metrics text to the workers once a second.
  std::string metrics;
  EXPECT_TRUE(eventually(
      [&] {
        metrics = httpRequest(proxy.port(), "GET", "/metrics").body;
        return metrics.find("codex_sub_proxy_catalog_fetches_total{result=\"ok\"} 1") != std::string::npos;
      },
      5s))
      << metrics;
  EXPECT_NE(metrics.find("codex_sub_proxy_catalog_models 3"), std::string::npos) << metrics;
  EXPECT_EQ(proxy.stderrText().find(token), std::string::npos) << "the token leaked into the log";
}

TEST(Catalog, AFailedFetchAtStartServesTheBuiltInList) {
  CatalogBackend backend([](const SeenRequest&) { return httpAnswer(500, R"({"detail":"catalog down"})"); });
  ProxyProcess proxy(env(backend, FakeOAuthServer::makeJwt(unixSeconds() + 3600, kAccount, "user")));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  ASSERT_TRUE(eventually(
      [&] {
        auto c = catalogStatus(proxy);
        return c && c->getValue<int>("fetches_failed") >= 1;
      },
      10s))
      << proxy.stderrText();
  auto catalog = catalogStatus(proxy);
  ASSERT_TRUE(catalog);
  EXPECT_EQ(catalog->getValue<std::string>("source"), "built-in");
  EXPECT_EQ(catalog->getValue<std::string>("last_error"), "HTTP 500: catalog down");
  EXPECT_TRUE(catalog->isNull("fetched_ago_s"));
  EXPECT_LE(catalog->getValue<int>("next_fetch_in_s"), 60);  // retried within a minute, not an hour

  const std::vector<std::string> ids = listedIds(proxy.port());
  ASSERT_EQ(ids, (std::vector<std::string>{"gpt-5.5", "gpt-5.4", "gpt-5.4-mini"})) << proxy.stderrText();
  EXPECT_EQ(std::find(ids.begin(), ids.end(), "gpt-5.5-pro"), ids.end());
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/v1/models/gpt-5.4-mini-xhigh").status, 200);
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/v1/models/gpt-5.5-minimal").status, 404);
  EXPECT_NE(proxy.stderrText().find("catalog_fetch_failed"), std::string::npos);
}

TEST(Catalog, CodexModelsWinsOverTheCatalog) {
  CatalogBackend backend([](const SeenRequest&) { return httpAnswer(200, kCatalog); });
  ProxyProcess proxy(env(backend, FakeOAuthServer::makeJwt(unixSeconds() + 3600, kAccount, "user"),
                         {{"CODEX_MODELS", "gpt-5.4-mini,my-model"}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  ASSERT_TRUE(eventually(
      [&] {
        auto c = catalogStatus(proxy);
        return c && c->getValue<int>("fetches_ok") == 1;
      },
      10s))
      << proxy.stderrText();
  // gpt-5.4-mini takes the catalog's efforts once fetched; the workers get the update.
  const std::vector<std::string> expected = {"gpt-5.4-mini", "my-model"};
  std::vector<std::string> ids;
  EXPECT_TRUE(eventually(
      [&] {
        for (int i = 0; i < 4; ++i) {
          if ((ids = listedIds(proxy.port())) != expected) return false;
        }
        return true;
      },
      10s))
      << ids.size();
  // gpt-5.4-mini resolves only the catalog's efforts (low, high) once every worker has it; my-model,
  // which the catalog lacks, every effort.
  EXPECT_TRUE(eventually(
      [&] {
        for (int i = 0; i < 4; ++i) {
          if (httpRequest(proxy.port(), "GET", "/v1/models/gpt-5.4-mini-xhigh").status != 404) return false;
        }
        return true;
      },
      10s));
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/v1/models/gpt-5.4-mini-high").status, 200);
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/v1/models/my-model-xhigh").status, 200);
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/v1/models/gpt-5.6-sol").status, 404);
  auto catalog = catalogStatus(proxy);
  ASSERT_TRUE(catalog);
  EXPECT_EQ(catalog->getValue<std::string>("source"), "configured");
  EXPECT_EQ(catalog->getValue<int>("models"), 2);
  EXPECT_EQ(catalog->getValue<int>("backend_models"), 3);
}

TEST(Catalog, A401RefreshesTheTokenAndTheFreshTokenFetchesAgain) {
  FakeOAuthServer oauth;
  const std::string stale = FakeOAuthServer::makeJwt(unixSeconds() + 3600, kAccount, "user");
  CatalogBackend backend([&](const SeenRequest& r) {
    if (r.header("authorization") == "Bearer " + stale) {
      return httpAnswer(401, R"({"detail":"Your authentication token has been invalidated."})");
    }
    return httpAnswer(200, kCatalog);
  });
  TempDir state;
  ProxyProcess proxy(env(
      backend, stale,
      {{"OPENAI_REFRESH_TOKEN", "rt-seed"}, {"OPENAI_AUTH_BASE_URL", oauth.baseUrl()}, {"STATE_DIR", state.path()}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  ASSERT_TRUE(eventually([&] { return lists(proxy.port(), "gpt-5.6-sol"); }, 15s)) << proxy.stderrText();
  const auto requests = backend.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[0].header("authorization"), "Bearer " + stale);
  ASSERT_EQ(oauth.issuedAccessTokens().size(), 1u);
  EXPECT_EQ(requests.back().header("authorization"), "Bearer " + oauth.issuedAccessTokens()[0]);
  auto catalog = catalogStatus(proxy);
  ASSERT_TRUE(catalog);
  EXPECT_EQ(catalog->getValue<int>("fetches_failed"), 1);
  EXPECT_EQ(catalog->getValue<int>("fetches_ok"), 1);
}

TEST(Catalog, AReloadWithANewClientVersionFetchesWithTheNewFingerprint) {
  CatalogBackend backend([](const SeenRequest&) { return httpAnswer(200, kCatalog); });
  const std::string token = FakeOAuthServer::makeJwt(unixSeconds() + 3600, kAccount, "user");
  TempDir conf;
  writeFile(conf.file("proxy.conf"), "codex-client-version = 0.170.0\n");
  ProxyProcess proxy(env(backend, token), {"--config", conf.file("proxy.conf")});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  ASSERT_TRUE(eventually([&] { return backend.requests().size() == 1; }, 10s)) << proxy.stderrText();
  EXPECT_EQ(backend.requests()[0].header("version"), "0.170.0");

  // The catalog is fetched again for the new version, and the token calls and the catalog fetch
  // present the new release from then on, not the one the supervisor started with.
  writeFile(conf.file("proxy.conf"), "codex-client-version = 0.171.0\n");
  proxy.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return backend.requests().size() == 2; }, 10s)) << proxy.stderrText();
  const SeenRequest request = backend.requests()[1];
  EXPECT_EQ(request.target, "/backend-api/codex/models?client_version=0.171.0");
  EXPECT_EQ(request.header("version"), "0.171.0");
  EXPECT_EQ(request.header("user-agent").rfind("codex_cli_rs/0.171.0 (", 0), 0u) << request.header("user-agent");
}
