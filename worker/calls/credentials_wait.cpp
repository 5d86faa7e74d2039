#include "worker/calls/credentials_wait.h"

#include <algorithm>

#include "common/ipc/account_messages.h"
#include "common/log/log.h"
#include "worker/calls/call_context.h"
#include "worker/calls/choose_account.h"
#include "worker/calls/wall_clock.h"
#include "worker/front/caller_keys.h"

namespace cosp::worker {

namespace {

using Clock = std::chrono::steady_clock;
using common::CredentialState;
using common::WorkerCredentials;

// The wait proper, kept out of credentialsForCall() so the common case (a usable token) costs a
// snapshot and a comparison.
[[gnu::noinline]] std::shared_ptr<const WorkerCredentials> waitForCall(CallContext& call) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point until = call.deadline.capPoint(call.worker.config.credentials_wait, start);
  WorkerContext& worker = call.worker;
  CredentialsCache& cache = credentialsCacheForCall(call);
  const std::string account = accountForCall(call);
  CredentialsWaitHooks hooks;
  hooks.request_refresh = [&worker, &cache, &account](uint64_t generation) {
    if (cache.claimRefreshRequest(generation, Clock::now(), kRefreshRequestInterval)) {
      worker.channel.send(common::encodeAccountRefreshNeeded(account, generation));
    }
  };
  hooks.client_gone = [&call] { return call.client.gone(); };
  hooks.now_ms = [] { return unixMillis(); };
  std::shared_ptr<const WorkerCredentials> got = waitForCredentials(cache, until, hooks);

  const bool usable = got->usable(unixMillis());
  const int64_t waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  const char* outcome = usable                    ? "usable"
                        : call.client.isGone()    ? "client_left"
                        : call.deadline.expired() ? "deadline"
                                                  : "unusable";
  if (call.client.isGone()) worker.metrics.recordClientDisconnect();
  common::Log::Line(usable ? common::LogLevel::Info : common::LogLevel::Warn, "credentials_waited")
      .field("request_id", call.ex.request_id)
      .field("waited_ms", waited_ms)
      .field("outcome", outcome)
      .field("state", common::credentialStateName(got->state))
      .field("generation", got->generation);
  return got;
}

}  // namespace

CredentialsVerdict judgeCredentials(const WorkerCredentials& credentials, int64_t now_ms) {
  if (credentials.usable(now_ms)) return CredentialsVerdict::Use;
  if (credentials.state == CredentialState::NeedsLogin || credentials.state == CredentialState::NoCredentials) {
    return CredentialsVerdict::Refuse;
  }
  return CredentialsVerdict::Wait;
}

std::shared_ptr<const WorkerCredentials> waitForCredentials(const CredentialsCache& cache, Clock::time_point until,
                                                            const CredentialsWaitHooks& hooks,
                                                            std::chrono::milliseconds slice) {
  std::shared_ptr<const WorkerCredentials> credentials = cache.get();
  for (;;) {
    if (judgeCredentials(*credentials, hooks.now_ms()) != CredentialsVerdict::Wait) return credentials;
    const Clock::time_point now = Clock::now();
    if (now >= until || hooks.client_gone()) return credentials;
    hooks.request_refresh(credentials->generation);
    // Any message wakes the wait (a new token, or needs_login without one); the slice bounds how
    // late a client's hang-up is noticed.
    credentials = cache.waitChanged(credentials, std::min(now + slice, until));
  }
}

const std::string& accountForCall(CallContext& call) {
  if (call.ex.account.empty()) {
    call.ex.account = chooseAccount(call.ex.session_id, *call.worker.roster(), unixMillis(), keyAccounts(call.ex));
    call.worker.metrics.recordAccountRequest(call.ex.account);
  }
  return call.ex.account;
}

CredentialsCache& credentialsCacheForCall(CallContext& call) {
  CredentialsCache* cache = call.worker.accountCredentials(accountForCall(call));
  return cache != nullptr ? *cache : call.worker.credentials;
}

void reportUnauthorized(CallContext& call, uint64_t generation) {
  call.worker.channel.send(common::encodeAccountUnauthorized(accountForCall(call), generation));
}

std::shared_ptr<const WorkerCredentials> credentialsForCall(CallContext& call) {
  std::shared_ptr<const WorkerCredentials> credentials = credentialsCacheForCall(call).get();
  if (judgeCredentials(*credentials, unixMillis()) != CredentialsVerdict::Wait) return credentials;
  return waitForCall(call);
}

common::ApiError credentialsError(const common::WorkerCredentials& c) {
  std::string code = "no_credentials";
  std::string message =
      "The proxy has no upstream credentials. Run `codex-sub-proxy login` (or set OPENAI_REFRESH_TOKEN) and "
      "restart or reload the proxy.";
  if (c.state == common::CredentialState::NeedsLogin) {
    code = "credentials_expired";
    message = "The ChatGPT login of this proxy expired or was revoked. Run `codex-sub-proxy login` on the proxy host.";
  } else if (c.state != common::CredentialState::NoCredentials) {  // expired, or not refreshed yet
    code = "credentials_expired";
    message =
        "The upstream access token expired and could not be refreshed yet; retry shortly. If this persists, "
        "run `codex-sub-proxy login`.";
  }
  return common::ApiError{503,          "server_error", message,
                          std::nullopt, code,           std::make_pair(std::string("Retry-After"), std::string("5"))};
}

}  // namespace cosp::worker
