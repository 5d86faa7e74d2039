#include "worker/calls/backend_json_call.h"

#include <algorithm>

#include "common/log/log.h"
#include "worker/calls/attempt_loop.h"
#include "worker/calls/credentials_wait.h"
#include "worker/calls/wall_clock.h"
#include "worker/translate/upstream_error.h"

namespace cosp::worker {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kHeadPollSlice{200};  // how often a wait for the upstream head checks the client

UpstreamRequestSpec specFor(const CallContext& call, const BackendJsonRequest& request,
                            const common::WorkerCredentials& credentials) {
  const common::Config& config = call.worker.config;
  UpstreamRequestSpec spec;
  spec.method = request.method;
  spec.path = request.path;
  spec.headers = request.headers;
  spec.headers.emplace_back("Authorization", "Bearer " + credentials.access_token);
  const std::string& account = credentials.account_id.empty() ? config.account_id : credentials.account_id;
  if (!account.empty()) spec.headers.emplace_back("ChatGPT-Account-ID", account);
  spec.body = request.body;
  spec.cancelled = [&client = call.client] { return client.gone(); };
  spec.poll_slice = kHeadPollSlice;
  spec.head_timeout = std::max(call.deadline.cap(config.upstream_idle_timeout), milliseconds(1));
  return spec;
}

}  // namespace

common::Result<BackendJsonAnswer> callBackendJson(CallContext& call, UpstreamPool& pool,
                                                  const BackendJsonRequest& request, std::size_t body_cap) {
  // The caller's session picks the account (SPEC §9: the quota routes answer for the account the
  // caller's conversation uses): the session id backendJsonHeaders() forwarded, when any.
  if (call.ex.session_id.empty()) {
    for (const auto& [name, value] : request.headers) {
      if (headerNameEquals(name, "session-id")) call.ex.session_id = value;
    }
  }
  std::shared_ptr<const common::WorkerCredentials> credentials = credentialsForCall(call);
  if (!credentials->usable(unixMillis())) {
    return call.deadline.expired() ? call.deadlineError() : credentialsError(*credentials);
  }
  WorkerMetrics& metrics = call.worker.metrics;
  for (bool refreshed = false;;) {
    if (call.deadline.expired()) return call.deadlineError();
    auto sent = pool.send(specFor(call, request, *credentials));
    if (!sent) {
      metrics.recordUpstreamFailure(toString(sent.error().kind));
      common::logWarn("upstream_failed")
          .field("request_id", call.ex.request_id)
          .field("kind", toString(sent.error().kind));
      return call.deadline.expired() ? call.deadlineError() : failureError(sent.error());
    }
    UpstreamExchange& upstream = *sent.value();
    call.ex.upstream_status = upstream.head().status;
    metrics.recordUpstreamStatus(upstream.head().status);
    BackendJsonAnswer answer{upstream.head(),
                             upstream.readAll(body_cap, call.deadline.cap(call.worker.config.upstream_idle_timeout))};
    if (!upstream.finished()) {
      if (answer.body.size() >= body_cap) return upstreamResponseTooLargeError(body_cap);
      return call.deadline.expired() ? call.deadlineError() : upstreamTruncatedError();
    }
    if (answer.head.status != 401) return answer;
    if (refreshed) return mapUpstreamError(401, "", "", unixSeconds());
    reportUnauthorized(call, credentials->generation);
    auto newer = credentialsCacheForCall(call).waitNewer(credentials->generation,
                                                         call.deadline.capPoint(call.worker.config.credentials_wait));
    if (call.deadline.expired()) return call.deadlineError();
    if (!newer || !newer->usable(unixMillis())) return mapUpstreamError(401, "", "", unixSeconds());
    credentials = std::move(newer);
    refreshed = true;
  }
}

void relayBackendJson(Exchange& ex, const BackendJsonAnswer& answer) {
  const int status = answer.head.status;
  if (status < 200 || status > 599 || status == 204 || status == 304) {
    sendError(ex, upstreamUnavailableError("unexpected status " + std::to_string(status)));
    return;
  }
  forwardResponseHeaders(ex, answer.head);
  sendJson(ex, status, answer.body);
}

}  // namespace cosp::worker
