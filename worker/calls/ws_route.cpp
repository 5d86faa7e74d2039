#include "worker/calls/ws_route.h"

#include "common/log/log.h"
#include "worker/calls/attempt_loop.h"
#include "worker/calls/call_context.h"
#include "worker/calls/upstream_call.h"
#include "worker/calls/ws_relay.h"
#include "worker/upstream/header_rules.h"
#include "worker/upstream/upstream_connection.h"
#include "worker/ws/ws_handshake.h"

namespace cosp::worker {

namespace {

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
  ex.session_id = headers->session_id;
  ClientWatch client(ex.request, ex.response);
  CallContext call{ex, ex.ctx, client, CallDeadline(), ex.ctx.config.request_timeout, std::nullopt};
  AttemptResult backend = AttemptLoop(call, deps.pool, deps.retry).upgrade(headers->headers);
  if (backend.end == AttemptResult::End::ClientLeft) return;
  if (backend.end == AttemptResult::End::Failed) {
    sendError(ex, *backend.error);
    return;
  }
  // RFC 6455 §9.1: a server may accept none of the extensions offered. The CLI offers
  // permessage-deflate; accepting it would mean inflating and deflating every message here (and
  // a zlib context per direction per connection), while the relay forwards messages as they are.
  // The backend is offered none either, so no message on either side is compressed.
  const std::string head = ws::switchingProtocolsHead(*offer, switchingHeaders(ex, backend.switched->head()));
  std::unique_ptr<UpstreamConnection> upstream = backend.switched->takeConnection();
  backend.switched.reset();  // the pool counts the exchange as active until it is gone
  ClientConnection& connection = ex.request.connection();
  if (!connection.writeAll(head, std::chrono::steady_clock::now() + ex.ctx.config.send_timeout)) {
    upstream->close();
    return;
  }
  ex.status = 101;
  ex.ttfb_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - ex.started).count();
  StreamGauge gauge(ex.ctx.metrics);
  const common::Config& config = ex.ctx.config;
  WsKeyTurns key_turns(ex);
  WsRelayEnd end = relayWebSocket(WsRelaySetup{
      ex.ctx, connection, std::move(upstream), ex.request_id, deps.options, key_turns, std::move(headers->session_id),
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
