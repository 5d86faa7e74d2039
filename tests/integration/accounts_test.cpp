// Several accounts (SPEC §9) through the real binaries: accounts imported from Codex CLI auth.json
// files with `codex-sub-proxy login --account NAME --import FILE`, listed, paused and resumed with
// `codex-sub-proxy-ctl accounts`, picked up while the proxy runs. The access tokens are valid for
// an hour, so no refresh is needed (the fake issuer keeps one refresh lineage only).
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/fakes/fake_oauth_server.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"

using namespace cosp::test;
using namespace std::chrono_literals;

namespace {

std::string tokenOf(const std::string& name) {
  return FakeOAuthServer::makeJwt(unixSeconds() + 3600, "acct-" + name, "user-" + name);
}

// A Codex CLI auth.json for account `name`, imported into `state` as that account.
std::string importAccount(const TempDir& state, const std::string& name, const std::string& access_token) {
  const std::string file = state.file("auth-" + name + ".json");
  writeFile(file, R"({"tokens":{"access_token":")" + access_token + R"(","refresh_token":"rt-)" + name +
                      R"(","account_id":"acct-)" + name + R"("}})");
  CommandResult r =
      runCommand("codex-sub-proxy", {"login", "--account", name, "--import", file}, {{"STATE_DIR", state.path()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("must log in again"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(access_token), std::string::npos) << "the import printed a token";
  return access_token;
}

ProxyProcess::Env accountsEnv(const CredentialFakes& f, const TempDir& state) {
  return {{"CODEX_BASE_URL", f.backend->baseUrl()},
          {"OPENAI_AUTH_BASE_URL", f.oauth.baseUrl()},
          {"STATE_DIR", state.path()},
          {"WORKERS", "2"}};
}

// name -> state, from `ctl accounts --json`; empty when it does not answer.
std::map<std::string, std::string> accountStates(const ProxyProcess& proxy) {
  std::map<std::string, std::string> states;
  CommandResult r =
      runCommand("codex-sub-proxy-ctl", {"accounts", "--json"}, {{"CONTROL_SOCKET", proxy.controlSocket()}});
  if (r.exit_code != 0) return states;
  try {
    auto list = Poco::JSON::Parser().parse(r.out).extract<Poco::JSON::Array::Ptr>();
    for (size_t i = 0; i < list->size(); ++i) {
      auto item = list->getObject(static_cast<unsigned>(i));
      states[item->getValue<std::string>("name")] = item->getValue<std::string>("state");
    }
  } catch (const Poco::Exception&) {
    states.clear();
  }
  return states;
}

// One number of account `name` in `ctl status --json`'s accounts array; nullopt when it does not
// answer or has no such account.
std::optional<int> accountInt(const ProxyProcess& proxy, const std::string& name, const std::string& key) {
  auto s = proxy.status();
  if (!s) return std::nullopt;
  auto list = s->getArray("accounts");
  if (!list) return std::nullopt;
  for (unsigned i = 0; i < list->size(); ++i) {
    auto item = list->getObject(i);
    if (item->getValue<std::string>("name") == name) return item->getValue<int>(key);
  }
  return std::nullopt;
}

// Whether `ctl status --json` lists `count` accounts and every one satisfies `check`.
bool everyAccount(const ProxyProcess& proxy, std::size_t count,
                  const std::function<bool(const Poco::JSON::Object::Ptr&)>& check) {
  auto s = proxy.status();
  if (!s) return false;
  auto list = s->getArray("accounts");
  if (!list || list->size() != count) return false;
  for (unsigned i = 0; i < list->size(); ++i) {
    if (!check(list->getObject(i))) return false;
  }
  return true;
}

int ctlAccounts(const ProxyProcess& proxy, const std::string& action, const std::string& name) {
  return runCommand("codex-sub-proxy-ctl", {"accounts", action, name}, {{"CONTROL_SOCKET", proxy.controlSocket()}})
      .exit_code;
}

std::string chat(const std::string& text = "hi", bool stream = false) {
  return R"({"model":"gpt-5.5","stream":)" + std::string(stream ? "true" : "false") +
         R"(,"messages":[{"role":"user","content":")" + text + R"("}]})";
}

// The model calls the backend saw (the supervisor's usage polls are GETs beside them).
std::vector<RecordedRequest> modelCalls(const FakeCodexBackend& backend) {
  std::vector<RecordedRequest> calls;
  for (const auto& r : backend.requests()) {
    if (r.method == "POST") calls.push_back(r);
  }
  return calls;
}

// The bearer token the backend saw on a fresh chat call (a new connection: any worker).
std::string tokenOfNextCall(const ProxyProcess& proxy, const FakeCodexBackend& backend) {
  HttpResult r = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chat());
  if (r.status != 200) return "status " + std::to_string(r.status) + ": " + r.body;
  return bearerOf(modelCalls(backend).back());
}

}  // namespace

TEST(Accounts, ThreeImportedAccountsAreListedAndServe) {
  CredentialFakes f;
  TempDir state;
  const std::string a = importAccount(state, "a", tokenOf("a"));
  const std::string b = importAccount(state, "b", tokenOf("b"));
  importAccount(state, "c", tokenOf("c"));
  struct stat st {};
  ASSERT_EQ(::stat(state.file("accounts/b.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  ProxyProcess proxy(accountsEnv(f, state));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  const std::map<std::string, std::string> expected{{"a", "ok"}, {"b", "ok"}, {"c", "ok"}};
  EXPECT_EQ(accountStates(proxy), expected);
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/readyz").status, 200);
  // Both workers hold every account: fresh connections land on either, and the same conversation
  // (no session header: its stable hash) always goes to the same account.
  const std::string first_token = tokenOfNextCall(proxy, *f.backend);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(tokenOfNextCall(proxy, *f.backend), first_token);
  const std::string used = first_token == a ? "a" : first_token == b ? "b" : "c";
  // ctl status --json has the accounts array next to the default account's credentials object.
  auto status = proxy.status();
  ASSERT_TRUE(status);
  auto accounts = status->getArray("accounts");
  ASSERT_TRUE(accounts);
  ASSERT_EQ(accounts->size(), 3u);
  auto first = accounts->getObject(0);
  EXPECT_EQ(first->getValue<std::string>("name"), "a");
  EXPECT_EQ(first->getValue<std::string>("state"), "ok");
  for (const char* key : {"account_id", "primary_used_percent", "secondary_used_percent", "resets_in_s", "requests",
                          "failovers", "last_error"}) {
    EXPECT_TRUE(first->has(key)) << key;
  }
  EXPECT_TRUE(status->has("credentials"));
  // The requests are counted on the account used (heartbeats come every second).
  ASSERT_TRUE(eventually(
      [&] {
        return everyAccount(proxy, 3, [&](const Poco::JSON::Object::Ptr& item) {
          return item->getValue<int>("requests") == (item->getValue<std::string>("name") == used ? 6 : 0);
        });
      },
      5s));
  // The usage poll asked for every account's quota with its own token: b and c took no call, so
  // their secondary window (which no response header carries) comes from the poll alone.
  ASSERT_TRUE(eventually(
      [&] {
        return everyAccount(proxy, 3, [](const Poco::JSON::Object::Ptr& item) {
          return item->getValue<int>("secondary_used_percent") == 23;
        });
      },
      10s))
      << proxy.stderrText() << "\n"
      << f.backend->sideRequests().size() << " side requests";
  std::set<std::string> polled;
  for (const auto& side : f.backend->sideRequests()) {
    if (side.method == "GET" && side.path == "/backend-api/wham/usage") polled.insert(bearerOf(side));
  }
  EXPECT_EQ(polled.size(), 3u);
  EXPECT_EQ(polled.count(a), 1u);
  // /metrics has the per-account series.
  ASSERT_TRUE(eventually(
      [&] {
        return httpRequest(proxy.port(), "GET", "/metrics")
                   .body.find("codex_sub_proxy_account_requests_total{account=\"" + used + "\"} 6") !=
               std::string::npos;
      },
      5s));
}

TEST(Accounts, PauseMovesCallsAndSurvivesARestart) {
  CredentialFakes f;
  TempDir state;
  importAccount(state, "a", tokenOf("a"));
  const std::string b = importAccount(state, "b", tokenOf("b"));
  importAccount(state, "c", tokenOf("c"));
  {
    ProxyProcess proxy(accountsEnv(f, state));
    proxy.start();
    ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
    ASSERT_EQ(ctlAccounts(proxy, "pause", "a"), 0);
    ASSERT_EQ(ctlAccounts(proxy, "pause", "c"), 0);
    EXPECT_EQ(accountStates(proxy).at("a"), "paused");
    EXPECT_NE(ctlAccounts(proxy, "pause", "nobody"), 0);
    // The roster reaches both workers at once; a few fresh calls all use b.
    ASSERT_TRUE(eventually([&] { return tokenOfNextCall(proxy, *f.backend) == b; }, 5s));
    for (int i = 0; i < 4; ++i) EXPECT_EQ(tokenOfNextCall(proxy, *f.backend), b);
    struct stat st {};
    ASSERT_EQ(::stat(state.file("accounts/paused.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    proxy.signal(SIGTERM);
    ASSERT_EQ(proxy.waitExit(15s), std::optional<int>(0));
  }
  ProxyProcess again(accountsEnv(f, state));
  again.start();
  ASSERT_TRUE(again.waitReady()) << again.stderrText();
  const std::map<std::string, std::string> expected{{"a", "paused"}, {"b", "ok"}, {"c", "paused"}};
  EXPECT_EQ(accountStates(again), expected);
  EXPECT_EQ(tokenOfNextCall(again, *f.backend), b);
  ASSERT_EQ(ctlAccounts(again, "resume", "a"), 0);
  EXPECT_EQ(accountStates(again).at("a"), "ok");
}

TEST(Accounts, AnAccountImportedWhileAStreamIsOpenServesWithinFiveSeconds) {
  CredentialFakes f;
  TempDir state;
  importAccount(state, "a", tokenOf("a"));
  importAccount(state, "b", tokenOf("b"));
  importAccount(state, "c", tokenOf("c"));
  ProxyProcess proxy(accountsEnv(f, state));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  // About 4 s of events (14 events, 300 ms apart).
  auto stream = std::async(std::launch::async, [&] {
    return httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chat("x [[scenario:text+delay:300]]", true),
                       30000);
  });
  ASSERT_TRUE(eventually([&] { return modelCalls(*f.backend).size() == 1; }, 5s));
  const std::string d = importAccount(state, "d", tokenOf("d"));
  const auto imported = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return accountStates(proxy).count("d") == 1; }, 5s)) << proxy.stderrText();
  EXPECT_LE(std::chrono::steady_clock::now() - imported, 5s + 500ms);
  EXPECT_EQ(accountStates(proxy).at("d"), "ok");
  for (const char* name : {"a", "b", "c"}) ASSERT_EQ(ctlAccounts(proxy, "pause", name), 0);
  ASSERT_TRUE(eventually([&] { return tokenOfNextCall(proxy, *f.backend) == d; }, 5s));
  HttpResult streamed = stream.get();
  EXPECT_EQ(streamed.status, 200);
  EXPECT_NE(streamed.body.find("data: [DONE]"), std::string::npos) << streamed.body;
}

TEST(Accounts, OneAccountIsTheDefaultAlone) {
  CredentialFakes f;
  TempDir state;
  ProxyProcess proxy(f.env(state));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  ASSERT_TRUE(eventually(
      [&] {
        return accountStates(proxy) == std::map<std::string, std::string>{{"default", "ok"}};
      },
      10s))
      << proxy.stderrText();
  HttpResult r = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chat());
  EXPECT_EQ(r.status, 200) << r.body;
  // Nothing of several accounts appears on disk for one account.
  struct stat st {};
  EXPECT_NE(::stat(state.file("accounts").c_str(), &st), 0);
}

namespace {

// Three imported accounts and a proxy of three workers over them.
struct ThreeAccounts {
  CredentialFakes f;
  TempDir state;
  std::map<std::string, std::string> token;  // account name -> access token
  std::map<std::string, std::string> name;   // access token -> account name
  std::unique_ptr<ProxyProcess> proxy;

  ThreeAccounts() {
    for (const char* n : {"a", "b", "c"}) {
      token[n] = importAccount(state, n, tokenOf(n));
      name[token[n]] = n;
    }
    ProxyProcess::Env env = accountsEnv(f, state);
    env["WORKERS"] = "3";
    proxy = std::make_unique<ProxyProcess>(env);
    proxy->start();
  }

  // Ready, and every account's quota known from the supervisor's first usage poll: the weights of
  // the sticky order come from the quota, so a test that follows conversations starts once they
  // have settled (the poll answers 7 % / 23 % for every account, so all weigh the same).
  bool ready() {
    if (!proxy->waitReady()) return false;
    return eventually(
        [&] {
          return everyAccount(*proxy, 3, [](const Poco::JSON::Object::Ptr& item) {
            return item->getValue<int>("secondary_used_percent") == 23;
          });
        },
        10s);
  }

  // The worker indexes that logged a request line naming an account.
  std::set<std::string> workersThatServed() const {
    std::set<std::string> workers;
    std::istringstream lines(proxy->stderrText());
    for (std::string line; std::getline(lines, line);) {
      if (line.find("\"event\":\"request\"") == std::string::npos || line.find("\"account\"") == std::string::npos) {
        continue;
      }
      const auto at = line.find("\"worker\":");
      if (at != std::string::npos) workers.insert(line.substr(at + 9, line.find_first_of(",}", at) - at - 9));
    }
    return workers;
  }

  // One call of conversation `session` on a fresh connection (any worker): its status, and the
  // accounts the backend saw it on, in order.
  std::pair<HttpResult, std::vector<std::string>> call(const std::string& session, bool stream = false) {
    const std::size_t before = modelCalls(*f.backend).size();
    HttpResult r = httpRequest(proxy->port(), "POST", "/v1/chat/completions", {{"session-id", session}},
                               chat("hello from " + session, stream));
    std::vector<std::string> seen;
    const auto calls = modelCalls(*f.backend);
    for (std::size_t i = before; i < calls.size(); ++i) seen.push_back(name[bearerOf(calls[i])]);
    return {r, seen};
  }

  // The first conversation (conv-0, conv-1, ...) that `account` serves.
  std::string sessionOn(const std::string& account) {
    for (int i = 0; i < 60; ++i) {
      const std::string session = "conv-" + std::to_string(i);
      auto [r, seen] = call(session);
      if (r.status == 200 && seen == std::vector<std::string>{account}) return session;
    }
    return "";
  }
};

// A usage-limit answer whose reset is `seconds` away (the backend's 429 body).
std::string usageLimitBody(int seconds) {
  return R"({"error":{"type":"usage_limit_reached","code":"usage_limit_reached",)"
         R"("message":"The usage limit has been reached","resets_in_seconds":)" +
         std::to_string(seconds) + "}}";
}

}  // namespace

TEST(Accounts, EveryConversationOfTwentyStaysOnOneAccountAndAllAccountsServe) {
  ThreeAccounts t;
  ASSERT_TRUE(t.ready()) << t.proxy->stderrText();
  // Turns of the 20 conversations from 4 threads at once, round after round, each on a fresh
  // connection, until every worker has served some (at least 3 rounds): each worker computes the
  // account itself.
  std::mutex mu;
  int failures = 0;
  const auto until = std::chrono::steady_clock::now() + 15s;
  int rounds = 0;
  while (rounds < 3 || (t.workersThatServed().size() < 3 && std::chrono::steady_clock::now() < until)) {
    std::vector<std::future<void>> threads;
    for (int k = 0; k < 4; ++k) {
      threads.push_back(std::async(std::launch::async, [&, k] {
        for (int i = k; i < 20; i += 4) {
          const std::string session = "conversation-" + std::to_string(i);
          HttpResult r = httpRequest(t.proxy->port(), "POST", "/v1/chat/completions", {{"session-id", session}},
                                     chat("hello from " + session));
          std::lock_guard<std::mutex> lock(mu);
          if (r.status != 200) ++failures;
        }
      }));
    }
    for (auto& th : threads) th.get();
    ++rounds;
  }
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(t.workersThatServed().size(), 3u) << t.proxy->stderrText();
  // Which account served each turn, from what the backend saw (the body names the conversation).
  std::map<std::string, std::set<std::string>> accounts_of;  // conversation -> accounts seen
  for (const auto& call : modelCalls(*t.f.backend)) {
    const auto at = call.body.find("hello from conversation-");
    if (at == std::string::npos) continue;
    const std::string rest = call.body.substr(at + 11);
    accounts_of[rest.substr(0, rest.find_first_not_of("abcdefghijklmnopqrstuvwxyz-0123456789"))].insert(
        t.name[bearerOf(call)]);
  }
  std::map<std::string, int> conversations_per_account;
  for (const auto& [session, accounts] : accounts_of) {
    EXPECT_EQ(accounts.size(), 1u) << session << " moved between accounts";
    if (!accounts.empty()) ++conversations_per_account[*accounts.begin()];
  }
  EXPECT_EQ(accounts_of.size(), 20u);
  EXPECT_EQ(conversations_per_account.size(), 3u);
  for (const auto& [account, n] : conversations_per_account) EXPECT_GE(n, 1) << account;
}

TEST(Accounts, AUsageLimitMovesTheCallToAnotherAccountWhichCoolsUntilItsReset) {
  ThreeAccounts t;
  ASSERT_TRUE(t.ready()) << t.proxy->stderrText();
  const std::string session = t.sessionOn("b");
  ASSERT_FALSE(session.empty());
  t.f.backend->addBody("usage-limit-3s", usageLimitBody(3));
  t.f.backend->setTokenScenario(t.token["b"], "status:429:usage-limit-3s");
  auto [r, seen] = t.call(session);
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "b");
  EXPECT_NE(seen[1], "b");
  const std::string other = seen[1];
  EXPECT_EQ(accountStates(*t.proxy).at("b"), "cooling");
  // While b cools, the conversation stays on the account it moved to (on every worker).
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.call(session).second, std::vector<std::string>{other});
  t.f.backend->setTokenScenario(t.token["b"], "");
  // After the reset the conversation comes back to b, and b is ok again.
  ASSERT_TRUE(eventually([&] { return t.call(session).second == std::vector<std::string>{"b"}; }, 10s));
  ASSERT_TRUE(eventually([&] { return accountStates(*t.proxy).at("b") == "ok"; }, 5s));
  ASSERT_TRUE(eventually([&] { return accountInt(*t.proxy, "b", "failovers") == 1; }, 5s));
}

TEST(Accounts, AUsageLimitInsideTheStreamAfterCreatedFailsOverTheSameWay) {
  ThreeAccounts t;
  ASSERT_TRUE(t.ready()) << t.proxy->stderrText();
  const std::string session = t.sessionOn("a");
  ASSERT_FALSE(session.empty());
  t.f.backend->setTokenScenario(t.token["a"], "fail:usage_limit_reached");
  auto [r, seen] = t.call(session, true);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("usage_limit"), std::string::npos) << r.body;
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "a");
  EXPECT_NE(seen[1], "a");
  EXPECT_EQ(accountStates(*t.proxy).at("a"), "cooling");
  // The codex.rate_limits event before the failure said a's primary window is full (its response
  // head said 7 %): the worker reports what the stream said.
  ASSERT_TRUE(eventually([&] { return accountInt(*t.proxy, "a", "primary_used_percent") == 100; }, 5s));
}

TEST(Accounts, AllAccountsExhaustedGive429WithTheEarliestReset) {
  ThreeAccounts t;
  ASSERT_TRUE(t.ready()) << t.proxy->stderrText();
  const std::map<std::string, int> resets{{"a", 300}, {"b", 120}, {"c", 600}};
  for (const auto& [account, seconds] : resets) {
    t.f.backend->addBody("limit-" + account, usageLimitBody(seconds));
    t.f.backend->setTokenScenario(t.token[account], "status:429:limit-" + account);
  }
  auto [r, seen] = t.call("exhausted");
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_NE(r.body.find("\"usage_limit_reached\""), std::string::npos) << r.body;
  ASSERT_EQ(r.headers.count("retry-after"), 1u);
  const int retry_after = std::stoi(r.headers.at("retry-after"));
  EXPECT_LE(retry_after, 120);
  EXPECT_GE(retry_after, 115);
  // Each account was tried exactly once.
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(seen.size(), 3u);
  // A later call tries none: every account cools (once each worker holds the supervisor's roster),
  // and /readyz says so.
  ASSERT_TRUE(eventually(
      [&] {
        auto [again, tried] = t.call("exhausted-later");
        return again.status == 429 && tried.empty();
      },
      5s));
  ASSERT_TRUE(eventually([&] { return httpRequest(t.proxy->port(), "GET", "/readyz").status == 503; }, 5s));
}

TEST(Accounts, AnAccountWhoseLoginWasRevokedIsSkippedWhileReadyzStays200) {
  ThreeAccounts t;
  ASSERT_TRUE(t.ready()) << t.proxy->stderrText();
  const std::string session = t.sessionOn("c");
  ASSERT_FALSE(session.empty());
  // The backend refuses c's token and the issuer does not know its refresh token: revoked.
  t.f.backend->rejectToken(t.token["c"]);
  auto [r, seen] = t.call(session);
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.front(), "c");
  EXPECT_NE(seen.back(), "c");
  ASSERT_TRUE(eventually([&] { return accountStates(*t.proxy).at("c") == "needs_login"; }, 10s))
      << t.proxy->stderrText();
  EXPECT_EQ(httpRequest(t.proxy->port(), "GET", "/readyz").status, 200);
  // New calls of that conversation go straight to another account.
  auto [next, seen_next] = t.call(session);
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(seen_next, std::vector<std::string>{seen.back()});
}
