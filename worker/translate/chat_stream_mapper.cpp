#include "worker/translate/chat_stream_mapper.h"

#include <random>

#include "common/json/json_parser.h"
#include "common/json/json_writer.h"
#include "common/util/split_mix64.h"
#include "worker/translate/chat_common.h"
#include "worker/translate/error_json.h"
#include "worker/translate/upstream_error.h"

namespace cosp::worker {

using common::JsonValue;
using common::JsonWriter;

std::string newChatCompletionId() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local common::SplitMix64 rng = common::SplitMix64::fromRandomDevice();
  std::uniform_int_distribution<std::size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string id = "chatcmpl-";
  for (int i = 0; i < 24; ++i) id.push_back(kAlphabet[pick(rng)]);
  return id;
}

ChatStreamMapper::ChatStreamMapper(ChatStreamOptions options) : options_(std::move(options)) {
  JsonWriter w;
  w.beginObject();
  w.key("id").value(options_.id);
  w.key("object").value("chat.completion.chunk");
  w.key("created").value(options_.created);
  w.key("model").value(options_.model);
  // The writer's text is left open on purpose: chunks are prefix + delta + suffix.
  prefix_ = w.take();
  prefix_ += R"(,"choices":[{"index":0,"delta":)";
  suffix_null_ = R"(,"logprobs":null,"finish_reason":null}])";
  if (options_.include_usage) suffix_null_ += R"(,"usage":null)";
  suffix_null_ += "}";
}

void ChatStreamMapper::emit(std::vector<std::string>& out, std::string_view delta_json,
                            std::string_view finish_reason) {
  std::string chunk;
  chunk.reserve(prefix_.size() + delta_json.size() + suffix_null_.size() + 16);
  chunk += prefix_;
  chunk += delta_json;
  if (finish_reason.empty()) {
    chunk += suffix_null_;
  } else {
    chunk += R"(,"logprobs":null,"finish_reason":)";
    common::appendJsonString(chunk, finish_reason);
    chunk += "}]";
    if (options_.include_usage) chunk += R"(,"usage":null)";
    chunk += "}";
  }
  out.push_back(std::move(chunk));
  ++chunk_count_;
}

void ChatStreamMapper::ensureRole(std::vector<std::string>& out) {
  if (role_sent_) return;
  role_sent_ = true;
  emit(out, R"({"role":"assistant","content":""})");
}

void ChatStreamMapper::emitContent(std::vector<std::string>& out, std::string_view text) {
  std::string delta = R"({"content":)";
  common::appendJsonString(delta, text);
  delta += "}";
  emit(out, delta);
}

void ChatStreamMapper::emitRefusal(std::vector<std::string>& out, std::string_view text) {
  if (text.empty()) return;
  ensureRole(out);
  std::string delta = R"({"refusal":)";
  common::appendJsonString(delta, text);
  delta += "}";
  emit(out, delta);
}

void ChatStreamMapper::closeThink(std::vector<std::string>& out) {
  if (!think_open_) return;
  think_open_ = false;
  emitContent(out, detail::kThinkClose);
}

void ChatStreamMapper::onReasoningDelta(std::string_view text, std::vector<std::string>& out) {
  if (options_.reasoning == ReasoningCompat::None || options_.json_output || text.empty()) return;
  std::string piece;
  if (reasoning_separator_pending_ && reasoning_emitted_) piece = "\n\n";
  reasoning_separator_pending_ = false;
  piece.append(text);
  if (options_.reasoning == ReasoningCompat::ReasoningContent) {
    ensureRole(out);
    std::string delta = R"({"reasoning_content":)";
    common::appendJsonString(delta, piece);
    delta += "}";
    emit(out, delta);
    reasoning_emitted_ = true;
    return;
  }
  // Think tags live inside content, so they can only precede the answer.
  if (content_started_) return;
  ensureRole(out);
  if (!think_open_) {
    think_open_ = true;
    piece = std::string(detail::kThinkOpen) + std::string(text);
  }
  emitContent(out, piece);
  reasoning_emitted_ = true;
}

void ChatStreamMapper::onTextDelta(const JsonValue& data, std::vector<std::string>& out) {
  const auto delta = common::jsonString(data, "delta");
  if (const auto item = common::jsonString(data, "item_id")) text_items_.emplace(*item);
  if (!delta || delta->empty()) return;
  closeThink(out);
  ensureRole(out);
  content_started_ = true;
  emitContent(out, *delta);
}

ChatStreamMapper::ToolCall* ChatStreamMapper::findCall(const JsonValue& data) {
  if (const auto item_id = common::jsonString(data, "item_id")) {
    for (ToolCall& c : calls_) {
      if (c.item_id == *item_id) return &c;
    }
  }
  if (const auto idx = common::jsonInt(data, "output_index")) {
    if (auto it = call_by_output_index_.find(*idx); it != call_by_output_index_.end()) return &calls_[it->second];
  }
  return nullptr;
}

ChatStreamMapper::ToolCall& ChatStreamMapper::announceCall(const JsonValue& item,
                                                           std::optional<std::int64_t> output_index,
                                                           std::vector<std::string>& out) {
  ToolCall call;
  call.index = static_cast<int>(calls_.size());
  call.item_id = std::string(common::jsonString(item, "id").value_or(""));
  call.call_id = std::string(common::jsonString(item, "call_id").value_or(call.item_id));
  call.name = std::string(common::jsonString(item, "name").value_or(""));
  call.custom = common::jsonString(item, "type").value_or("") == "custom_tool_call";
  closeThink(out);
  ensureRole(out);
  JsonWriter w;
  w.beginObject().key("tool_calls").beginArray().beginObject();
  w.key("index").value(call.index).key("id").value(call.call_id);
  if (call.custom) {
    w.key("type").value("custom").key("custom").beginObject();
    w.key("name").value(call.name).key("input").value("").endObject();
  } else {
    w.key("type").value("function").key("function").beginObject();
    w.key("name").value(call.name).key("arguments").value("").endObject();
  }
  w.endObject().endArray().endObject();
  emit(out, w.str());
  calls_.push_back(std::move(call));
  if (output_index) call_by_output_index_[*output_index] = calls_.size() - 1;
  return calls_.back();
}

void ChatStreamMapper::emitArguments(ToolCall& call, std::string_view fragment, std::vector<std::string>& out) {
  if (fragment.empty()) return;
  JsonWriter w;
  w.reserve(fragment.size() + 64);
  w.beginObject().key("tool_calls").beginArray().beginObject().key("index").value(call.index);
  if (call.custom) {
    w.key("custom").beginObject().key("input").value(fragment).endObject();
  } else {
    w.key("function").beginObject().key("arguments").value(fragment).endObject();
  }
  w.endObject().endArray().endObject();
  emit(out, w.str());
  call.streamed += fragment.size();
}

void ChatStreamMapper::completeArguments(ToolCall& call, std::string_view full, std::vector<std::string>& out) {
  // Only what the deltas did not already carry (some streams send no deltas at all).
  if (full.size() > call.streamed) emitArguments(call, full.substr(call.streamed), out);
}

void ChatStreamMapper::onItemDone(const JsonValue& data, std::vector<std::string>& out) {
  const JsonValue* item = common::jsonObjectValue(data, "item");
  if (item == nullptr) return;
  const auto type = common::jsonString(*item, "type").value_or("");
  if (type == "function_call" || type == "custom_tool_call") {
    ToolCall* call = nullptr;
    if (const auto id = common::jsonString(*item, "id")) {
      for (ToolCall& c : calls_) {
        if (c.item_id == *id) call = &c;
      }
    }
    if (call == nullptr) call = findCall(data);
    if (call == nullptr) call = &announceCall(*item, common::jsonInt(data, "output_index"), out);
    const auto full = common::jsonString(*item, type == "function_call" ? "arguments" : "input");
    if (full) completeArguments(*call, *full, out);
    return;
  }
  if (type == "message") {
    // A message whose text never came as deltas: send it whole.
    const auto id = common::jsonString(*item, "id");
    if (id && text_items_.count(*id) != 0) return;
    const common::JsonArray* content = common::jsonArray(*item, "content");
    if (content == nullptr) return;
    for (const JsonValue& part : *content) {
      const auto ptype = common::jsonString(part, "type").value_or("");
      if (ptype == "output_text") {
        const auto text = common::jsonString(part, "text");
        if (text && !text->empty()) {
          closeThink(out);
          ensureRole(out);
          content_started_ = true;
          emitContent(out, *text);
        }
      } else if (ptype == "refusal") {
        emitRefusal(out, common::jsonString(part, "refusal").value_or(std::string_view()));
      }
    }
  }
}

void ChatStreamMapper::finish(const std::optional<std::string>& incomplete_reason, const JsonValue& response,
                              std::vector<std::string>& out) {
  usage_ = detail::usageFromResponse(response);
  closeThink(out);
  ensureRole(out);
  finish_reason_ = detail::finishReason(incomplete_reason, !calls_.empty());
  emit(out, "{}", *finish_reason_);
  if (options_.include_usage) {
    JsonWriter w;
    w.beginObject();
    w.key("id").value(options_.id);
    w.key("object").value("chat.completion.chunk");
    w.key("created").value(options_.created);
    w.key("model").value(options_.model);
    w.key("choices").beginArray().endArray();
    w.key("usage");
    detail::writeChatUsage(w, usage_.value_or(TokenUsage{}));
    w.endObject();
    out.push_back(w.take());
    ++chunk_count_;
  }
  out.emplace_back("[DONE]");
  ++chunk_count_;
  finished_ = true;
}

void ChatStreamMapper::fail(common::ApiError error, std::vector<std::string>& out) {
  out.push_back(apiErrorJson(error));
  ++chunk_count_;
  failure_ = std::move(error);
  finished_ = true;
}

void ChatStreamMapper::onEvent(const SseEvent& event, std::vector<std::string>& out) {
  if (finished_) return;
  // Borrowed strings: event.data outlives this call and the mapper keeps no
  // JsonValue, only std::string copies of the few ids it needs.
  common::JsonParseOptions options;
  options.borrow_strings = true;
  auto parsed = common::parseJson(event.data, options);
  if (!parsed.ok()) return;  // not JSON: nothing a chat client could use
  onEventJson(parsed.value(), event.event, out);
}

void ChatStreamMapper::onEventJson(const JsonValue& data, std::string_view sse_event, std::vector<std::string>& out) {
  if (finished_) return;
  const std::string_view type = detail::eventType(data, sse_event);
  if (type == "response.output_text.delta") {
    onTextDelta(data, out);
  } else if (type == "response.function_call_arguments.delta" || type == "response.custom_tool_call_input.delta") {
    if (ToolCall* call = findCall(data)) emitArguments(*call, common::jsonString(data, "delta").value_or(""), out);
  } else if (type == "response.function_call_arguments.done" || type == "response.custom_tool_call_input.done") {
    if (ToolCall* call = findCall(data)) {
      const auto full = common::jsonString(data, call->custom ? "input" : "arguments");
      if (full) completeArguments(*call, *full, out);
    }
  } else if (type == "response.reasoning_summary_text.delta" || type == "response.reasoning_text.delta") {
    onReasoningDelta(common::jsonString(data, "delta").value_or(""), out);
  } else if (type == "response.reasoning_summary_part.added") {
    reasoning_separator_pending_ = true;
  } else if (type == "response.output_item.added") {
    const JsonValue* item = common::jsonObjectValue(data, "item");
    if (item == nullptr) return;
    const auto itype = common::jsonString(*item, "type").value_or("");
    if ((itype == "function_call" || itype == "custom_tool_call") && findCall(data) == nullptr) {
      announceCall(*item, common::jsonInt(data, "output_index"), out);
    } else if (itype == "reasoning") {
      reasoning_separator_pending_ = true;
    }
  } else if (type == "response.output_item.done") {
    onItemDone(data, out);
  } else if (type == "response.refusal.delta") {
    emitRefusal(out, common::jsonString(data, "delta").value_or(std::string_view()));
  } else if (type == "response.created" || type == "response.in_progress") {
    if (const JsonValue* r = common::jsonObjectValue(data, "response")) {
      response_id_ = std::string(common::jsonString(*r, "id").value_or(""));
    }
  } else if (type == "response.completed" || type == "response.incomplete") {
    // Without its response object the end says nothing about the answer: a malformed event.
    const JsonValue* r = common::jsonObjectValue(data, "response");
    if (r == nullptr) {
      fail(upstreamMalformedEventError(), out);
      return;
    }
    std::optional<std::string> reason;
    if (type == "response.incomplete") {
      reason = std::string("max_output_tokens");
      if (const JsonValue* d = common::jsonObjectValue(*r, "incomplete_details")) {
        if (const auto why = common::jsonString(*d, "reason")) reason = std::string(*why);
      }
    }
    finish(reason, *r, out);
  } else if (type == "response.failed" || type == "error") {
    fail(mapStreamFailureJson(data), out);
  }
}

void ChatStreamMapper::onUpstreamEnd(std::vector<std::string>& out, const std::optional<common::ApiError>& reason) {
  if (finished_) return;
  fail(reason.value_or(upstreamTruncatedError()), out);
}

}  // namespace cosp::worker
