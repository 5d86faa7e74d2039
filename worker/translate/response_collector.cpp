#include "worker/translate/response_collector.h"

#include <algorithm>

#include "common/json/json_parser.h"
#include "common/json/json_writer.h"
#include "worker/translate/chat_common.h"
#include "worker/translate/upstream_error.h"

namespace cosp::worker {

using common::JsonArray;
using common::JsonMember;
using common::JsonValue;
using common::JsonWriter;

namespace {

bool collectorCares(std::string_view type) {
  return type == "response.created" || type == "response.in_progress" || type == "response.output_item.done" ||
         type == "response.completed" || type == "response.incomplete" || type == "response.failed" || type == "error";
}

// Characters (code points) in UTF-8 text: annotation offsets count characters.
std::int64_t codePoints(std::string_view s) {
  std::int64_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

void appendOutputText(const JsonValue& item, std::string& out) {
  if (common::jsonString(item, "type").value_or("") != "message") return;
  const JsonArray* content = common::jsonArray(item, "content");
  if (content == nullptr) return;
  for (const JsonValue& part : *content) {
    if (common::jsonString(part, "type").value_or("") != "output_text") continue;
    if (const auto text = common::jsonString(part, "text")) out.append(*text);
  }
}

std::string reasoningText(const JsonValue& item) {
  std::string out;
  auto add = [&](const JsonArray* parts, std::string_view part_type) {
    if (parts == nullptr) return;
    for (const JsonValue& part : *parts) {
      if (common::jsonString(part, "type").value_or("") != part_type) continue;
      const auto text = common::jsonString(part, "text");
      if (!text || text->empty()) continue;
      if (!out.empty()) out.append("\n\n");
      out.append(*text);
    }
  };
  add(common::jsonArray(item, "summary"), "summary_text");
  if (out.empty()) add(common::jsonArray(item, "content"), "reasoning_text");
  return out;
}

// A url_citation annotation, its offsets counted in characters of the whole message content.
struct Citation {
  std::int64_t start;
  std::int64_t end;
  const JsonValue* annotation;
};

// What the one chat.completion message is made of, gathered from the output items.
struct ChatMessageParts {
  std::string content;
  std::string refusal;
  std::string reasoning;
  std::vector<Citation> citations;
  std::vector<const JsonValue*> calls;  // function_call and custom_tool_call items
};

// Appends the output_text and refusal parts of a message item.
void appendMessageItem(const JsonValue& item, ChatMessageParts& out) {
  const JsonArray* parts = common::jsonArray(item, "content");
  if (parts == nullptr) return;
  for (const JsonValue& part : *parts) {
    const auto ptype = common::jsonString(part, "type").value_or("");
    if (ptype == "output_text") {
      const std::int64_t offset = codePoints(out.content);
      if (const JsonArray* anns = common::jsonArray(part, "annotations")) {
        for (const JsonValue& a : *anns) {
          if (common::jsonString(a, "type").value_or("") != "url_citation") continue;
          // The indexes come from the upstream: saturate rather than overflow on absurd ones.
          out.citations.push_back(Citation{detail::saturatingAdd(offset, common::jsonInt(a, "start_index").value_or(0)),
                                           detail::saturatingAdd(offset, common::jsonInt(a, "end_index").value_or(0)),
                                           &a});
        }
      }
      out.content.append(common::jsonString(part, "text").value_or(""));
    } else if (ptype == "refusal") {
      out.refusal.append(common::jsonString(part, "refusal").value_or(""));
    }
  }
}

ChatMessageParts gatherMessageParts(const std::vector<const JsonValue*>& items) {
  ChatMessageParts out;
  for (const JsonValue* item : items) {
    const auto type = common::jsonString(*item, "type").value_or("");
    if (type == "message") {
      appendMessageItem(*item, out);
    } else if (type == "function_call" || type == "custom_tool_call") {
      out.calls.push_back(item);
    } else if (type == "reasoning") {
      const std::string text = reasoningText(*item);
      if (!text.empty()) {
        if (!out.reasoning.empty()) out.reasoning.append("\n\n");
        out.reasoning.append(text);
      }
    }
  }
  return out;
}

// ReasoningCompat::ThinkTags: the reasoning goes in front of the content, in think tags; the
// citations move with the text they point at.
void prependThinkTags(ChatMessageParts& parts) {
  std::string prefix = std::string(detail::kThinkOpen) + parts.reasoning + std::string(detail::kThinkClose);
  const std::int64_t shift = codePoints(prefix);
  for (Citation& c : parts.citations) {
    c.start = detail::saturatingAdd(c.start, shift);
    c.end = detail::saturatingAdd(c.end, shift);
  }
  parts.content = prefix + parts.content;
}

void writeToolCalls(JsonWriter& w, const std::vector<const JsonValue*>& calls) {
  w.key("tool_calls").beginArray();
  for (const JsonValue* call : calls) {
    const bool custom = common::jsonString(*call, "type").value_or("") == "custom_tool_call";
    const auto item_id = common::jsonString(*call, "id").value_or("");
    w.beginObject();
    w.key("id").value(common::jsonString(*call, "call_id").value_or(item_id));
    if (custom) {
      w.key("type").value("custom").key("custom").beginObject();
      w.key("name").value(common::jsonString(*call, "name").value_or(""));
      w.key("input").value(common::jsonString(*call, "input").value_or(""));
    } else {
      w.key("type").value("function").key("function").beginObject();
      w.key("name").value(common::jsonString(*call, "name").value_or(""));
      w.key("arguments").value(common::jsonString(*call, "arguments").value_or(""));
    }
    w.endObject().endObject();
  }
  w.endArray();
}

void writeCitations(JsonWriter& w, const std::vector<Citation>& citations) {
  w.key("annotations").beginArray();
  for (const Citation& c : citations) {
    w.beginObject().key("type").value("url_citation").key("url_citation").beginObject();
    w.key("start_index").value(c.start).key("end_index").value(c.end);
    w.key("url").value(common::jsonString(*c.annotation, "url").value_or(""));
    w.key("title").value(common::jsonString(*c.annotation, "title").value_or(""));
    w.endObject().endObject();
  }
  w.endArray();
}

}  // namespace

ResponseCollector::ResponseCollector(std::size_t max_retained_bytes) : max_retained_bytes_(max_retained_bytes) {}

void ResponseCollector::onEvent(const SseEvent& event) {
  if (finished()) return;
  // Text deltas are the bulk of a stream and carry nothing the collector needs
  // (output_item.done repeats the text): skip them without parsing.
  if (!event.event.empty() && !collectorCares(event.event)) return;
  auto parsed = common::parseJson(event.data);
  if (!parsed.ok()) return;
  if (!retain(detail::eventType(parsed.value(), event.event), event.data.size())) return;
  onEventJson(parsed.value(), event.event);
}

bool ResponseCollector::retain(std::string_view type, std::size_t data_bytes) {
  if (type == "response.output_item.done") {
    item_bytes_ += data_bytes;
  } else if (type == "response.created" || type == "response.in_progress" || type == "response.completed" ||
             type == "response.incomplete") {
    response_bytes_ = data_bytes;  // replaces the one kept before
  } else {
    return true;  // not kept
  }
  if (item_bytes_ + response_bytes_ <= max_retained_bytes_) return true;
  failure_ = upstreamResponseTooLargeError(max_retained_bytes_);
  over_cap_ = true;
  std::vector<Item>().swap(items_);
  response_ = JsonValue();
  return false;
}

void ResponseCollector::onEventJson(const JsonValue& data, std::string_view sse_event) {
  if (finished()) return;
  const std::string_view type = detail::eventType(data, sse_event);
  if (type == "response.output_item.done") {
    const JsonValue* item = data.find("item");
    if (item == nullptr || !item->isObject()) return;
    const auto index = common::jsonInt(data, "output_index");
    // Unindexed items sort after every indexed one, in arrival order.
    const std::int64_t order = index ? *index : (INT64_MAX / 2) + unindexed_++;
    items_.push_back(Item{order, *item});
  } else if (type == "response.created" || type == "response.in_progress") {
    if (const JsonValue* r = common::jsonObjectValue(data, "response")) response_ = *r;
  } else if (type == "response.completed" || type == "response.incomplete") {
    // Without its response object the end says nothing about the answer: a success built from
    // it would drop what was streamed before.
    const JsonValue* r = common::jsonObjectValue(data, "response");
    if (r == nullptr) {
      failure_ = upstreamMalformedEventError();
      return;
    }
    response_ = *r;
    usage_ = detail::usageFromResponse(response_);
    if (type == "response.incomplete") {
      incomplete_reason_ = "max_output_tokens";
      if (const JsonValue* d = common::jsonObjectValue(response_, "incomplete_details")) {
        if (const auto why = common::jsonString(*d, "reason")) incomplete_reason_ = std::string(*why);
      }
    }
    completed_ = true;
  } else if (type == "response.failed" || type == "error") {
    failure_ = mapStreamFailureJson(data);
  }
}

void ResponseCollector::onUpstreamEnd(const std::optional<common::ApiError>& reason) {
  if (finished()) return;
  failure_ = reason.value_or(upstreamTruncatedError());
}

std::vector<const JsonValue*> ResponseCollector::outputItems() const {
  std::vector<const JsonValue*> out;
  if (const JsonArray* own = common::jsonArray(response_, "output"); own != nullptr && !own->empty()) {
    for (const JsonValue& item : *own) out.push_back(&item);
    return out;
  }
  std::vector<const Item*> sorted;
  sorted.reserve(items_.size());
  for (const Item& item : items_) sorted.push_back(&item);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Item* a, const Item* b) { return a->order < b->order; });
  for (const Item* item : sorted) out.push_back(&item->value);
  return out;
}

std::string ResponseCollector::responsesObjectJson() const {
  const std::vector<const JsonValue*> items = outputItems();
  std::string output_text;
  for (const JsonValue* item : items) appendOutputText(*item, output_text);

  JsonWriter w;
  auto writeOutput = [&] {
    w.key("output").beginArray();
    for (const JsonValue* item : items) w.value(*item);
    w.endArray();
  };
  w.beginObject();
  bool wrote_output = false;
  if (const common::JsonObject* obj = response_.getObject()) {
    for (const JsonMember& m : *obj) {
      if (m.key == "output") {
        if (!wrote_output) writeOutput();
        wrote_output = true;
      } else if (m.key != "output_text") {
        w.key(m.key).value(m.value);
      }
    }
  } else {
    w.key("object").value("response");
  }
  if (!wrote_output) writeOutput();
  w.key("output_text").value(output_text);
  w.endObject();
  return w.take();
}

std::string ResponseCollector::chatCompletionJson(const std::string& id, std::int64_t created, const std::string& model,
                                                  ReasoningCompat compat, bool json_output) const {
  ChatMessageParts parts = gatherMessageParts(outputItems());
  if (json_output) parts.reasoning.clear();
  if (compat == ReasoningCompat::ThinkTags && !parts.reasoning.empty()) prependThinkTags(parts);

  JsonWriter w;
  w.reserve(parts.content.size() + parts.reasoning.size() + 512);
  w.beginObject();
  w.key("id").value(id);
  w.key("object").value("chat.completion");
  w.key("created").value(created);
  w.key("model").value(model);
  w.key("choices").beginArray().beginObject();
  w.key("index").value(0);
  w.key("message").beginObject();
  w.key("role").value("assistant");
  w.key("content");
  if (parts.content.empty() && !parts.calls.empty()) {
    w.null();
  } else {
    w.value(parts.content);
  }
  w.key("refusal");
  if (parts.refusal.empty()) {
    w.null();
  } else {
    w.value(parts.refusal);
  }
  if (compat == ReasoningCompat::ReasoningContent && !parts.reasoning.empty()) {
    w.key("reasoning_content").value(parts.reasoning);
  }
  if (!parts.calls.empty()) writeToolCalls(w, parts.calls);
  if (!parts.citations.empty()) writeCitations(w, parts.citations);
  w.endObject();  // message
  w.key("logprobs").null();
  w.key("finish_reason").value(detail::finishReason(incomplete_reason_, !parts.calls.empty()));
  w.endObject().endArray();  // choice, choices
  w.key("usage");
  detail::writeChatUsage(w, usage_.value_or(TokenUsage{}));
  w.endObject();
  return w.take();
}

}  // namespace cosp::worker
