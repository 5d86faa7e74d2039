#pragma once

// How the model should answer, from a Chat Completions request, for translateChatRequest: the
// Responses "reasoning" and "text" (response_format, verbosity) members. Internal to the chat
// translation.

#include <optional>
#include <string>
#include <string_view>

#include "common/error/api_error.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "worker/translate/translate_types.h"

namespace cosp::worker::detail {

// The effort a chat request asks for: reasoning_effort, else reasoning.effort, else the model
// suffix's `suffix_effort`; with the field it came from ("model" for the suffix) in `param`.
std::optional<std::string> chatEffort(const common::JsonValue& request, const std::optional<std::string>& suffix_effort,
                                      std::string_view& param);

// Writes "reasoning", or nothing when no effort, summary or reasoning object applies. `effort` is
// the one to send (chatEffort, checked against the catalog); a summary is asked for when `compat`
// shows reasoning to the client, unless the client chose one, wants JSON output (`json_output`) or
// effort "none". Other members of a "reasoning" object pass through. Returns true when the model
// reasons: a reasoning object was written and its effort is not "none".
bool writeChatReasoning(const common::JsonValue& request, const std::optional<std::string>& effort,
                        ReasoningCompat compat, bool json_output, common::JsonWriter& w);

// Writes "text" (format from response_format, and verbosity), or nothing when neither is given.
std::optional<common::ApiError> writeChatText(const common::JsonValue& request, common::JsonWriter& w);

}  // namespace cosp::worker::detail
