#include "worker/routes/health_routes.h"

#include <chrono>

#include "common/log/log.h"
#include "worker/calls/choose_account.h"

namespace cosp::worker {

namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SPEC §9: ready while one account is usable. `default`'s credentials when they serve (one
// account: exactly as before), else those of the first other usable account of the roster.
std::shared_ptr<const common::WorkerCredentials> readyCredentials(WorkerContext& ctx) {
  auto credentials = ctx.credentials.get();
  const int64_t now = nowMs();
  if (credentials->usable(now)) return credentials;
  for (const common::AccountRosterEntry& entry : ctx.roster()->accounts) {
    if (entry.name == common::kDefaultAccountName || !accountUsable(entry, now)) continue;
    if (CredentialsCache* cache = ctx.accountCredentials(entry.name)) {
      if (auto other = cache->get(); other->usable(now)) return other;
    }
  }
  return credentials;
}

}  // namespace

void handleHealth(Exchange& ex) { sendJson(ex, 200, "{\"ok\":true}"); }

void handleReady(Exchange& ex) {
  auto credentials = readyCredentials(ex.ctx);
  std::string reason;
  if (ex.ctx.draining.load())
    reason = "draining";
  else if (!credentials->usable(nowMs())) {
    using common::CredentialState;
    CredentialState state = credentials->state;
    if (state == CredentialState::Ok || state == CredentialState::Refreshing) state = CredentialState::NoCredentials;
    if (!credentials->access_token.empty() && credentials->state != CredentialState::NeedsLogin) {
      state = CredentialState::RefreshFailing;
    }
    reason = common::credentialStateName(state);
  }
  if (reason.empty()) {
    std::string body = "{\"ok\":true,\"credentials\":";
    common::appendJsonString(body, common::credentialStateName(credentials->state));
    body += ",\"generation\":" + std::to_string(credentials->generation);
    if (credentials->expires_at_ms > 0) {
      body += ",\"expires_in_s\":" + std::to_string((credentials->expires_at_ms - nowMs()) / 1000);
    }
    body += "}";
    sendJson(ex, 200, body);
    return;
  }
  std::string message = "not ready: ";
  if (reason == "draining")
    message += "this worker is shutting down";
  else if (reason == "needs_login")
    message += "the refresh token was rejected; run `codex-sub-proxy login`";
  else if (reason == "refresh_failing")
    message += "the access token expired and refreshing it keeps failing";
  else
    message += "no upstream credentials; run `codex-sub-proxy login` or set OPENAI_REFRESH_TOKEN";
  std::string body = "{\"ok\":false,\"reason\":";
  common::appendJsonString(body, reason);
  body += ",\"message\":";
  common::appendJsonString(body, message);
  body += "}";
  sendJson(ex, 503, body);
}

}  // namespace cosp::worker
