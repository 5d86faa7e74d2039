#pragma once

#include <string>
#include <string_view>

#include "common/util/result.h"
#include "worker/translate/translate_types.h"

namespace cosp::worker {

// A client's text message on the Responses WebSocket, as the relay forwards it. Pure.
struct WsClientMessage {
  std::string type;     // its JSON "type" ("" when it is not a JSON object or has none)
  std::string forward;  // what goes to the backend: normalised for response.create, else as sent
  std::string model;    // response.create: its "model" as the client wrote it (a caller key's allow-list)
};

// `response.create` gets what POST /v1/responses applies (normalizeResponsesRequest: model
// suffix to reasoning.effort, efforts against the catalog, the removals and rewrites, store:false,
// stream:true, prompt_cache_key = the session id), with previous_response_id relayed: the backend
// resolves it within the connection. Its refusal (400) is the client's, answered as a wrapped error
// event. Every other message (response.processed, response.append, anything else) is forwarded
// unchanged: the backend judges it.
common::Result<WsClientMessage> prepareClientMessage(std::string_view text, const TranslateOptions& options,
                                                     const CallHints& hints);

}  // namespace cosp::worker
