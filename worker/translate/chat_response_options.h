#pragma once

// How the model should answer, from a Chat Completions request, for translateChatRequest: the
// Responses "reasoning" and "text" (response_format, verbosity) members. Internal to the chat
// translation.

#include <optional>
#include <string>

#include "common/error/api_error.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "worker/translate/translate_types.h"

namespace cosp::worker::detail {

// Writes "reasoning", or nothing when no effort, summary or reasoning object applies. The effort
// is reasoning_effort, else reasoning.effort, else `suffix_effort` (from the model name); a
// summary is asked for when `compat` shows reasoning to the client, unless the client chose one,
// wants JSON output (`json_output`) or effort "none". Other members of a "reasoning" object pass
// through.
void writeChatReasoning(const common::JsonValue& request, const std::optional<std::string>& suffix_effort,
                        ReasoningCompat compat, bool json_output, common::JsonWriter& w);

// Writes "text" (format from response_format, and verbosity), or nothing when neither is given.
std::optional<common::ApiError> writeChatText(const common::JsonValue& request, common::JsonWriter& w);

}  // namespace cosp::worker::detail
