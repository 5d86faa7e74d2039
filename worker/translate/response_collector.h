#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error/api_error.h"
#include "common/json/json_value.h"
#include "worker/sse/sse_parser.h"
#include "worker/translate/translate_types.h"

namespace cosp::worker {

// Collapses a whole upstream Responses SSE stream for a non-streaming client
// (SPEC §6). Feed every event, then onUpstreamEnd(); then, if completed(),
// render one of the two output forms. Not thread-safe.
class ResponseCollector {
 public:
  void onEvent(const SseEvent& event);
  void onEventJson(const common::JsonValue& data, std::string_view sse_event);

  // The upstream closed (or idled out): without response.completed /
  // response.incomplete / a failure so far, this records `reason` (default:
  // upstreamTruncatedError()).
  void onUpstreamEnd(const std::optional<common::ApiError>& reason = std::nullopt);

  // response.completed or response.incomplete seen (and no failure before it).
  bool completed() const { return completed_; }
  // completed, or failed: no more events matter.
  bool finished() const { return completed_ || failure_.has_value(); }
  // response.failed / error event / truncation.
  std::optional<common::ApiError> failure() const { return failure_; }
  std::optional<TokenUsage> usage() const { return usage_; }
  // "incomplete_details.reason" of response.incomplete.
  std::optional<std::string> incompleteReason() const { return incomplete_reason_; }

  // The response object of response.completed / response.incomplete in its own
  // key order, with "output" filled from the output_item.done items when the
  // backend sent it empty (it does), plus "output_text" (all output_text parts
  // of message items, concatenated).
  std::string responsesObjectJson() const;

  // chat.completion object: one choice; content null when the model only called
  // tools; tool_calls; refusal; url_citation annotations; reasoning per `compat`
  // (never with json_output); finish_reason; usage.
  std::string chatCompletionJson(const std::string& id, std::int64_t created, const std::string& model,
                                 ReasoningCompat compat, bool json_output) const;

 private:
  struct Item {
    std::int64_t order;  // output_index, or arrival order after every indexed item
    common::JsonValue value;
  };
  std::vector<const common::JsonValue*> outputItems() const;

  common::JsonValue response_;  // from response.completed / .incomplete, else .created
  std::vector<Item> items_;
  std::int64_t unindexed_ = 0;
  bool completed_ = false;
  std::optional<common::ApiError> failure_;
  std::optional<TokenUsage> usage_;
  std::optional<std::string> incomplete_reason_;
};

}  // namespace cosp::worker
