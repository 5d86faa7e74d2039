#pragma once

#include <cstddef>
#include <string>

#include "common/util/result.h"
#include "worker/calls/call_context.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {

// A request to the backend that answers JSON, not a stream (README.md, HTTP surface:
// /v1/responses/compact, the Codex-shaped catalog, the quota endpoints).
struct BackendJsonRequest {
  std::string method = "GET";
  std::string path;    // appended to the pool's base URL; may carry a query
  HeaderList headers;  // everything but the credentials (backendJsonHeaders in upstream_call.h)
  std::string body;
};

struct BackendJsonAnswer {
  UpstreamResponseHead head;
  std::string body;
};

// Sends `request` with the worker's credentials, as a model call does: waits for usable ones
// (credentials_wait.h), adds `Authorization` and `ChatGPT-Account-ID`, and on a 401 asks the
// supervisor for a refresh and tries once more. Reads the whole answer, at most `body_cap` bytes,
// within the call's deadline. The answer is the backend's, whatever its status, except a 401
// after the refresh (mapped as a model call's: a Codex CLI answers a 401 by logging itself out).
// An error: no usable credentials (503), no answer (502 / 504), an answer cut or over the cap
// (502), the deadline.
common::Result<BackendJsonAnswer> callBackendJson(CallContext& call, UpstreamPool& pool,
                                                  const BackendJsonRequest& request, std::size_t body_cap);

// Answers the client with the backend's answer as it is: its status (a status a JSON answer
// cannot have becomes 502) and body, as application/json, with the forwarded response headers.
void relayBackendJson(Exchange& ex, const BackendJsonAnswer& answer);

}  // namespace cosp::worker
