#pragma once

// Internal helpers shared by ChatStreamMapper and ResponseCollector.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "worker/translate/translate_types.h"

namespace cosp::worker::detail {

// Responses usage {input_tokens, input_tokens_details.cached_tokens, output_tokens,
// output_tokens_details.reasoning_tokens, total_tokens}; total is computed when absent.
std::optional<TokenUsage> usageFromResponse(const common::JsonValue& response);

// Chat usage object: prompt_tokens, completion_tokens, total_tokens,
// prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens.
void writeChatUsage(common::JsonWriter& w, const TokenUsage& usage);

// finish_reason: "length" / "content_filter" for response.incomplete (by reason),
// else "tool_calls" when the model called a tool, else "stop".
std::string finishReason(const std::optional<std::string>& incomplete_reason, bool any_tool_calls);

// a + b, clamped to the int64 range: token counts and annotation offsets come from the upstream,
// and a broken or hostile one must not make the proxy overflow (undefined behaviour).
std::int64_t saturatingAdd(std::int64_t a, std::int64_t b);

// Event type: the JSON "type" (authoritative on the Codex backend), else the SSE event name.
std::string_view eventType(const common::JsonValue& data, std::string_view sse_event);

// Think-tag wrappers for ReasoningCompat::ThinkTags.
inline constexpr std::string_view kThinkOpen = "<think>\n";
inline constexpr std::string_view kThinkClose = "\n</think>\n\n";

}  // namespace cosp::worker::detail
