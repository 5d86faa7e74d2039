#pragma once

#include <cstddef>
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
// (README.md, Model calls). Feed every event, then onUpstreamEnd(); then, if completed(),
// render one of the two output forms. Not thread-safe.
//
// Memory is bounded: the events it keeps (output items and the latest response
// object, counted by the size of their SSE data) may total max_retained_bytes;
// past that it fails with upstreamResponseTooLargeError and lets them go.
class ResponseCollector {
 public:
  static constexpr std::size_t kDefaultMaxRetainedBytes = 64u * 1024u * 1024u;

  explicit ResponseCollector(std::size_t max_retained_bytes = kDefaultMaxRetainedBytes);

  void onEvent(const SseEvent& event);
  // Same, for an already parsed event; not counted against max_retained_bytes.
  void onEventJson(const common::JsonValue& data, std::string_view sse_event);

  // The upstream closed (or idled out): without response.completed /
  // response.incomplete / a failure so far, this records `reason` (default:
  // upstreamTruncatedError()).
  void onUpstreamEnd(const std::optional<common::ApiError>& reason = std::nullopt);

  // response.completed or response.incomplete seen (and no failure before it).
  bool completed() const { return completed_; }
  // completed, or failed: no more events matter.
  bool finished() const { return completed_ || failure_.has_value(); }
  // response.failed / error event / truncation / the retained events passed the cap.
  std::optional<common::ApiError> failure() const { return failure_; }
  // The retained events passed max_retained_bytes (failure() says so to the client).
  bool overCap() const { return over_cap_; }
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
  // Counts an event about to be kept; false (and failed) when it passes the cap.
  bool retain(std::string_view type, std::size_t data_bytes);

  common::JsonValue response_;  // from response.completed / .incomplete, else .created
  std::vector<Item> items_;
  std::int64_t unindexed_ = 0;
  bool completed_ = false;
  std::optional<common::ApiError> failure_;
  std::optional<TokenUsage> usage_;
  std::optional<std::string> incomplete_reason_;
  std::size_t max_retained_bytes_;
  std::size_t item_bytes_ = 0;      // SSE data of the kept output items
  std::size_t response_bytes_ = 0;  // SSE data of the event response_ came from
  bool over_cap_ = false;
};

}  // namespace cosp::worker
