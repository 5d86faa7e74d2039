#include "worker/calls/ws_route.h"

#include <algorithm>

#include "common/log/log.h"
#include "common/util/retry_after.h"
#include "worker/calls/attempt_loop.h"
#include "worker/calls/call_context.h"
#include "worker/calls/credentials_wait.h"
#include "worker/calls/upstream_call.h"
#include "worker/calls/wall_clock.h"
#include "worker/calls/ws_relay.h"
#include "worker/translate/upstream_error.h"
#include "worker/upstream/header_rules.h"
#include "worker/upstream/upstream_connection.h"
#include "worker/ws/ws_handshake.h"

namespace cosp::worker {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kHeadPollSlice{200};
constexpr std::size_t kErrorBodyCap = 64 * 1024;

// The backend's WebSocket, open, or why not.
struct BackendOpen {
  enum class End { Open, Failed, ClientLeft };
  End end = End::Failed;
  std::unique_ptr<UpstreamConnection> connection;
  UpstreamResponseHead head;
  std::optional<common::ApiError> error;
};

BackendOpen failed(common::ApiError error) {
  BackendOpen r;
  r.error = std::move(error);
  return r;
}

BackendOpen clientLeft() {
  BackendOpen r;
  r.end = BackendOpen::End::ClientLeft;
  return r;
}

// The attempts of the backend upgrade: the attempt loop's rules (attempt_loop.h) for a request
// whose success is a 101 instead of a 200 stream.
class BackendUpgrade {
 public:
  BackendUpgrade(CallContext& call, const WsRouteDeps& deps, const HeaderList& fixed)
      : call_(call), deps_(deps), fixed_(fixed) {}

  BackendOpen run() {
    credentials_ = credentialsForCall(call_);
    if (!credentials_->usable(unixMillis())) {
      return call_.client.isGone() ? clientLeft() : failed(credentialsError(*credentials_));
    }
    for (;;) {
      const std::string key = ws::makeClientKey();
      auto sent = deps_.pool.send(spec(key));
      if (!sent) {
        const UpstreamFailure& failure = sent.error();
        if (failure.kind == UpstreamFailure::Kind::Cancelled) {
          call_.worker.metrics.recordClientDisconnect();
          return clientLeft();
        }
        call_.worker.metrics.recordUpstreamFailure(toString(failure.kind));
        AttemptOutcome outcome;
        outcome.failure = failure.kind;
        if (retryAfter(outcome)) continue;
        common::logWarn("upstream_failed")
            .field("request_id", call_.ex.request_id)
            .field("kind", toString(failure.kind));
        return failed(failureError(failure));
      }
      UpstreamExchange& upstream = *sent.value();
      const UpstreamResponseHead& head = upstream.head();
      call_.ex.upstream_status = head.status;
      call_.worker.metrics.recordUpstreamStatus(head.status);
      if (head.status == 101) {
        // Nothing offered, so nothing may be accepted: permessage-deflate stays off (§7).
        const std::string wrong = ws::checkServerHandshake(head.status, head.headers, key, false);
        if (!wrong.empty()) {
          common::logWarn("websocket_backend_handshake").field("request_id", call_.ex.request_id).field("error", wrong);
          return failed(upstreamUnavailableError("the backend's WebSocket handshake was invalid (" + wrong + ")"));
        }
        BackendOpen open;
        open.end = BackendOpen::End::Open;
        open.head = head;
        open.connection = upstream.takeConnection();
        return open;
      }
      forwardResponseHeaders(call_.ex, head);
      if (head.status == 401 && !refreshed_) {
        if (!refresh(upstream)) return failed(mapUpstreamError(401, "", "", unixSeconds()));
        continue;
      }
      const std::string body = upstream.readAll(kErrorBodyCap, milliseconds(5000));
      const std::optional<std::int64_t> retry_after =
          common::parseRetryAfterSeconds(head.header("Retry-After").value_or(""));
      common::ApiError error =
          mapUpstreamError(head.status, head.header("Content-Type").value_or(""), body, unixSeconds(), retry_after);
      AttemptOutcome outcome;
      outcome.status = head.status;
      if (error.code) outcome.error_code = *error.code;
      if (retry_after) outcome.retry_after = std::chrono::seconds(*retry_after);
      if (retryAfter(outcome)) continue;
      return failed(std::move(error));
    }
  }

 private:
  UpstreamRequestSpec spec(const std::string& key) {
    const common::Config& config = call_.worker.config;
    UpstreamRequestSpec spec;
    spec.method = "GET";
    spec.path = config.codex_responses_path;
    spec.upgrade = true;
    spec.headers = fixed_;
    spec.headers.emplace_back("Upgrade", "websocket");
    spec.headers.emplace_back("Sec-WebSocket-Version", "13");
    spec.headers.emplace_back("Sec-WebSocket-Key", key);
    spec.headers.emplace_back("Authorization", "Bearer " + credentials_->access_token);
    const std::string& account = credentials_->account_id.empty() ? config.account_id : credentials_->account_id;
    if (!account.empty()) spec.headers.emplace_back("ChatGPT-Account-ID", account);
    spec.cancelled = [&client = call_.client] { return client.gone(); };
    spec.poll_slice = kHeadPollSlice;
    return spec;
  }

  // A 401: the supervisor refreshes (single flight) and the upgrade is tried once more.
  bool refresh(UpstreamExchange& upstream) {
    upstream.readAll(kErrorBodyCap, milliseconds(2000));
    call_.worker.channel.send(common::encodeUnauthorized(credentials_->generation));
    auto newer = call_.worker.credentials.waitNewer(
        credentials_->generation, std::chrono::steady_clock::now() + call_.worker.config.credentials_wait);
    if (!newer || !newer->usable(unixMillis())) return false;
    credentials_ = std::move(newer);
    refreshed_ = true;
    return true;
  }

  bool retryAfter(AttemptOutcome outcome) {
    if (!deps_.retry.shouldRetry(outcome, retries_)) return false;
    if (call_.client.goneWithin(deps_.retry.delayFor(outcome, retries_))) return false;
    ++retries_;
    call_.worker.metrics.recordUpstreamRetry();
    return true;
  }

  CallContext& call_;
  const WsRouteDeps& deps_;
  const HeaderList& fixed_;
  std::shared_ptr<const common::WorkerCredentials> credentials_;
  bool refreshed_ = false;
  int retries_ = 0;
};

// The headers of our 101: the client's x-request-id and the backend's headers a model call
// forwards (the Codex CLI reads x-codex-turn-state, x-models-etag, openai-model and
// x-reasoning-included from the upgrade's answer).
HeaderList switchingHeaders(Exchange& ex, const UpstreamResponseHead& head) {
  ForwardedHeaderSelection selected = selectForwardedHeaders(head.headers);
  addCatalogModelsEtag(selected.headers, ex.ctx.catalog.get()->etag);
  ex.upstream_request_id = selected.upstream_request_id;
  ex.ctx.metrics.observeUpstream(head.status, {});
  HeaderList extra = {{"x-request-id", ex.request_id}};
  if (!ex.upstream_request_id.empty()) extra.emplace_back("x-upstream-request-id", ex.upstream_request_id);
  for (auto& [name, value] : selected.headers) {
    if (headerNameEquals(name, "x-upstream-request-id")) continue;
    extra.emplace_back(std::move(name), std::move(value));
  }
  return extra;
}

}  // namespace

void serveResponsesWebSocket(Exchange& ex, const WsRouteDeps& deps) {
  auto offer = ws::checkUpgrade(ex.request.getMethod(), ex.request.head().minor_version, ex.request.head().headers);
  if (!offer) {
    sendError(ex, offer.error());
    return;
  }
  if (ex.request.hasBody()) {
    // Bytes after the head belong to the WebSocket; a body would make them ambiguous.
    ex.response.setKeepAlive(false);
    sendError(ex, common::ApiError::invalidRequest("A WebSocket upgrade must not carry a body."));
    return;
  }
  auto headers = webSocketUpgradeHeaders(ex, deps.fingerprint);
  if (!headers) {
    sendError(ex, headers.error());
    return;
  }
  ex.stream = true;
  ClientWatch client(ex.request, ex.response);
  CallContext call{ex, ex.ctx, client, CallDeadline(), ex.ctx.config.request_timeout, std::nullopt};
  BackendOpen backend = BackendUpgrade(call, deps, headers->headers).run();
  if (backend.end == BackendOpen::End::ClientLeft) return;
  if (backend.end == BackendOpen::End::Failed) {
    sendError(ex, *backend.error);
    return;
  }
  // RFC 6455 §9.1: a server may accept none of the extensions offered. The CLI offers
  // permessage-deflate; accepting it would mean inflating and deflating every message here (and
  // a zlib context per direction per connection), while the relay forwards messages as they are.
  // The backend is offered none either, so no message on either side is compressed.
  const std::string head = ws::switchingProtocolsHead(*offer, switchingHeaders(ex, backend.head));
  ClientConnection& connection = ex.request.connection();
  if (!connection.writeAll(head, std::chrono::steady_clock::now() + ex.ctx.config.send_timeout)) {
    backend.connection->close();
    return;
  }
  ex.status = 101;
  ex.ttfb_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - ex.started).count();
  StreamGauge gauge(ex.ctx.metrics);
  const common::Config& config = ex.ctx.config;
  WsRelayEnd end = relayWebSocket(WsRelaySetup{
      ex.ctx, connection, std::move(backend.connection), ex.request_id, deps.options, std::move(headers->session_id),
      static_cast<std::size_t>(config.max_body_bytes), static_cast<std::size_t>(config.max_event_bytes),
      config.send_timeout, config.upstream_idle_timeout});
  common::logInfo("websocket_closed")
      .field("request_id", ex.request_id)
      .field("reason", end.reason)
      .field("calls", end.calls)
      .field("client_messages", end.client_messages)
      .field("backend_messages", end.backend_messages);
}

}  // namespace cosp::worker
