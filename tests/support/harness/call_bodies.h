#pragma once

#include <string>
#include <string_view>

#include "common/json/json_writer.h"

namespace cosp::test {

// The model the call bodies name unless told otherwise.
inline constexpr std::string_view kCallModel = "gpt-5.5";

// A Chat Completions body with one user message `text` (JSON-escaped); `extra` is spliced in
// after "stream" as it is (`,"temperature":0.2`).
inline std::string chatBody(std::string_view text, bool stream = false, std::string_view extra = {},
                            std::string_view model = kCallModel) {
  std::string out = "{\"model\":";
  common::appendJsonString(out, model);
  out += stream ? ",\"stream\":true" : ",\"stream\":false";
  out += extra;
  out += ",\"messages\":[{\"role\":\"user\",\"content\":";
  common::appendJsonString(out, text);
  out += "}]}";
  return out;
}

// A Responses body whose `input` is the string `text`; `extra` as for chatBody.
inline std::string responsesBody(std::string_view text, bool stream = false, std::string_view extra = {},
                                 std::string_view model = kCallModel) {
  std::string out = "{\"model\":";
  common::appendJsonString(out, model);
  out += stream ? ",\"stream\":true" : ",\"stream\":false";
  out += extra;
  out += ",\"input\":";
  common::appendJsonString(out, text);
  out += "}";
  return out;
}

// The four ways to make a model call: chat or responses, collected or streamed.
struct CallForm {
  const char* name;
  const char* path;
  bool chat;
  bool stream;

  std::string body(std::string_view text, std::string_view model = kCallModel) const {
    return chat ? chatBody(text, stream, {}, model) : responsesBody(text, stream, {}, model);
  }
};

inline constexpr CallForm kCallForms[] = {{"chat", "/v1/chat/completions", true, false},
                                          {"chat stream", "/v1/chat/completions", true, true},
                                          {"responses", "/v1/responses", false, false},
                                          {"responses stream", "/v1/responses", false, true}};

}  // namespace cosp::test
