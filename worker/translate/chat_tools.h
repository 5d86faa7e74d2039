#pragma once

// The tools of a Chat Completions request, for translateChatRequest: tools, the legacy
// functions, web_search_options, tool_choice and the legacy function_call, in their Responses
// forms. Internal to the chat translation.

#include <optional>

#include "common/error/api_error.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"

namespace cosp::worker::detail {

// Writes the "tools" member of the Responses request (from tools, functions and, without explicit
// tools, web_search_options), or nothing when the request has none. web_search_preview* tools
// become web_search (README.md, Model calls: body normalisation). `request` is the chat request
// object, whose top-level types were already checked.
std::optional<common::ApiError> writeChatTools(const common::JsonValue& request, common::JsonWriter& w);

// Writes the "tool_choice" member (from tool_choice, else the legacy function_call, else "auto"
// when web_search_options alone asks for the web search tool), or nothing. A choice naming a
// web_search_preview* tool names web_search.
std::optional<common::ApiError> writeChatToolChoice(const common::JsonValue& request, common::JsonWriter& w);

}  // namespace cosp::worker::detail
