#pragma once

// Invariants of the two consumers of an upstream Responses stream: the chat chunk mapper and the
// collector of non-streaming replies (used by sse_fuzz.cpp).

#include <string>
#include <string_view>
#include <vector>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "tests/fuzz/fuzz_check.h"
#include "worker/translate/chat_stream_mapper.h"
#include "worker/translate/error_json.h"
#include "worker/translate/response_collector.h"

namespace cosp::fuzz {

// Outputs nest upstream values a level deeper than the events did: re-read them without the
// request depth limit (what is checked here is that they are JSON).
inline common::JsonValue parseProduced(std::string_view text) {
  common::JsonParseOptions options;
  options.max_depth = 4096;
  auto parsed = common::parseJson(text, options);
  FUZZ_CHECK(parsed.ok());
  return std::move(parsed).value();
}

inline void checkApiError(const common::ApiError& e) {
  FUZZ_CHECK(e.status >= 400 && e.status <= 599);
  FUZZ_CHECK(!e.message.empty() && !e.type.empty());
  const common::JsonValue body = parseProduced(worker::apiErrorJson(e));
  FUZZ_CHECK(common::jsonObjectValue(body, "error") != nullptr);
}

inline bool isFinishReason(std::string_view r) {
  return r == "stop" || r == "length" || r == "tool_calls" || r == "content_filter";
}

// A finished chat stream: role chunk first, deltas, one finish chunk, the usage chunk when asked
// for, then [DONE]; or, on failure, the chunks so far and one error object, nothing after it.
inline void checkChatStream(const worker::ChatStreamMapper& mapper, const worker::ChatStreamOptions& options,
                            const std::vector<std::string>& out) {
  FUZZ_CHECK(mapper.finished());
  FUZZ_CHECK(mapper.chunkCount() == out.size());
  FUZZ_CHECK(!out.empty());
  const bool failed = mapper.failure().has_value();
  if (failed) checkApiError(*mapper.failure());
  const std::size_t last = out.size() - 1;
  FUZZ_CHECK((out[last] == "[DONE]") == !failed);
  bool finish_seen = false;
  bool usage_seen = false;
  int calls_announced = 0;
  for (std::size_t i = 0; i < last; ++i) {
    FUZZ_CHECK(out[i] != "[DONE]");
    const common::JsonValue chunk = parseProduced(out[i]);
    FUZZ_CHECK(common::jsonObjectValue(chunk, "error") == nullptr);
    FUZZ_CHECK(common::jsonString(chunk, "id") == std::string_view(options.id));
    FUZZ_CHECK(common::jsonString(chunk, "object") == std::string_view("chat.completion.chunk"));
    FUZZ_CHECK(common::jsonString(chunk, "model") == std::string_view(options.model));
    FUZZ_CHECK(common::jsonInt(chunk, "created") == options.created);
    const common::JsonArray* choices = common::jsonArray(chunk, "choices");
    FUZZ_CHECK(choices != nullptr);
    FUZZ_CHECK(!usage_seen);  // the usage chunk is the last before [DONE]
    if (choices->empty()) {
      // The usage chunk: only with include_usage, only after the finish chunk.
      FUZZ_CHECK(options.include_usage && finish_seen);
      FUZZ_CHECK(common::jsonObjectValue(chunk, "usage") != nullptr);
      usage_seen = true;
      continue;
    }
    FUZZ_CHECK(!finish_seen);
    FUZZ_CHECK(choices->size() == 1);
    if (options.include_usage) FUZZ_CHECK(chunk.find("usage") != nullptr && chunk.find("usage")->isNull());
    const common::JsonValue& choice = (*choices)[0];
    const common::JsonValue* delta = common::jsonObjectValue(choice, "delta");
    FUZZ_CHECK(delta != nullptr);
    if (i == 0) FUZZ_CHECK(common::jsonString(*delta, "role") == std::string_view("assistant"));
    const bool reasoning_allowed =
        options.reasoning == worker::ReasoningCompat::ReasoningContent && !options.json_output;
    FUZZ_CHECK(reasoning_allowed || delta->find("reasoning_content") == nullptr);
    if (const common::JsonArray* calls = common::jsonArray(*delta, "tool_calls")) {
      FUZZ_CHECK(calls->size() == 1);
      const auto index = common::jsonInt((*calls)[0], "index");
      FUZZ_CHECK(index.has_value());
      if ((*calls)[0].find("id") != nullptr) {
        FUZZ_CHECK(*index == calls_announced);  // announcements count calls in order
        ++calls_announced;
      } else {
        FUZZ_CHECK(*index >= 0 && *index < calls_announced);  // fragments follow their announcement
      }
    }
    if (const auto reason = common::jsonString(choice, "finish_reason")) {
      FUZZ_CHECK(isFinishReason(*reason));
      FUZZ_CHECK(mapper.finishReason() == std::string(*reason));
      finish_seen = true;
    }
  }
  if (failed) {
    const common::JsonValue error = parseProduced(out[last]);
    FUZZ_CHECK(common::jsonObjectValue(error, "error") != nullptr);
  } else {
    FUZZ_CHECK(finish_seen);
    FUZZ_CHECK(usage_seen == options.include_usage);
  }
}

inline void checkCollector(const worker::ResponseCollector& collector, worker::ReasoningCompat compat,
                           bool json_output) {
  FUZZ_CHECK(collector.finished());
  FUZZ_CHECK(collector.completed() != collector.failure().has_value());
  if (collector.failure()) {
    checkApiError(*collector.failure());
    return;
  }
  const common::JsonValue object = parseProduced(collector.responsesObjectJson());
  FUZZ_CHECK(common::jsonArray(object, "output") != nullptr);
  FUZZ_CHECK(common::jsonString(object, "output_text").has_value());

  const common::JsonValue chat =
      parseProduced(collector.chatCompletionJson("chatcmpl-fuzz", 1, "m", compat, json_output));
  FUZZ_CHECK(common::jsonString(chat, "object") == std::string_view("chat.completion"));
  const common::JsonArray* choices = common::jsonArray(chat, "choices");
  FUZZ_CHECK(choices != nullptr && choices->size() == 1);
  const common::JsonValue* message = common::jsonObjectValue((*choices)[0], "message");
  FUZZ_CHECK(message != nullptr);
  FUZZ_CHECK(common::jsonString(*message, "role") == std::string_view("assistant"));
  const bool reasoning_allowed = compat == worker::ReasoningCompat::ReasoningContent && !json_output;
  FUZZ_CHECK(reasoning_allowed || message->find("reasoning_content") == nullptr);
  const auto reason = common::jsonString((*choices)[0], "finish_reason");
  FUZZ_CHECK(reason && isFinishReason(*reason));
  FUZZ_CHECK(common::jsonObjectValue(chat, "usage") != nullptr);
}

}  // namespace cosp::fuzz
