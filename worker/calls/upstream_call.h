#pragma once

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

// Stage 1 of a model call: reads the client's body, translates it (chat) or normalises it
// (responses), and assembles the fixed upstream headers: content type, the proxy's User-Agent and
// originator, the session id (the client's own, else one derived from the conversation) and the
// client's x-codex-* and x-client-request-id headers. Records the model and stream flag on the
// exchange, and the x-codex-sub-proxy-dropped header on the response. An error is the client's
// (400, 413, ...): nothing was sent upstream.
common::Result<UpstreamCall> buildUpstreamCall(Exchange& ex, CallApi api, const TranslateOptions& options);

}  // namespace cosp::worker
