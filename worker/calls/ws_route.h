#pragma once

#include "common/codex/fingerprint.h"
#include "worker/exchange.h"
#include "worker/translate/translate_types.h"
#include "worker/upstream/retry_policy.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {

// What the WebSocket route borrows from the model calls (call_handler.h): the worker's pool, its
// translation options, fingerprint and retry policy.
struct WsRouteDeps {
  UpstreamPool& pool;
  const TranslateOptions& options;
  const common::CodexFingerprint& fingerprint;
  const RetryPolicy& retry;
};

// GET /v1/responses with a WebSocket upgrade (README.md, HTTP surface; docs/ARCHITECTURE.md §7),
// after the caller key was checked:
//   1. the upgrade is judged by ws::checkUpgrade (400 / 405 / 426 as it refuses), the headers by
//      the model calls' rules (webSocketUpgradeHeaders: 400 for a value HTTP does not allow);
//   2. the backend WebSocket is opened before the client gets its 101: `GET {CODEX_BASE_URL}/responses`
//      through the pool (TLS, HTTPS_PROXY, CA file, cookie jar) with a fresh key, the token,
//      account and fingerprint of a model call and the client's OpenAI-Beta. A refusal gets the
//      model calls' status mapping, a 401 one refresh and one retry, connect errors and 5xx the
//      retries of the attempt loop, all as real HTTP answers;
//   3. the 101 goes out without any extension, with the backend's forwarded headers (x-codex-*,
//      x-models-etag, openai-model, x-reasoning-included: the CLI reads them from the upgrade),
//      and the two sockets are relayed (ws_relay.h) on this thread until either side closes.
// The WebSocket counts as a held stream (active_streams) while it lives.
void serveResponsesWebSocket(Exchange& ex, const WsRouteDeps& deps);

}  // namespace cosp::worker
