#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error/api_error.h"
#include "common/json/json_value.h"
#include "worker/sse/sse_parser.h"
#include "worker/translate/translate_types.h"

namespace cosp::worker {

struct ChatStreamOptions {
  std::string id;            // "chatcmpl-..." shared by every chunk
  std::int64_t created = 0;  // unix seconds, shared by every chunk
  std::string model;         // the model id the client asked for
  bool include_usage = false;
  ReasoningCompat reasoning = ReasoningCompat::None;
  bool json_output = false;  // never mix reasoning into JSON output
};

// "chatcmpl-" + 24 random alphanumerics.
std::string newChatCompletionId();

// Responses SSE events -> chat.completion.chunk payloads (README.md, Model calls). Each string
// pushed to `out` is the JSON of one chunk, the literal "[DONE]", or (once, on
// failure) an {"error":{...}} object; the HTTP layer writes "data: " + s + "\n\n".
//
// Sequence: a role chunk (delta {"role":"assistant","content":""}) before the
// first content; delta.content per text delta; tool calls as
// delta.tool_calls[{index,id,type:"function",function:{name,arguments:""}}]
// followed by argument fragments with the same index (index counts calls in
// order of appearance); reasoning per ReasoningCompat; one final chunk with
// finish_reason; with include_usage every chunk carries "usage":null and an extra
// chunk with choices:[] and the usage follows; then "[DONE]". On
// response.failed / error / a truncated stream: one error object and nothing
// else (no [DONE]). Events after the end are ignored. Not thread-safe.
class ChatStreamMapper {
 public:
  explicit ChatStreamMapper(ChatStreamOptions options);

  void onEvent(const SseEvent& event, std::vector<std::string>& out);
  // Same, for an already parsed event (type from data.type, else sse_event).
  void onEventJson(const common::JsonValue& data, std::string_view sse_event, std::vector<std::string>& out);

  // The upstream closed, or went idle past its timeout. If the stream had not
  // finished, emits one error (reason, default: upstreamTruncatedError()) and stops.
  void onUpstreamEnd(std::vector<std::string>& out, const std::optional<common::ApiError>& reason = std::nullopt);

  bool finished() const { return finished_; }
  std::optional<common::ApiError> failure() const { return failure_; }
  std::optional<TokenUsage> usage() const { return usage_; }
  std::optional<std::string> finishReason() const { return finish_reason_; }
  const std::string& upstreamResponseId() const { return response_id_; }
  // Chunks produced so far (the error object and [DONE] included).
  std::size_t chunkCount() const { return chunk_count_; }

 private:
  struct ToolCall {
    int index = 0;
    std::string item_id;
    std::string call_id;
    std::string name;
    bool custom = false;
    std::size_t streamed = 0;  // argument / input bytes sent so far
  };

  void emit(std::vector<std::string>& out, std::string_view delta_json, std::string_view finish_reason = {});
  void ensureRole(std::vector<std::string>& out);
  void emitContent(std::vector<std::string>& out, std::string_view text);
  // A refusal delta (after the role chunk); nothing for empty text.
  void emitRefusal(std::vector<std::string>& out, std::string_view text);
  void closeThink(std::vector<std::string>& out);
  void onTextDelta(const common::JsonValue& data, std::vector<std::string>& out);
  void onReasoningDelta(std::string_view text, std::vector<std::string>& out);
  ToolCall* findCall(const common::JsonValue& data);
  ToolCall& announceCall(const common::JsonValue& item, std::optional<std::int64_t> output_index,
                         std::vector<std::string>& out);
  void emitArguments(ToolCall& call, std::string_view fragment, std::vector<std::string>& out);
  void completeArguments(ToolCall& call, std::string_view full, std::vector<std::string>& out);
  void onItemDone(const common::JsonValue& data, std::vector<std::string>& out);
  void finish(const std::optional<std::string>& incomplete_reason, const common::JsonValue& response,
              std::vector<std::string>& out);
  void fail(common::ApiError error, std::vector<std::string>& out);

  ChatStreamOptions options_;
  std::string prefix_;  // {"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":[{"index":0,"delta":
  std::string suffix_null_;  // ,"logprobs":null,"finish_reason":null}]…}
  bool role_sent_ = false;
  bool finished_ = false;
  bool content_started_ = false;
  bool think_open_ = false;
  bool reasoning_emitted_ = false;
  bool reasoning_separator_pending_ = false;
  std::vector<ToolCall> calls_;
  std::map<std::int64_t, std::size_t> call_by_output_index_;
  std::set<std::string, std::less<>> text_items_;  // message items that streamed text deltas
  std::optional<common::ApiError> failure_;
  std::optional<TokenUsage> usage_;
  std::optional<std::string> finish_reason_;
  std::string response_id_;
  std::size_t chunk_count_ = 0;
};

}  // namespace cosp::worker
