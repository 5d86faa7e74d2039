#pragma once

#include "common/codex/fingerprint.h"
#include "common/util/result.h"
#include "worker/calls/call_context.h"
#include "worker/translate/translate_types.h"
#include "worker/upstream/upstream_types.h"

namespace cosp::worker {

// What every attempt of one model call sends upstream: the translated body and the request
// headers that do not change between attempts (the credentials are added per attempt).
struct UpstreamCall {
  UpstreamRequest request;
  HeaderList fixed_headers;
};

// What the worker lends every call: its fingerprint and its current model catalog.
struct CallExtras {
  const common::CodexFingerprint* fingerprint = nullptr;  // never null
  const common::ModelCatalog* catalog = nullptr;          // null = efforts not checked
};

// Stage 1 of a model call: reads the client's body, translates it (chat) or normalises it
// (responses), and assembles the fixed upstream headers: content type, the client fingerprint
// (ours, or a Codex caller's own), the session id as `session-id` and `session_id` (the client's
// own, else the body's prompt_cache_key, else one derived from the conversation) and the client
// headers the rules forward (isForwardedRequestHeader). Records the model and stream flag on the
// exchange, and the x-codex-sub-proxy-dropped header on the response. An error is the client's
// (400, 413, ...): nothing was sent upstream.
common::Result<UpstreamCall> buildUpstreamCall(Exchange& ex, CallApi api, const TranslateOptions& options,
                                               const CallExtras& extras);

// The headers of a JSON call to the backend on a client's behalf (/v1/responses/compact, the
// Codex-shaped catalog, the quota endpoint), by the same rules as a model call's but asking for
// JSON: `Accept: application/json` (and the JSON content type when `with_body`), the client
// fingerprint, the client's session id when it sent one, and the forwarded client headers. An
// error is the client's 400 (a header HTTP does not allow).
common::Result<HeaderList> backendJsonHeaders(const Exchange& ex, const common::CodexFingerprint& fingerprint,
                                              bool with_body);

// The headers of the proxy's own WebSocket upgrade to the backend on a client's behalf (GET
// /v1/responses with an upgrade, worker/calls/ws_route.h), by the same rules as a model call's:
// the client fingerprint, the client's session id as `session-id` and `session_id` when it sent
// one, the forwarded client headers, and the client's `OpenAI-Beta` (the CLI's
// `responses_websockets=…`, which the backend's WebSocket endpoint reads). The credentials and the
// upgrade's own headers are added per attempt. An error is the client's 400.
struct WebSocketUpgradeHeaders {
  HeaderList headers;
  std::string session_id;  // the client's, "" for none: the messages' prompt_cache_key then
};
common::Result<WebSocketUpgradeHeaders> webSocketUpgradeHeaders(const Exchange& ex,
                                                                const common::CodexFingerprint& fingerprint);

}  // namespace cosp::worker
