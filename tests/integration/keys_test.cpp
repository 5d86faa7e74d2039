// Caller keys of API_KEYS_FILE on the real binaries (SPEC §10): limits across workers, accounting
// in /metrics and across restarts, `ctl keys`.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <map>
#include <regex>
#include <thread>

#include "common/keys/keys_file.h"
#include "tests/support/harness/eventually.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/paths.h"

using namespace cosp::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kKey = "csp-integration-key-one";
constexpr const char* kOtherKey = "csp-integration-key-two";

// The fixture transcript "text" reports input 25 and output 42 tokens.
constexpr int kInput = 25, kOutput = 42;  // cached and reasoning vary with the fake's prompt cache

std::string keyEntry(const std::string& name, const std::string& key, const std::string& limits = "") {
  return R"({"name":")" + name + R"(","sha256":")" + cosp::common::keys::toHex(cosp::common::keys::sha256(key)) + "\"" +
         limits + "}";
}

void writeKeys(const std::string& path, const std::vector<std::string>& entries) {
  std::string text = R"({"keys":[)";
  for (size_t i = 0; i < entries.size(); ++i) text += (i ? "," : "") + entries[i];
  text += "]}";
  writeFile(path, text);
  ::chmod(path.c_str(), 0600);
}

HttpResult call(const ProxyProcess& proxy, const std::string& key, const std::string& model = "gpt-5.5",
                const std::string& marker = "", bool stream = false) {
  std::string body =
      R"({"model":")" + model + R"(","input":"hello)" + marker + R"(")" + (stream ? R"(,"stream":true)" : "") + "}";
  return httpRequest(proxy.port(), "POST", "/v1/responses",
                     {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}}, body, 15000);
}

std::string metricsText(const ProxyProcess& proxy) {
  return httpRequest(proxy.port(), "GET", "/metrics", {{"Authorization", std::string("Bearer ") + kOtherKey}}).body;
}

// The value of one sample line of the /metrics text, or -1.
double sample(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

struct KeysStack {
  std::unique_ptr<FakeCodexBackend> backend = makeFixtureBackend();
  TempDir dir;
  std::string keys_file = dir.file("keys.json");
  std::string state_dir = dir.file("state");

  ProxyProcess::Env env(int workers = 3) const {
    return proxyEnv(*backend, {{"API_KEYS_FILE", keys_file},
                               {"STATE_DIR", state_dir},
                               {"WORKERS", std::to_string(workers)},
                               {"CONTROL_SOCKET", dir.file("control.sock")}});
  }
};

TEST(Keys, RpmHoldsAcrossThreeWorkersWithOpenAiHeaders) {
  KeysStack s;
  writeKeys(s.keys_file, {keyEntry("team-a", kKey, R"(,"rpm":5)")});
  auto proxy = startReadyProxy(s.env());
  int passed = 0, limited = 0;
  HttpResult last_limited;
  for (int i = 0; i < 8; ++i) {
    HttpResult r = call(*proxy, kKey);  // a fresh connection each: the kernel spreads them over workers
    if (r.status == 200) ++passed;
    if (r.status == 429) {
      ++limited;
      last_limited = r;
    }
  }
  EXPECT_EQ(passed, 5);
  EXPECT_EQ(limited, 3);
  EXPECT_NE(last_limited.body.find(R"("code":"rate_limit_exceeded")"), std::string::npos) << last_limited.body;
  EXPECT_NE(last_limited.body.find(R"("type":"requests")"), std::string::npos) << last_limited.body;
  EXPECT_EQ(last_limited.header("x-ratelimit-limit-requests"), "5");
  EXPECT_EQ(last_limited.header("x-ratelimit-remaining-requests"), "0");
  EXPECT_FALSE(last_limited.header("x-ratelimit-reset-requests").empty());
  int retry_after = std::atoi(last_limited.header("retry-after").c_str());
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  EXPECT_EQ(s.backend->requestCount(), 5u);
}

TEST(Keys, MaxConcurrentAcrossWorkersRefusesAtOnce) {
  KeysStack s;
  writeKeys(s.keys_file, {keyEntry("team-a", kKey, R"(,"max_concurrent":2)")});
  auto proxy = startReadyProxy(s.env());
  std::vector<std::thread> held;
  std::atomic<int> held_ok{0};
  for (int i = 0; i < 2; ++i) {
    held.emplace_back([&] {
      if (call(*proxy, kKey, "gpt-5.5", " [[scenario:stall:3]]", true).status == 200) ++held_ok;
    });
  }
  ASSERT_TRUE(s.backend->waitForRequests(2, 10s));
  auto started = std::chrono::steady_clock::now();
  HttpResult third = call(*proxy, kKey);
  EXPECT_EQ(third.status, 429) << third.body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);  // never queued
  for (auto& t : held) t.join();
  EXPECT_EQ(held_ok.load(), 2);
  // The leases went back when the streams ended.
  EXPECT_EQ(call(*proxy, kKey).status, 200);
}

TEST(Keys, TokenBudgetModelListAndPerKeyMetrics) {
  KeysStack s;
  // 67 counted tokens a call: the second call crosses 100, the third is refused.
  writeKeys(s.keys_file,
            {keyEntry("team-a", kKey, R"(,"daily_tokens":100,"models":["gpt-5.5"])"), keyEntry("ops", kOtherKey)});
  auto proxy = startReadyProxy(s.env());
  // The backend's usage as the client saw it: the expected per-key sums.
  std::map<std::string, int> sums;
  for (const char* model : {"gpt-5.5", "gpt-5.5-high"}) {  // the effort suffix follows its base
    HttpResult ok = call(*proxy, kKey, model);
    ASSERT_EQ(ok.status, 200) << ok.body;
    for (const char* field : {"input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens"}) {
      std::smatch m;
      std::string pattern = std::string("\"") + field + "\":([0-9]+)";
      ASSERT_TRUE(std::regex_search(ok.body, m, std::regex(pattern))) << ok.body;
      sums[field] += std::stoi(m[1]);
    }
  }
  EXPECT_EQ(sums["input_tokens"], 2 * kInput);
  EXPECT_EQ(sums["output_tokens"], 2 * kOutput);
  HttpResult refused = call(*proxy, kKey);
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_NE(refused.body.find(R"("type":"tokens")"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.header("x-ratelimit-limit-tokens"), "100");
  EXPECT_EQ(refused.header("x-ratelimit-remaining-tokens"), "0");
  HttpResult forbidden = call(*proxy, kKey, "gpt-4o");
  EXPECT_EQ(forbidden.status, 403) << forbidden.body;
  EXPECT_NE(forbidden.body.find("model_not_allowed"), std::string::npos);

  // /metrics: the sums of the backend's usage, per key (pushed by the supervisor each second).
  std::string text;
  ASSERT_TRUE(eventually(
      [&] {
        text = metricsText(*proxy);
        return sample(text, R"(codex_sub_proxy_key_tokens_total{key="team-a",kind="input"})") == 2 * kInput;
      },
      5s))
      << text;
  EXPECT_EQ(sample(text, R"(codex_sub_proxy_key_tokens_total{key="team-a",kind="cached"})"), sums["cached_tokens"]);
  EXPECT_EQ(sample(text, R"(codex_sub_proxy_key_tokens_total{key="team-a",kind="output"})"), sums["output_tokens"]);
  EXPECT_EQ(sample(text, R"(codex_sub_proxy_key_tokens_total{key="team-a",kind="reasoning"})"),
            sums["reasoning_tokens"]);
  EXPECT_EQ(sample(text, R"(codex_sub_proxy_key_requests_total{key="team-a",status_class="2xx"})"), 2);
  EXPECT_EQ(sample(text, R"(codex_sub_proxy_key_requests_total{key="team-a",status_class="4xx"})"), 2);
  EXPECT_NEAR(sample(text, R"(codex_sub_proxy_key_cache_hit_ratio{key="team-a"})"),
              static_cast<double>(sums["cached_tokens"]) / sums["input_tokens"], 1e-5);
  EXPECT_EQ(text.find(kKey), std::string::npos);
}

TEST(Keys, UsageSurvivesGracefulRestartAndKill9) {
  KeysStack s;
  writeKeys(s.keys_file, {keyEntry("team-a", kKey), keyEntry("ops", kOtherKey)});
  {
    auto proxy = startReadyProxy(s.env(2));
    EXPECT_EQ(call(*proxy, kKey).status, 200);
    proxy->signal(SIGTERM);
    ASSERT_TRUE(proxy->waitExit(20s));
  }
  {
    auto proxy = startReadyProxy(s.env(2));
    EXPECT_EQ(call(*proxy, kKey).status, 200);
    // The snapshot every 10 s: wait for one that holds both calls, then kill -9.
    ASSERT_TRUE(eventually(
        [&] {
          return readFile(s.state_dir + "/keys_usage.json").find(R"("input_tokens":)" + std::to_string(2 * kInput)) !=
                 std::string::npos;
        },
        15s));
    proxy->signal(SIGKILL);
    proxy->waitExit(10s);
  }
  auto proxy = startReadyProxy(s.env(2));
  std::string text;
  EXPECT_TRUE(eventually(
      [&] {
        text = metricsText(*proxy);
        return sample(text, R"(codex_sub_proxy_key_tokens_total{key="team-a",kind="input"})") == 2 * kInput;
      },
      5s))
      << text;
  struct stat st {};
  ASSERT_EQ(::stat((s.state_dir + "/keys_usage.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Keys, CtlAddAppliesAndDisableStopsWithinTwoSeconds) {
  KeysStack s;
  writeKeys(s.keys_file, {keyEntry("ops", kOtherKey)});
  auto proxy = startReadyProxy(s.env(2));
  std::map<std::string, std::string> ctl_env = {{"API_KEYS_FILE", s.keys_file}, {"STATE_DIR", s.state_dir}};
  CommandResult added =
      runCommand("codex-sub-proxy-ctl",
                 {"--control-socket", proxy->controlSocket(), "keys", "add", "new-team", "--rpm", "100"}, ctl_env);
  ASSERT_EQ(added.exit_code, 0) << added.err;
  std::string key = added.out.substr(0, added.out.find('\n'));
  ASSERT_EQ(key.rfind("csp-", 0), 0u) << added.out;
  EXPECT_EQ(readFile(s.keys_file).find(key), std::string::npos);  // only the digest is written
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually([&] { return call(*proxy, key).status == 200; }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

  CommandResult disabled = runCommand(
      "codex-sub-proxy-ctl", {"--control-socket", proxy->controlSocket(), "keys", "disable", "new-team"}, ctl_env);
  ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
  HttpResult refused;
  EXPECT_TRUE(eventually(
      [&] {
        refused = call(*proxy, key);
        return refused.status == 401;
      },
      2s));
  EXPECT_NE(refused.body.find("disabled"), std::string::npos) << refused.body;

  CommandResult listed = runCommand("codex-sub-proxy-ctl",
                                    {"--control-socket", proxy->controlSocket(), "keys", "list", "--json"}, ctl_env);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(R"("name":"new-team","state":"disabled")"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find(R"("usage_source":"running proxy")"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find(R"("input_tokens":25)"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find(key), std::string::npos);

  // A bad file is refused; the old keys keep serving.
  writeFile(s.keys_file, R"({"keys":[{"name":"x"}]})");
  CommandResult reload =
      runCommand("codex-sub-proxy-ctl", {"--control-socket", proxy->controlSocket(), "reload"}, ctl_env);
  EXPECT_NE(reload.exit_code, 0);
  EXPECT_NE(reload.err.find("sha256"), std::string::npos) << reload.err;
  EXPECT_EQ(call(*proxy, kOtherKey).status, 200);
  // No key text in the logs.
  EXPECT_EQ(proxy->stderrText().find(key), std::string::npos);
  EXPECT_EQ(proxy->stderrText().find(kOtherKey), std::string::npos);
  EXPECT_NE(proxy->stderrText().find(R"("key":"ops")"), std::string::npos);
}

TEST(Keys, ForwardQuotaHeadersFalseHidesTheBackendQuotaFromThatKey) {
  KeysStack s;
  writeKeys(s.keys_file, {keyEntry("quiet", kKey, R"(,"forward_quota_headers":false)"), keyEntry("ops", kOtherKey)});
  auto proxy = startReadyProxy(s.env(1));
  HttpResult shown = call(*proxy, kOtherKey);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(shown.header("x-codex-primary-used-percent"), "7");
  HttpResult hidden = call(*proxy, kKey);
  ASSERT_EQ(hidden.status, 200) << hidden.body;
  EXPECT_EQ(hidden.header("x-codex-primary-used-percent"), "");
}

TEST(Keys, BadFileAtStartRefusesToStart) {
  KeysStack s;
  writeKeys(s.keys_file, {keyEntry("team-a", kKey)});
  ::chmod(s.keys_file.c_str(), 0644);
  ProxyProcess proxy(s.env(1));
  proxy.start();
  auto code = proxy.waitExit(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 78);
  EXPECT_NE(proxy.stderrText().find("must be 0600 or 0640"), std::string::npos) << proxy.stderrText();
}

}  // namespace
