#pragma once

// The fakes of support/fakes/ wired to the real proxy the way the integration tests start them.
// Header-only, as it needs the fakes' libraries (cosp_fake_codex_backend, cosp_fake_oauth),
// which cosp_test_harness does not link.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/fakes/fake_oauth_server.h"
#include "tests/support/harness/paths.h"
#include "tests/support/harness/proxy_process.h"
#include "tests/support/harness/temp_dir.h"

namespace cosp::test {

inline std::int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// An access token of the fake account (acct-fake-0001) that expired 100 s ago.
inline std::string expiredAccessToken() {
  return FakeOAuthServer::makeJwt(unixSeconds() - 100, "acct-fake-0001", "user");
}

// The fake backend replaying tests/fixtures/responses, every rule of the real backend on.
inline FakeBackendOptions fixtureBackendOptions() {
  FakeBackendOptions options;
  options.fixtures_dir = fixturePath("responses");
  return options;
}

inline std::unique_ptr<FakeCodexBackend> makeFixtureBackend(FakeBackendOptions options = fixtureBackendOptions()) {
  return std::make_unique<FakeCodexBackend>(std::move(options));
}

// A proxy in front of the backend at `codex_base_url` with a fixed upstream token
// ("upstream-access-token", account "acct-123") and one worker; `extra` adds or overrides.
inline ProxyProcess::Env proxyEnv(const std::string& codex_base_url, ProxyProcess::Env extra = {}) {
  ProxyProcess::Env env = {{"CODEX_BASE_URL", codex_base_url},
                           {"OPENAI_ACCESS_TOKEN", "upstream-access-token"},
                           {"OPENAI_CHATGPT_ACCOUNT_ID", "acct-123"},
                           {"WORKERS", "1"}};
  for (auto& [k, v] : extra) env[k] = std::move(v);
  return env;
}

inline ProxyProcess::Env proxyEnv(const FakeCodexBackend& backend, ProxyProcess::Env extra = {}) {
  return proxyEnv(backend.baseUrl(), std::move(extra));
}

// A started proxy with `env`, waited for until it is ready (the test fails, with the proxy's stderr,
// when it is not).
inline std::unique_ptr<ProxyProcess> startReadyProxy(ProxyProcess::Env env) {
  auto proxy = std::make_unique<ProxyProcess>(std::move(env));
  proxy->start();
  EXPECT_TRUE(proxy->waitReady()) << proxy->stderrText();
  return proxy;
}

// A started, ready proxy in front of `backend` (proxyEnv).
inline std::unique_ptr<ProxyProcess> startReadyProxy(const FakeCodexBackend& backend, ProxyProcess::Env extra = {}) {
  return startReadyProxy(proxyEnv(backend, std::move(extra)));
}

// The fake backend and the fake OAuth issuer, for a proxy whose supervisor owns the credentials.
struct CredentialFakes {
  explicit CredentialFakes(FakeBackendOptions options = fixtureBackendOptions())
      : backend(makeFixtureBackend(std::move(options))) {}

  // Refresh token "rt-seed" against `oauth`, the state in `state`, two workers; `extra` adds
  // or overrides (an OPENAI_ACCESS_TOKEN to start with, CREDENTIALS_WAIT, ...).
  ProxyProcess::Env env(const TempDir& state, ProxyProcess::Env extra = {}) const {
    ProxyProcess::Env e = {{"CODEX_BASE_URL", backend->baseUrl()},
                           {"OPENAI_AUTH_BASE_URL", oauth.baseUrl()},
                           {"OPENAI_REFRESH_TOKEN", "rt-seed"},
                           {"STATE_DIR", state.path()},
                           {"WORKERS", "2"}};
    for (auto& [k, v] : extra) e[k] = std::move(v);
    return e;
  }

  std::unique_ptr<FakeCodexBackend> backend;
  FakeOAuthServer oauth;
};

// The token of a recorded call's `Authorization: Bearer <token>`, "" without one.
inline std::string bearerOf(const RecordedRequest& r) {
  const std::string authorization = r.header("Authorization").value_or("");
  return authorization.size() > 7 ? authorization.substr(7) : std::string();
}

}  // namespace cosp::test
