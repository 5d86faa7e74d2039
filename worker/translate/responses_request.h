#pragma once

#include <string_view>

#include "common/util/result.h"
#include "worker/translate/translate_types.h"

namespace cosp::worker {

// /v1/responses body -> Codex backend body with the normalisation of README.md (Model calls:
// Responses requests) only: store:false, stream:true, instructions always present, string input
// turned into a one-message list, item ids removed from input items, item_reference items
// dropped, system input messages sent as developer, reasoning items without a null or empty
// encrypted_content, prompt_cache_breakpoint removed from content parts, web_search_preview*
// tools and tool choices sent as web_search, backend-rejected fields dropped (or refused in strict
// mode), model suffix -> reasoning.effort (an explicit reasoning.effort wins), efforts checked
// against `hints.catalog`, include + reasoning.encrypted_content when the model reasons,
// prompt_cache_key = the session id when the client sent none, URL-safe or unpadded base64 image
// data URLs normalised. With hints.responses_lite the client's shape is kept: no instructions
// added, include, tools and tool_choice untouched. Every other field passes through untouched and
// in the client's key order. A top-level null counts as absent. previous_response_id is refused:
// the backend is stateless (relayed with hints.keep_previous_response_id: the WebSocket route). Never throws (except
// std::bad_alloc).
common::Result<UpstreamRequest> normalizeResponsesRequest(std::string_view body, const TranslateOptions& options,
                                                          const CallHints& hints = {});

}  // namespace cosp::worker
