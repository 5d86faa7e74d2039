#include "worker/translate/chat_messages.h"

#include <deque>
#include <map>
#include <set>

#include "worker/translate/body_rewrites.h"
#include "worker/translate/request_common.h"

namespace cosp::worker::detail {
namespace {

using common::ApiError;
using common::JsonArray;
using common::JsonValue;
using common::JsonWriter;

// nullopt = fine; otherwise the error to return.
using Status = std::optional<ApiError>;

// Joins the text of a system / developer / tool message content. `skip_string`: a string
// content is not copied into `out` (the caller writes the value itself).
Status joinText(const JsonValue* content, const std::string& param, std::string& out, bool skip_string = false) {
  out.clear();
  if (content == nullptr || content->isNull()) return std::nullopt;
  if (content->isString()) {
    if (!skip_string) out = *content->stringView();  // not read otherwise: that would decode an escaped view
    return std::nullopt;
  }
  const JsonArray* parts = content->getArray();
  if (parts == nullptr) return invalidType(param, "a string or an array of text parts");
  bool first = true;
  for (std::size_t j = 0; j < parts->size(); ++j) {
    const JsonValue& part = (*parts)[j];
    const std::string pp = at(param, j);
    if (!part.isObject()) return invalidType(pp, "an object");
    const auto type = common::jsonString(part, "type");
    if (!type) return missingParam(pp + ".type");
    if (!isTextPartType(*type)) {
      return ApiError::unsupported("Only text content parts are supported here, got '" + std::string(*type) + "'.", pp);
    }
    const auto text = common::jsonString(part, "text");
    if (!text) return missingParam(pp + ".text");
    if (!first) out.push_back('\n');
    out.append(*text);
    first = false;
  }
  return std::nullopt;
}

// The input items of one request's messages. Tool calls and their results are paired by id; a
// legacy function call has none, so it gets a made-up one that the next "function" message of the
// same name takes back.
class ChatInputWriter {
 public:
  explicit ChatInputWriter(JsonWriter& w) : w_(w) {}

  Status write(JsonArray& messages) {
    for (std::size_t i = 0; i < messages.size(); ++i) {
      JsonValue& msg = messages[i];
      const std::string mp = at("messages", i);
      const std::string_view role = *msg.find("role")->stringView();
      Status st;
      if (role == "user") {
        st = writeUser(msg, mp);
      } else if (role == "assistant") {
        st = writeAssistant(msg, mp, i);
      } else if (role == "tool") {
        st = writeTool(msg, mp);
      } else if (role == "function") {
        st = writeLegacyFunctionResult(msg, mp, i);
      }
      // system / developer went to instructions.
      if (st) return st;
    }
    return std::nullopt;
  }

 private:
  Status writeUser(JsonValue& msg, const std::string& mp) {
    JsonValue* content = msg.find("content");
    if (content == nullptr || content->isNull()) return missingParam(mp + ".content");
    if (content->isString()) {
      // The JsonValue, not its text: an escaped view is copied as it came (issue 17).
      w_.beginObject().key("type").value("message").key("role").value("user").key("content").beginArray();
      w_.beginObject().key("type").value("input_text").key("text").value(*content).endObject();
      w_.endArray().endObject();
      return std::nullopt;
    }
    JsonArray* parts = content->getArray();
    if (parts == nullptr) return invalidType(mp + ".content", "a string or an array of content parts");
    w_.beginObject().key("type").value("message").key("role").value("user").key("content").beginArray();
    for (std::size_t j = 0; j < parts->size(); ++j) {
      if (auto e = writeUserPart((*parts)[j], at(mp + ".content", j))) return e;
    }
    w_.endArray().endObject();
    return std::nullopt;
  }

  Status writeUserPart(JsonValue& part, const std::string& pp) {
    if (!part.isObject()) return invalidType(pp, "an object");
    const JsonValue* type_v = part.find("type");
    if (type_v == nullptr || type_v->isNull()) return missingParam(pp + ".type");
    const auto type = type_v->stringView();
    if (!type) return invalidType(pp + ".type", "a string");
    if (*type == "text") {
      const JsonValue* text = part.find("text");
      if (text == nullptr || !text->isString())
        return text == nullptr ? missingParam(pp + ".text") : invalidType(pp + ".text", "a string");
      w_.beginObject().key("type").value("input_text").key("text").value(*text).endObject();
      return std::nullopt;
    }
    if (*type == "image_url") {
      JsonValue* iv = part.find("image_url");
      if (iv == nullptr || iv->isNull()) return missingParam(pp + ".image_url");
      JsonValue* url = nullptr;
      const JsonValue* detail = nullptr;
      if (iv->isString()) {
        url = iv;
      } else if (iv->isObject()) {
        url = iv->find("url");
        if (url == nullptr || url->isNull()) return missingParam(pp + ".image_url.url");
        if (!url->isString()) return invalidType(pp + ".image_url.url", "a string");
        detail = present(*iv, "detail");
        if (detail != nullptr && !detail->isString()) return invalidType(pp + ".image_url.detail", "a string");
      } else {
        return invalidType(pp + ".image_url", "an object");
      }
      if (url->stringView()->empty()) return invalidValue(pp + ".image_url.url", "must not be empty.");
      normalizeImageUrlValue(*url);
      w_.beginObject().key("type").value("input_image").key("image_url").value(*url);
      if (detail != nullptr) {
        w_.key("detail").value(*detail);
      } else {
        w_.key("detail").value("auto");
      }
      w_.endObject();
      return std::nullopt;
    }
    if (*type == "file") {
      const JsonValue* f = part.find("file");
      if (f == nullptr || f->isNull()) return missingParam(pp + ".file");
      if (!f->isObject()) return invalidType(pp + ".file", "an object");
      w_.beginObject().key("type").value("input_file");
      bool any = false;
      for (std::string_view key : {"file_id", "filename", "file_data", "file_url"}) {
        if (const JsonValue* v = present(*f, key)) {
          if (!v->isString()) return invalidType(pp + ".file." + std::string(key), "a string");
          w_.key(key).value(*v);
          any = true;
        }
      }
      if (!any) return missingParam(pp + ".file.file_data");
      w_.endObject();
      return std::nullopt;
    }
    if (*type == "input_audio") {
      return ApiError::unsupported("Audio input ('input_audio' content parts) is not supported by the Codex backend.",
                                   pp);
    }
    if (*type == "input_text" || *type == "input_image" || *type == "input_file") {
      // Already in Responses form (some clients mix the two APIs): pass through,
      // with the same data URL normalisation, without a prompt_cache_breakpoint.
      if (*type == "input_image") {
        if (JsonValue* u = part.find("image_url")) normalizeImageUrlValue(*u);
      }
      if (part.find(kPromptCacheBreakpoint) != nullptr) {
        writeObjectWithout(part, kPromptCacheBreakpoint, w_);
      } else {
        w_.value(part);
      }
      return std::nullopt;
    }
    return ApiError::unsupported("Unsupported content part type '" + std::string(*type) + "'.", pp + ".type");
  }

  Status writeAssistant(JsonValue& msg, const std::string& mp, std::size_t index) {
    const JsonValue* content = msg.find("content");
    if (content != nullptr && !content->isNull()) {
      if (content->isString()) {
        if (!content->isEmptyString()) {
          w_.beginObject().key("type").value("message").key("role").value("assistant").key("content").beginArray();
          w_.beginObject().key("type").value("output_text").key("text").value(*content).endObject();
          w_.endArray().endObject();
        }
      } else if (const JsonArray* parts = content->getArray()) {
        if (!parts->empty()) {
          w_.beginObject().key("type").value("message").key("role").value("assistant").key("content").beginArray();
          for (std::size_t j = 0; j < parts->size(); ++j) {
            const JsonValue& part = (*parts)[j];
            const std::string pp = at(mp + ".content", j);
            if (!part.isObject()) return invalidType(pp, "an object");
            const auto type = common::jsonString(part, "type");
            if (!type) return missingParam(pp + ".type");
            if (isTextPartType(*type)) {
              const JsonValue* text = part.find("text");
              if (text == nullptr || !text->isString()) return missingParam(pp + ".text");
              w_.beginObject().key("type").value("output_text").key("text").value(*text).endObject();
            } else if (*type == "refusal") {
              const auto refusal = common::jsonString(part, "refusal");
              if (!refusal) return missingParam(pp + ".refusal");
              w_.beginObject().key("type").value("refusal").key("refusal").value(*refusal).endObject();
            } else {
              return ApiError::unsupported("Unsupported assistant content part type '" + std::string(*type) + "'.",
                                           pp + ".type");
            }
          }
          w_.endArray().endObject();
        }
      } else {
        return invalidType(mp + ".content", "a string, an array of content parts or null");
      }
    }
    if (const JsonValue* calls_v = present(msg, "tool_calls")) {
      const JsonArray* calls = calls_v->getArray();
      if (calls == nullptr) return invalidType(mp + ".tool_calls", "an array");
      for (std::size_t k = 0; k < calls->size(); ++k) {
        if (auto e = writeToolCall((*calls)[k], at(mp + ".tool_calls", k))) return e;
      }
    }
    if (const JsonValue* fc = present(msg, "function_call")) {
      // Legacy single function call: it has no id, so one is made up and paired
      // with the next "function" message of the same name.
      if (!fc->isObject()) return invalidType(mp + ".function_call", "an object");
      const auto name = common::jsonString(*fc, "name");
      if (!name) return missingParam(mp + ".function_call.name");
      std::string call_id = "call_legacy_" + std::to_string(index);
      legacy_calls_[std::string(*name)].push_back(call_id);
      w_.beginObject().key("type").value("function_call").key("call_id").value(call_id);
      w_.key("name").value(*name).key("arguments");
      writeArguments(fc->find("arguments"));
      w_.endObject();
    }
    return std::nullopt;
  }

  void writeArguments(const JsonValue* args) {
    if (args == nullptr || args->isNull()) {
      w_.value("");
    } else if (args->isString()) {
      w_.value(*args);
    } else {
      // Some clients send the arguments as an object; the backend wants a string.
      w_.value(common::toJson(*args));
    }
  }

  Status writeToolCall(const JsonValue& call, const std::string& cp) {
    if (!call.isObject()) return invalidType(cp, "an object");
    const JsonValue* id = call.find("id");
    if (id == nullptr || id->isNull()) return missingParam(cp + ".id");
    if (!id->isString()) return invalidType(cp + ".id", "a string");
    const auto type = common::jsonString(call, "type");
    if (type && *type == "custom") {
      const JsonValue* custom = call.find("custom");
      if (custom == nullptr || !custom->isObject()) return missingParam(cp + ".custom");
      const auto name = common::jsonString(*custom, "name");
      if (!name) return missingParam(cp + ".custom.name");
      custom_call_ids_.emplace(*id->stringView());
      w_.beginObject().key("type").value("custom_tool_call").key("call_id").value(*id);
      w_.key("name").value(*name).key("input");
      const auto input = common::jsonString(*custom, "input");
      w_.value(input.value_or("")).endObject();
      return std::nullopt;
    }
    if (type && *type != "function") {
      return ApiError::unsupported("Unsupported tool call type '" + std::string(*type) + "'.", cp + ".type");
    }
    const JsonValue* fn = call.find("function");
    if (fn == nullptr || fn->isNull()) return missingParam(cp + ".function");
    if (!fn->isObject()) return invalidType(cp + ".function", "an object");
    const JsonValue* name = fn->find("name");
    if (name == nullptr || name->isNull()) return missingParam(cp + ".function.name");
    if (!name->isString()) return invalidType(cp + ".function.name", "a string");
    w_.beginObject().key("type").value("function_call").key("call_id").value(*id);
    w_.key("name").value(*name).key("arguments");
    writeArguments(fn->find("arguments"));
    w_.endObject();
    return std::nullopt;
  }

  Status writeTool(const JsonValue& msg, const std::string& mp) {
    const JsonValue* id = msg.find("tool_call_id");
    if (id == nullptr || id->isNull()) return missingParam(mp + ".tool_call_id");
    if (!id->isString()) return invalidType(mp + ".tool_call_id", "a string");
    const JsonValue* content = msg.find("content");
    std::string text;
    if (auto e = joinText(content, mp + ".content", text, content != nullptr && content->isString())) return e;
    const bool custom = custom_call_ids_.count(*id->stringView()) != 0;
    w_.beginObject().key("type").value(custom ? "custom_tool_call_output" : "function_call_output");
    w_.key("call_id").value(*id).key("output");
    writeJoined(content, text);
    w_.endObject();
    return std::nullopt;
  }

  Status writeLegacyFunctionResult(const JsonValue& msg, const std::string& mp, std::size_t index) {
    const JsonValue* name = msg.find("name");
    if (name == nullptr || name->isNull()) return missingParam(mp + ".name");
    if (!name->isString()) return invalidType(mp + ".name", "a string");
    const JsonValue* content = msg.find("content");
    std::string text;
    if (auto e = joinText(content, mp + ".content", text, content != nullptr && content->isString())) return e;
    std::string call_id;
    auto it = legacy_calls_.find(*name->stringView());
    if (it != legacy_calls_.end() && !it->second.empty()) {
      call_id = std::move(it->second.front());
      it->second.pop_front();
    } else {
      call_id = "call_legacy_" + std::to_string(index);
    }
    w_.beginObject().key("type").value("function_call_output").key("call_id").value(call_id);
    w_.key("output");
    writeJoined(content, text);
    w_.endObject();
    return std::nullopt;
  }

  // The output of a tool / function message: a string content as it is (an escaped view is
  // copied verbatim, issue 17), else the text joinText made of its parts.
  void writeJoined(const JsonValue* content, const std::string& joined) {
    if (content != nullptr && content->isString()) {
      w_.value(*content);
    } else {
      w_.value(joined);
    }
  }

  JsonWriter& w_;
  std::map<std::string, std::deque<std::string>, std::less<>> legacy_calls_;
  std::set<std::string, std::less<>> custom_call_ids_;
};

}  // namespace

bool isTextPartType(std::string_view t) { return t == "text" || t == "input_text" || t == "output_text"; }

Status readChatInstructions(const JsonArray& messages, std::string& instructions,
                            const JsonValue*& first_user_content) {
  bool have_user = false;
  std::string text;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const JsonValue& msg = messages[i];
    const std::string mp = at("messages", i);
    if (!msg.isObject()) return invalidType(mp, "an object");
    const JsonValue* role_v = msg.find("role");
    if (role_v == nullptr || role_v->isNull()) return missingParam(mp + ".role");
    const auto role = role_v->stringView();
    if (!role) return invalidType(mp + ".role", "a string");
    if (*role == "system" || *role == "developer") {
      if (auto e = joinText(msg.find("content"), mp + ".content", text)) return e;
      if (text.empty()) continue;
      if (!instructions.empty()) instructions.append("\n\n");
      instructions.append(text);
    } else if (*role == "user") {
      if (!have_user) {
        have_user = true;
        first_user_content = msg.find("content");
      }
    } else if (*role != "assistant" && *role != "tool" && *role != "function") {
      return invalidValue(mp + ".role",
                          "expected one of 'system', 'developer', 'user', 'assistant', "
                          "'tool' or 'function', got '" +
                              std::string(*role) + "'.");
    }
  }
  return std::nullopt;
}

Status dropChatPartBreakpoints(const JsonArray& messages, FieldPolicy& policy, UpstreamRequest& request) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const JsonArray* parts = common::jsonArray(messages[i], "content");
    if (parts == nullptr) continue;
    for (std::size_t j = 0; j < parts->size(); ++j) {
      const JsonValue* breakpoint = (*parts)[j].find(kPromptCacheBreakpoint);
      if (breakpoint == nullptr || breakpoint->isNull()) continue;
      const std::string param = at(at("messages", i) + ".content", j) + "." + std::string(kPromptCacheBreakpoint);
      if (auto e = policy.drop(kPromptCacheBreakpoint, request, param)) return e;
    }
  }
  return std::nullopt;
}

Status writeChatInput(JsonArray& messages, JsonWriter& w) { return ChatInputWriter(w).write(messages); }

}  // namespace cosp::worker::detail
