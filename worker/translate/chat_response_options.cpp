#include "worker/translate/chat_response_options.h"

#include <string_view>

#include "worker/translate/request_common.h"

namespace cosp::worker::detail {

using common::JsonMember;
using common::JsonValue;
using common::JsonWriter;

std::optional<std::string> chatEffort(const JsonValue& request, const std::optional<std::string>& suffix_effort,
                                      std::string_view& param) {
  if (const JsonValue* e = present(request, "reasoning_effort")) {
    param = "reasoning_effort";
    return std::string(*e->stringView());  // its type was checked
  }
  if (const JsonValue* reasoning = present(request, "reasoning")) {
    if (const auto e = common::jsonString(*reasoning, "effort")) {
      param = "reasoning.effort";
      return std::string(*e);
    }
  }
  param = "model";
  return suffix_effort;
}

bool writeChatReasoning(const JsonValue& request, const std::optional<std::string>& effort, ReasoningCompat compat,
                        bool json_output, JsonWriter& w) {
  const JsonValue* reasoning = present(request, "reasoning");
  std::optional<std::string_view> summary;
  if (reasoning != nullptr) summary = common::jsonString(*reasoning, "summary");
  const bool want_summary =
      compat != ReasoningCompat::None && !json_output && !summary && !(effort && *effort == "none");
  if (want_summary) summary = "auto";
  if (!effort && !summary && reasoning == nullptr) return false;
  w.key("reasoning").beginObject();
  if (effort) w.key("effort").value(*effort);
  if (summary) w.key("summary").value(*summary);
  if (reasoning != nullptr) {
    for (const JsonMember& m : *reasoning->getObject()) {
      if (m.key != "effort" && m.key != "summary") w.key(m.key).value(m.value);
    }
  }
  w.endObject();
  return effort != "none";
}

std::optional<common::ApiError> writeChatText(const JsonValue& request, JsonWriter& w) {
  const JsonValue* rf = present(request, "response_format");
  const JsonValue* verbosity = present(request, "verbosity");
  if (rf == nullptr && verbosity == nullptr) return std::nullopt;
  w.key("text").beginObject();
  if (rf != nullptr) {
    const JsonValue* type_v = rf->find("type");
    if (type_v == nullptr || type_v->isNull()) return missingParam("response_format.type");
    const auto type = type_v->stringView();
    if (!type) return invalidType("response_format.type", "a string");
    w.key("format").beginObject();
    if (*type == "json_schema") {
      const JsonValue* js = rf->find("json_schema");
      if (js == nullptr || js->isNull()) return missingParam("response_format.json_schema");
      if (!js->isObject()) return invalidType("response_format.json_schema", "an object");
      const JsonValue* name = js->find("name");
      if (name == nullptr || name->isNull()) return missingParam("response_format.json_schema.name");
      if (!name->isString()) return invalidType("response_format.json_schema.name", "a string");
      w.key("type").value("json_schema").key("name").value(*name);
      if (const JsonValue* d = present(*js, "description")) w.key("description").value(*d);
      if (const JsonValue* s = present(*js, "schema")) w.key("schema").value(*s);
      if (const JsonValue* s = present(*js, "strict")) w.key("strict").value(*s);
    } else if (*type == "json_object" || *type == "text") {
      w.key("type").value(*type);
    } else {
      return invalidValue("response_format.type", "expected 'text', 'json_object' or 'json_schema'.");
    }
    w.endObject();
  }
  if (verbosity != nullptr) w.key("verbosity").value(*verbosity);
  w.endObject();
  return std::nullopt;
}

}  // namespace cosp::worker::detail
