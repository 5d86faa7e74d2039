#include "worker/handlers/simple_handlers.h"

#include <chrono>

#include "common/log/log.h"

namespace cosp::worker {

namespace {

// The models API reports a creation time per model; the backend publishes none, so every model
// reports the same fixed instant rather than something that changes between calls.
constexpr int64_t kModelCreated = 1735689600;  // 2025-01-01T00:00:00Z

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string modelJson(const std::string& id) {
  std::string out = "{\"id\":";
  common::appendJsonString(out, id);
  out += ",\"object\":\"model\",\"created\":" + std::to_string(kModelCreated) + ",\"owned_by\":\"openai\"}";
  return out;
}

std::string modelsJson(const std::vector<std::string>& models) {
  std::string out = "{\"object\":\"list\",\"data\":[";
  for (size_t i = 0; i < models.size(); ++i) {
    if (i > 0) out += ',';
    out += modelJson(models[i]);
  }
  out += "]}";
  return out;
}

std::string resolveModelId(const std::vector<std::string>& models, const std::string& id) {
  for (const auto& m : models) {
    if (m == id) return m;
  }
  for (const char* suffix : {"-none", "-minimal", "-low", "-medium", "-high", "-xhigh"}) {
    std::string s = suffix;
    if (id.size() > s.size() && id.compare(id.size() - s.size(), s.size(), s) == 0) {
      std::string base = id.substr(0, id.size() - s.size());
      for (const auto& m : models) {
        if (m == base) return id;
      }
    }
  }
  return {};
}

void handleHealth(Exchange& ex) { sendJson(ex, 200, "{\"ok\":true}"); }

void handleReady(Exchange& ex) {
  auto credentials = ex.ctx.credentials.get();
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

void handleModels(Exchange& ex) { sendJson(ex, 200, modelsJson(ex.ctx.config.models)); }

void handleModel(Exchange& ex) {
  std::string id = resolveModelId(ex.ctx.config.models, ex.route.model_id);
  if (id.empty()) {
    sendError(ex,
              common::ApiError::notFound("The model '" + ex.route.model_id + "' does not exist", "model_not_found"));
    return;
  }
  sendJson(ex, 200, modelJson(id));
}

void handleMetrics(Exchange& ex) {
  // The supervisor's aggregate over every worker (pushed each second); before the first push,
  // this worker's own series.
  auto pushed = ex.ctx.metricsText();
  std::string body = pushed ? *pushed : common::renderPrometheus(ex.ctx.metrics.snapshot());
  prepareResponse(ex, 200);
  ex.response.setContentType("text/plain; version=0.0.4; charset=utf-8");
  ex.response.setContentLength64(static_cast<int64_t>(body.size()));
  ex.response.send();
  if (ex.request.getMethod() != "HEAD" && ex.response.write(body)) ex.bytes_out += static_cast<int64_t>(body.size());
}

}  // namespace cosp::worker
