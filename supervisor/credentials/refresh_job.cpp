#include "supervisor/credentials/refresh_job.h"

#include "supervisor/credentials/credential_seed.h"

namespace cosp::supervisor {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kShutdownGrace{700};  // let an in-flight refresh land on disk
constexpr milliseconds kShutdownAbort{300};  // after cancel(): time for the thread to notice

// The refresh thread's work.
RefreshOutcome refreshAndStore(HttpTransport& transport, const RefreshInput& input) {
  RefreshOutcome result;
  auto outcome = refreshTokens(transport, input.auth_base_url, input.creds.refresh_token);
  if (!outcome.ok()) {
    result.failure = outcome.error();
    return result;
  }
  result.ok = true;
  result.next = applyTokens(input.creds, outcome.value(), input.started_ms, input.account_override);
  // Persist BEFORE the loop thread hands the new access token out: the server has already
  // invalidated the old refresh token, so a crash after hand-out but before the write would
  // strand the service on a dead token.
  if (input.store) {
    result.store_attempted = true;
    result.store_error = input.store->save(result.next);
  }
  return result;
}

RefreshOutcome refreshThrew(const std::string& what) {
  RefreshOutcome result;
  result.failure = OAuthFailure{FailureKind::Transient, 0, {}, "refresh failed: " + what, {}};
  return result;
}

}  // namespace

common::Result<std::unique_ptr<RefreshJob>, std::string> makeRefreshJob(std::shared_ptr<HttpTransport> transport) {
  return RefreshJob::create({"refresh", kShutdownGrace, kShutdownAbort, [transport] { transport->cancel(); },
                             [transport](const RefreshInput& input) { return refreshAndStore(*transport, input); },
                             &refreshThrew});
}

}  // namespace cosp::supervisor
