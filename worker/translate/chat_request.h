#pragma once

#include <string_view>

#include "common/util/result.h"
#include "worker/translate/translate_types.h"

namespace cosp::worker {

// Chat Completions request body -> Codex Responses request body (README.md, Model calls: the translation table).
//
// Validation errors are 400s whose `param` names the field, in the
// "messages[2].content[0]" style. Malformed JSON and non-object bodies are 400s.
// Fields the backend rejects are dropped and listed in `dropped` (or refused in
// strict mode); unknown chat fields are treated the same way. A field whose
// value is null counts as absent. Never throws (except std::bad_alloc).
//
// Mapping notes beyond the README table (Model calls):
//  - function tools without "strict" get strict:false: the Responses API
//    defaults to strict:true, Chat Completions to false;
//  - function tools without "parameters" get an empty object schema;
//  - input_image parts always carry "detail" ("auto" when the client gave none);
//  - text parts of system / developer / tool messages are joined with "\n";
//  - "custom" tools, tool calls and outputs map to their Responses forms;
//  - a "reasoning" object (sent by some clients) is merged; reasoning_effort
//    wins over reasoning.effort, which wins over a model suffix; the effort is
//    checked against `hints.catalog`, and include gains
//    reasoning.encrypted_content when the model reasons;
//  - prompt_cache_key is the client's, else the session id; web_search_preview*
//    tools become web_search; prompt_cache_breakpoint leaves content parts
//    (named in `dropped`). The Responses-Lite flag does not apply to chat.
common::Result<UpstreamRequest> translateChatRequest(std::string_view body, const TranslateOptions& options,
                                                     const CallHints& hints = {});

}  // namespace cosp::worker
