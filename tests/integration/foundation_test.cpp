// Foundation behaviour on the real binaries: workers, caller auth, config exits, ctl.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"

using namespace cosp::test;
using namespace std::chrono_literals;

TEST(Foundation, FourWorkersAllAnswerModels) {
  ProxyProcess proxy(ProxyProcess::Env{{"WORKERS", "4"}});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto pids = proxy.workerPids();
  ASSERT_EQ(pids.size(), 4u);
  EXPECT_EQ(std::set<int>(pids.begin(), pids.end()).size(), 4u);

  // Keep sending from several threads until every worker's heartbeat shows it answered.
  std::atomic<int> ok{0}, bad{0};
  auto allAnswered = [&] {
    auto s = proxy.status();
    auto workers = s ? s->getArray("workers") : nullptr;
    if (!workers || workers->size() != 4) return false;
    for (size_t i = 0; i < workers->size(); ++i) {
      if (workers->getObject(static_cast<unsigned>(i))->getValue<int>("requests") == 0) return false;
    }
    return true;
  };
  std::atomic<bool> done{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!done) {
        auto r = httpRequest(proxy.port(), "GET", "/v1/models");
        if (r.status == 200 && r.body.find("\"object\":\"list\"") != std::string::npos)
          ++ok;
        else
          ++bad;
      }
    });
  }
  bool answered = eventually(allAnswered, 15s);
  done = true;
  for (auto& c : clients) c.join();
  EXPECT_TRUE(answered) << "not every worker served /v1/models";
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(bad.load(), 0);

  auto models = httpRequest(proxy.port(), "GET", "/v1/models");
  Poco::JSON::Parser parser;
  auto list = parser.parse(models.body).extract<Poco::JSON::Object::Ptr>();
  auto data = list->getArray("data");
  // No credentials, so no catalog fetch: the built-in list of 3 models.
  ASSERT_EQ(data->size(), 3u);
  EXPECT_EQ(data->getObject(0)->getValue<std::string>("id"), "gpt-5.5");
  EXPECT_EQ(data->getObject(0)->getValue<std::string>("object"), "model");
}

TEST(Foundation, CallerAuthWithBothHeaders) {
  ProxyProcess proxy(ProxyProcess::Env{{"PROXY_API_KEY", "alpha-key,beta-key"}});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  int port = proxy.port();

  auto missing = httpRequest(port, "GET", "/v1/models");
  EXPECT_EQ(missing.status, 401);
  EXPECT_NE(missing.body.find("\"type\":\"authentication_error\""), std::string::npos);
  EXPECT_FALSE(missing.header("x-request-id").empty());

  EXPECT_EQ(httpRequest(port, "GET", "/v1/models", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(httpRequest(port, "GET", "/v1/models", {{"x-api-key", "wrong"}}).status, 401);
  EXPECT_EQ(httpRequest(port, "GET", "/v1/models", {{"Authorization", "Bearer alpha-key"}}).status, 200);
  EXPECT_EQ(httpRequest(port, "GET", "/v1/models", {{"Authorization", "Bearer beta-key"}}).status, 200);
  EXPECT_EQ(httpRequest(port, "GET", "/v1/models", {{"x-api-key", "beta-key"}}).status, 200);
  // A prefix of a key is not the key.
  EXPECT_EQ(httpRequest(port, "GET", "/v1/models", {{"x-api-key", "alpha"}}).status, 401);

  // Health probes need no key; metrics do.
  EXPECT_EQ(httpRequest(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(httpRequest(port, "GET", "/readyz").status, 503);
  EXPECT_EQ(httpRequest(port, "GET", "/metrics").status, 401);
}

TEST(Foundation, RoutesErrorsAndRequestIds) {
  ProxyProcess proxy(ProxyProcess::Env{{"MAX_BODY_BYTES", "4KiB"}});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  int port = proxy.port();

  auto id = httpRequest(port, "GET", "/healthz", {{"x-request-id", "trace-abc.123"}});
  EXPECT_EQ(id.header("x-request-id"), "trace-abc.123");
  auto bad_id = httpRequest(port, "GET", "/healthz", {{"x-request-id", "evil\"id with spaces"}});
  EXPECT_EQ(bad_id.header("x-request-id").rfind("req_", 0), 0u);

  auto unknown = httpRequest(port, "GET", "/v1/embeddings");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("\"error\":{\"message\""), std::string::npos);

  auto wrong_method = httpRequest(port, "GET", "/v1/chat/completions");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "POST");

  auto files = httpRequest(port, "POST", "/v1/files", {}, "x");
  EXPECT_EQ(files.status, 501);
  EXPECT_NE(files.body.find("\"code\":\"not_implemented\""), std::string::npos);

  auto model = httpRequest(port, "GET", "/v1/models/gpt-5.4-mini");
  EXPECT_EQ(model.status, 200);
  EXPECT_NE(model.body.find("\"id\":\"gpt-5.4-mini\""), std::string::npos);
  EXPECT_EQ(httpRequest(port, "GET", "/v1/models/gpt-5.5-high").status, 200);
  auto missing_model = httpRequest(port, "GET", "/v1/models/nope");
  EXPECT_EQ(missing_model.status, 404);
  EXPECT_NE(missing_model.body.find("\"code\":\"model_not_found\""), std::string::npos);

  auto too_big =
      httpRequest(port, "POST", "/v1/chat/completions", {{"Content-Type", "application/json"}}, std::string(8192, 'x'));
  EXPECT_EQ(too_big.status, 413);
  EXPECT_NE(too_big.body.find("\"code\":\"request_too_large\""), std::string::npos);

  // The access log has one JSON line per request, with the request id and no header values.
  std::string log = proxy.stderrText();
  EXPECT_NE(log.find("\"event\":\"request\",\"request_id\":\"trace-abc.123\""), std::string::npos);
}

TEST(Foundation, InvalidPortExits78NamingPort) {
  TempDir dir;
  auto result = runCommand("codex-sub-proxy", {}, {{"PORT", "abc"}, {"HOST", "127.0.0.1"}, {"STATE_DIR", dir.path()}});
  EXPECT_EQ(result.exit_code, 78);
  EXPECT_NE(result.err.find("PORT"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("--port"), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << "one line: " << result.err;

  auto flag = runCommand("codex-sub-proxy", {"--port", "70000"}, {{"HOST", "127.0.0.1"}, {"STATE_DIR", dir.path()}});
  EXPECT_EQ(flag.exit_code, 78);
  EXPECT_NE(flag.err.find("PORT"), std::string::npos);
}

TEST(Foundation, NoKeyOnPublicAddressExits78) {
  TempDir dir;
  auto result = runCommand("codex-sub-proxy", {}, {{"HOST", "0.0.0.0"}, {"PORT", "3999"}, {"STATE_DIR", dir.path()}});
  EXPECT_EQ(result.exit_code, 78);
  EXPECT_NE(result.err.find("PROXY_API_KEY"), std::string::npos) << result.err;

  // --help and --version answer even so.
  auto help = runCommand("codex-sub-proxy", {"--help"}, {{"HOST", "0.0.0.0"}, {"STATE_DIR", dir.path()}});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("PROXY_API_KEY"), std::string::npos);
  EXPECT_EQ(runCommand("codex-sub-proxy", {"--version"}, {{"HOST", "0.0.0.0"}}).exit_code, 0);

  // ... unless explicitly allowed, which --check-config confirms without serving.
  auto allowed = runCommand("codex-sub-proxy", {"--check-config", "--allow-unauthenticated"},
                            {{"HOST", "0.0.0.0"}, {"PORT", "3999"}, {"STATE_DIR", dir.path()}});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
}

TEST(Foundation, ConfigFileUnknownKeyExits78) {
  TempDir dir;
  writeFile(dir.file("proxy.conf"), "port = 3001\nno-such-option = 1\n");
  auto result = runCommand("codex-sub-proxy", {"--check-config", "--config", dir.file("proxy.conf")},
                           {{"HOST", "127.0.0.1"}, {"STATE_DIR", dir.path()}});
  EXPECT_EQ(result.exit_code, 78);
  EXPECT_NE(result.err.find("no-such-option"), std::string::npos) << result.err;
}

TEST(Foundation, CtlStatusJsonListsWorkers) {
  ProxyProcess proxy(ProxyProcess::Env{{"WORKERS", "3"}, {"OPENAI_ACCESS_TOKEN", "test-access-token-123"}});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto result = runCommand("codex-sub-proxy-ctl", {"status", "--json"}, {{"CONTROL_SOCKET", proxy.controlSocket()}});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  Poco::JSON::Parser parser;
  auto status = parser.parse(result.out).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(status->getValue<int>("pid"), proxy.pid());
  auto workers = status->getArray("workers");
  ASSERT_EQ(workers->size(), 3u);
  std::set<int> pids;
  for (size_t i = 0; i < workers->size(); ++i) {
    auto w = workers->getObject(static_cast<unsigned>(i));
    EXPECT_EQ(w->getValue<std::string>("state"), "ready");
    int pid = w->getValue<int>("pid");
    EXPECT_GT(pid, 0);
    EXPECT_TRUE(processAlive(pid)) << "worker pid " << pid << " is not a live process";
    pids.insert(pid);
  }
  EXPECT_EQ(pids.size(), 3u);
  EXPECT_EQ(result.out.find("test-access-token-123"), std::string::npos) << "ctl must never show a token";

  auto human = runCommand("codex-sub-proxy-ctl", {"status"}, {{"CONTROL_SOCKET", proxy.controlSocket()}});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("WORKERS"), std::string::npos);

  // Degraded (no credentials) -> exit 1; not running -> exit 3.
  ProxyProcess no_creds;
  no_creds.start();
  ASSERT_TRUE(no_creds.waitReady()) << no_creds.stderrText();
  EXPECT_EQ(runCommand("codex-sub-proxy-ctl", {"status", "--quiet"}, {{"CONTROL_SOCKET", no_creds.controlSocket()}})
                .exit_code,
            1);
  TempDir empty;
  EXPECT_EQ(runCommand("codex-sub-proxy-ctl", {"status"}, {{"CONTROL_SOCKET", empty.file("none.sock")}}).exit_code, 3);
}

TEST(Foundation, ControlSocketIsPrivate) {
  ProxyProcess proxy;
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  struct stat st {};
  ASSERT_EQ(::stat(proxy.controlSocket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// `ctl reload` is the unit's ExecReload=: it must return only once the new workers serve, and
// fail with the reason when the supervisor rejects the file (it keeps the old settings).
TEST(Foundation, CtlReloadWaitsForTheNewWorkersAndReportsARejectedConfig) {
  TempDir dir;
  writeFile(dir.file("proxy.conf"), "log-level = info\n");
  ProxyProcess proxy(ProxyProcess::Env{{"WORKERS", "2"}, {"OPENAI_ACCESS_TOKEN", "test-access-token-123"}},
                     {"--config", dir.file("proxy.conf")});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  const std::vector<int> before = proxy.workerPids();
  ASSERT_EQ(before.size(), 2u);
  const ProxyProcess::Env ctl_env = {{"CONTROL_SOCKET", proxy.controlSocket()}};

  auto reload = runCommand("codex-sub-proxy-ctl", {"reload"}, ctl_env);
  EXPECT_EQ(reload.exit_code, 0) << reload.out << reload.err;
  EXPECT_EQ(reload.out, "reload done: generation 2, 2/2 workers ready\n");
  // Read right after ctl returned, without waiting: the reload is over and both slots run new workers.
  auto status = proxy.status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->getValue<std::string>("state"), "running");
  EXPECT_EQ(status->getValue<int>("generation"), 2);
  const std::vector<int> after = proxy.workerPids();
  ASSERT_EQ(after.size(), 2u);
  for (int pid : after) {
    EXPECT_EQ(std::count(before.begin(), before.end(), pid), 0) << "worker " << pid << " was not replaced";
  }

  writeFile(dir.file("proxy.conf"), "log-level = info\nno-such-option = 1\n");
  auto rejected = runCommand("codex-sub-proxy-ctl", {"reload"}, ctl_env);
  EXPECT_EQ(rejected.exit_code, 1) << rejected.out << rejected.err;
  EXPECT_EQ(rejected.out, "");
  EXPECT_NE(rejected.err.find("codex-sub-proxy-ctl: reload rejected: "), std::string::npos) << rejected.err;
  EXPECT_NE(rejected.err.find("no-such-option"), std::string::npos) << rejected.err;
  status = proxy.status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->getValue<int>("generation"), 2) << "a rejected file must change nothing";
  EXPECT_EQ(proxy.workerPids(), after);
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/healthz").status, 200);
}

TEST(Foundation, CtlStopIsGraceful) {
  ProxyProcess proxy;
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto result = runCommand("codex-sub-proxy-ctl", {"stop"}, {{"CONTROL_SOCKET", proxy.controlSocket()}});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(proxy.waitExit(10s), std::optional<int>(0));
}
