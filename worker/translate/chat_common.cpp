#include "worker/translate/chat_common.h"

namespace cosp::worker::detail {

std::optional<TokenUsage> usageFromResponse(const common::JsonValue& response) {
  const common::JsonValue* u = common::jsonObjectValue(response, "usage");
  if (u == nullptr) return std::nullopt;
  TokenUsage usage;
  usage.input_tokens = common::jsonInt(*u, "input_tokens").value_or(0);
  usage.output_tokens = common::jsonInt(*u, "output_tokens").value_or(0);
  const auto total = common::jsonInt(*u, "total_tokens");
  usage.total_tokens = total ? *total : saturatingAdd(usage.input_tokens, usage.output_tokens);
  if (const common::JsonValue* d = common::jsonObjectValue(*u, "input_tokens_details")) {
    usage.cached_tokens = common::jsonInt(*d, "cached_tokens").value_or(0);
  }
  if (const common::JsonValue* d = common::jsonObjectValue(*u, "output_tokens_details")) {
    usage.reasoning_tokens = common::jsonInt(*d, "reasoning_tokens").value_or(0);
  }
  return usage;
}

void writeChatUsage(common::JsonWriter& w, const TokenUsage& usage) {
  w.beginObject();
  w.key("prompt_tokens").value(usage.input_tokens);
  w.key("completion_tokens").value(usage.output_tokens);
  w.key("total_tokens").value(usage.total_tokens);
  w.key("prompt_tokens_details").beginObject().key("cached_tokens").value(usage.cached_tokens).endObject();
  w.key("completion_tokens_details").beginObject().key("reasoning_tokens").value(usage.reasoning_tokens).endObject();
  w.endObject();
}

std::int64_t saturatingAdd(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? INT64_MAX : INT64_MIN;
}

std::string finishReason(const std::optional<std::string>& incomplete_reason, bool any_tool_calls) {
  if (incomplete_reason) {
    if (*incomplete_reason == "content_filter") return "content_filter";
    return "length";  // max_output_tokens, and any other cut-off
  }
  return any_tool_calls ? "tool_calls" : "stop";
}

std::string_view eventType(const common::JsonValue& data, std::string_view sse_event) {
  if (const auto t = common::jsonString(data, "type")) return *t;
  return sse_event;
}

}  // namespace cosp::worker::detail
