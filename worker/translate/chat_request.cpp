#include "worker/translate/chat_request.h"

#include <array>
#include <deque>
#include <map>
#include <set>

#include "common/json/json_writer.h"
#include "worker/translate/request_common.h"

namespace cosp::worker {
namespace {

using common::ApiError;
using common::JsonArray;
using common::JsonMember;
using common::JsonValue;
using common::JsonWriter;
using detail::at;
using detail::invalidType;
using detail::invalidValue;
using detail::missingParam;
using detail::present;

// nullopt = fine; otherwise the error to return.
using Status = std::optional<ApiError>;

constexpr std::array<std::string_view, 18> kKnownChatFields = {"model",
                                                               "messages",
                                                               "stream",
                                                               "stream_options",
                                                               "n",
                                                               "tools",
                                                               "functions",
                                                               "tool_choice",
                                                               "function_call",
                                                               "parallel_tool_calls",
                                                               "response_format",
                                                               "reasoning_effort",
                                                               "reasoning",
                                                               "verbosity",
                                                               "web_search_options",
                                                               "prompt_cache_key",
                                                               "service_tier",
                                                               "store"};

bool isKnownChatField(std::string_view key) {
  for (std::string_view k : kKnownChatFields) {
    if (k == key) return true;
  }
  return false;
}

bool isTextPartType(std::string_view t) { return t == "text" || t == "input_text" || t == "output_text"; }

class ChatTranslator {
 public:
  ChatTranslator(JsonValue& root, const TranslateOptions& options) : root_(root), options_(options), policy_(options) {}

  common::Result<UpstreamRequest> run(std::size_t body_size) {
    if (auto e = checkTopLevel()) return *e;
    if (auto e = firstPass()) return *e;
    // The output is about as big as the input (images dominate): one allocation.
    w_.reserve(body_size + 1024);
    w_.beginObject();
    w_.key("model").value(model_.base);
    w_.key("instructions").value(instructions_);
    w_.key("input").beginArray();
    if (auto e = writeMessages()) return *e;
    w_.endArray();
    if (auto e = writeTools()) return *e;
    if (auto e = writeToolChoice()) return *e;
    if (const JsonValue* p = present(root_, "parallel_tool_calls")) w_.key("parallel_tool_calls").value(*p);
    writeReasoning();
    if (auto e = writeText()) return *e;
    if (const JsonValue* k = present(root_, "prompt_cache_key")) w_.key("prompt_cache_key").value(*k);
    if (const JsonValue* t = present(root_, "service_tier"); t != nullptr && policy_.keepServiceTier(*t)) {
      w_.key("service_tier").value(*t);
    }
    w_.key("store").value(false);
    w_.key("stream").value(true);
    w_.endObject();
    req_.body = w_.take();
    req_.session_id = detail::sessionIdFor(instructions_, first_user_text_);
    return std::move(req_);
  }

 private:
  // ---- top level -------------------------------------------------------
  Status checkTopLevel() {
    const JsonValue* model = root_.find("model");
    if (model == nullptr || model->isNull()) return missingParam("model");
    if (!model->isString()) return invalidType("model", "a string");
    if (model->stringView()->empty()) return invalidValue("model", "must not be empty.");
    req_.model = std::string(*model->stringView());
    model_ = detail::splitModelSuffix(req_.model);
    req_.upstream_model = model_.base;

    const JsonValue* messages = root_.find("messages");
    if (messages == nullptr || messages->isNull()) return missingParam("messages");
    if (!messages->isArray()) return invalidType("messages", "an array of messages");
    if (messages->getArray()->empty()) return invalidValue("messages", "must contain at least one message.");

    if (const JsonValue* n = present(root_, "n")) {
      const auto count = n->getInt64();
      if (!count) return invalidType("n", "an integer");
      if (*count != 1) {
        return ApiError::unsupported("Only n=1 is supported: the Codex backend returns one choice.", "n");
      }
    }
    if (const JsonValue* s = present(root_, "stream")) {
      if (!s->isBool()) return invalidType("stream", "a boolean");
      req_.client_stream = *s->getBool();
    }
    if (const JsonValue* so = present(root_, "stream_options")) {
      if (!so->isObject()) return invalidType("stream_options", "an object");
      if (const JsonValue* iu = present(*so, "include_usage")) {
        if (!iu->isBool()) return invalidType("stream_options.include_usage", "a boolean");
        req_.include_usage = *iu->getBool();
      }
    }
    for (std::string_view key : {"parallel_tool_calls", "store"}) {
      if (const JsonValue* v = present(root_, key); v != nullptr && !v->isBool()) {
        return invalidType(std::string(key), "a boolean");
      }
    }
    for (std::string_view key : {"reasoning_effort", "verbosity", "prompt_cache_key", "service_tier"}) {
      if (const JsonValue* v = present(root_, key); v != nullptr && !v->isString()) {
        return invalidType(std::string(key), "a string");
      }
    }
    for (std::string_view key : {"tools", "functions"}) {
      if (const JsonValue* v = present(root_, key); v != nullptr && !v->isArray()) {
        return invalidType(std::string(key), "an array");
      }
    }
    for (std::string_view key : {"response_format", "web_search_options", "reasoning"}) {
      if (const JsonValue* v = present(root_, key); v != nullptr && !v->isObject()) {
        return invalidType(std::string(key), "an object");
      }
    }

    // Removed fields, reported in document order.
    const bool explicit_tools = present(root_, "tools") != nullptr;
    for (const JsonMember& m : *root_.getObject()) {
      if (m.value.isNull()) continue;
      bool remove = !isKnownChatField(m.key);
      if (m.key == "store") {
        // store:true cannot be honoured: the backend only works with store:false.
        // (value_or: with duplicated keys only the last one was type-checked)
        remove = m.value.getBool().value_or(true);
      } else if (m.key == "service_tier") {
        remove = !policy_.keepServiceTier(m.value);
      } else if (m.key == "web_search_options") {
        remove = explicit_tools;  // explicit tools win (SPEC §5)
      }
      if (remove) {
        if (auto e = policy_.drop(m.key, req_)) return e;
      }
    }
    if (const JsonValue* rf = present(root_, "response_format")) {
      const auto type = common::jsonString(*rf, "type");
      req_.json_output = type && (*type == "json_schema" || *type == "json_object");
    }
    return std::nullopt;
  }

  // ---- messages ----------------------------------------------------------
  // Joins the text of a system / developer / tool message content.
  Status joinText(const JsonValue* content, const std::string& param, std::string& out) {
    out.clear();
    if (content == nullptr || content->isNull()) return std::nullopt;
    if (const auto s = content->stringView()) {
      out = *s;
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
        return ApiError::unsupported("Only text content parts are supported here, got '" + std::string(*type) + "'.",
                                     pp);
      }
      const auto text = common::jsonString(part, "text");
      if (!text) return missingParam(pp + ".text");
      if (!first) out.push_back('\n');
      out.append(*text);
      first = false;
    }
    return std::nullopt;
  }

  Status firstPass() {
    const JsonArray& messages = *root_.find("messages")->getArray();
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
        if (!instructions_.empty()) instructions_.append("\n\n");
        instructions_.append(text);
      } else if (*role == "user") {
        if (!have_user) {
          have_user = true;
          first_user_text_ = userText(msg);
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

  // Text of a user message for the session id (validated later).
  static std::string userText(const JsonValue& msg) {
    const JsonValue* content = msg.find("content");
    if (content == nullptr) return {};
    if (const auto s = content->stringView()) return std::string(*s);
    std::string out;
    if (const JsonArray* parts = content->getArray()) {
      for (const JsonValue& part : *parts) {
        const auto type = common::jsonString(part, "type");
        const auto text = common::jsonString(part, "text");
        if (type && isTextPartType(*type) && text) {
          if (!out.empty()) out.push_back('\n');
          out.append(*text);
        }
      }
    }
    return out;
  }

  Status writeMessages() {
    JsonArray& messages = *root_.find("messages")->getArray();
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

  Status writeUser(JsonValue& msg, const std::string& mp) {
    JsonValue* content = msg.find("content");
    if (content == nullptr || content->isNull()) return missingParam(mp + ".content");
    if (const auto s = content->stringView()) {
      w_.beginObject().key("type").value("message").key("role").value("user").key("content").beginArray();
      w_.beginObject().key("type").value("input_text").key("text").value(*s).endObject();
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
      detail::normalizeImageUrlValue(*url);
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
      // with the same data URL normalisation.
      if (*type == "input_image") {
        if (JsonValue* u = part.find("image_url")) detail::normalizeImageUrlValue(*u);
      }
      w_.value(part);
      return std::nullopt;
    }
    return ApiError::unsupported("Unsupported content part type '" + std::string(*type) + "'.", pp + ".type");
  }

  Status writeAssistant(JsonValue& msg, const std::string& mp, std::size_t index) {
    const JsonValue* content = msg.find("content");
    if (content != nullptr && !content->isNull()) {
      if (const auto s = content->stringView()) {
        if (!s->empty()) {
          w_.beginObject().key("type").value("message").key("role").value("assistant").key("content").beginArray();
          w_.beginObject().key("type").value("output_text").key("text").value(*s).endObject();
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
              const auto text = common::jsonString(part, "text");
              if (!text) return missingParam(pp + ".text");
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
    std::string text;
    if (auto e = joinText(msg.find("content"), mp + ".content", text)) return e;
    const bool custom = custom_call_ids_.count(*id->stringView()) != 0;
    w_.beginObject().key("type").value(custom ? "custom_tool_call_output" : "function_call_output");
    w_.key("call_id").value(*id).key("output").value(text).endObject();
    return std::nullopt;
  }

  Status writeLegacyFunctionResult(const JsonValue& msg, const std::string& mp, std::size_t index) {
    const JsonValue* name = msg.find("name");
    if (name == nullptr || name->isNull()) return missingParam(mp + ".name");
    if (!name->isString()) return invalidType(mp + ".name", "a string");
    std::string text;
    if (auto e = joinText(msg.find("content"), mp + ".content", text)) return e;
    std::string call_id;
    auto it = legacy_calls_.find(*name->stringView());
    if (it != legacy_calls_.end() && !it->second.empty()) {
      call_id = std::move(it->second.front());
      it->second.pop_front();
    } else {
      call_id = "call_legacy_" + std::to_string(index);
    }
    w_.beginObject().key("type").value("function_call_output").key("call_id").value(call_id);
    w_.key("output").value(text).endObject();
    return std::nullopt;
  }

  // ---- tools ---------------------------------------------------------------
  Status writeFunctionTool(const JsonValue& fn, const std::string& fp) {
    if (!fn.isObject()) return invalidType(fp, "an object");
    const JsonValue* name = fn.find("name");
    if (name == nullptr || name->isNull()) return missingParam(fp + ".name");
    if (!name->isString()) return invalidType(fp + ".name", "a string");
    w_.beginObject().key("type").value("function").key("name").value(*name);
    if (const JsonValue* d = present(fn, "description")) w_.key("description").value(*d);
    if (const JsonValue* p = present(fn, "parameters")) {
      w_.key("parameters").value(*p);
    } else {
      w_.key("parameters").raw(R"({"type":"object","properties":{}})");
    }
    // Chat Completions defaults strict to false, the Responses API to true.
    if (const JsonValue* s = present(fn, "strict")) {
      w_.key("strict").value(*s);
    } else {
      w_.key("strict").value(false);
    }
    w_.endObject();
    return std::nullopt;
  }

  Status writeTools() {
    const JsonValue* tools = present(root_, "tools");
    const JsonValue* functions = present(root_, "functions");
    const JsonValue* web = present(root_, "web_search_options");
    const bool add_web_search = web != nullptr && tools == nullptr;
    if (tools == nullptr && functions == nullptr && !add_web_search) return std::nullopt;
    w_.key("tools").beginArray();
    if (tools != nullptr) {
      const JsonArray& arr = *tools->getArray();
      for (std::size_t k = 0; k < arr.size(); ++k) {
        const JsonValue& tool = arr[k];
        const std::string tp = at("tools", k);
        if (!tool.isObject()) return invalidType(tp, "an object");
        const auto type = common::jsonString(tool, "type");
        if (!type || *type == "function") {
          const JsonValue* fn = tool.find("function");
          if (fn == nullptr || fn->isNull()) {
            if (!type) return missingParam(tp + ".type");
            // Already flat (Responses style): pass through.
            w_.value(tool);
            continue;
          }
          if (auto e = writeFunctionTool(*fn, tp + ".function")) return e;
        } else if (*type == "custom" && common::jsonObject(tool, "custom") != nullptr) {
          const JsonValue& custom = *tool.find("custom");
          w_.beginObject().key("type").value("custom");
          for (const JsonMember& m : *custom.getObject()) w_.key(m.key).value(m.value);
          w_.endObject();
        } else {
          w_.value(tool);  // web_search, local_shell, ...: untouched
        }
      }
    }
    if (functions != nullptr) {
      const JsonArray& arr = *functions->getArray();
      for (std::size_t k = 0; k < arr.size(); ++k) {
        if (auto e = writeFunctionTool(arr[k], at("functions", k))) return e;
      }
    }
    if (add_web_search) {
      w_.beginObject().key("type").value("web_search");
      if (const JsonValue* size = present(*web, "search_context_size")) w_.key("search_context_size").value(*size);
      if (const JsonValue* loc = present(*web, "user_location")) {
        if (!loc->isObject()) return invalidType("web_search_options.user_location", "an object");
        w_.key("user_location").beginObject();
        w_.key("type").value(common::jsonString(*loc, "type").value_or("approximate"));
        if (const JsonValue* approx = common::jsonObjectValue(*loc, "approximate")) {
          for (const JsonMember& m : *approx->getObject()) {
            if (!m.value.isNull()) w_.key(m.key).value(m.value);
          }
        }
        w_.endObject();
      }
      w_.endObject();
    }
    w_.endArray();
    return std::nullopt;
  }

  // {type:function, function:{name}} -> {type:function, name}; others as-is.
  Status writeNamedChoice(const JsonValue& choice, const std::string& param) {
    const auto type = common::jsonString(choice, "type");
    if (!type) return missingParam(param + ".type");
    if (*type == "function" || *type == "custom") {
      const JsonValue* inner = common::jsonObjectValue(choice, *type);
      std::optional<std::string_view> name =
          inner != nullptr ? common::jsonString(*inner, "name") : common::jsonString(choice, "name");
      if (!name) return missingParam(param + "." + std::string(*type) + ".name");
      w_.beginObject().key("type").value(*type).key("name").value(*name).endObject();
      return std::nullopt;
    }
    w_.value(choice);
    return std::nullopt;
  }

  Status writeToolChoice() {
    const JsonValue* choice = present(root_, "tool_choice");
    if (choice != nullptr) {
      if (const auto s = choice->stringView()) {
        if (*s != "auto" && *s != "none" && *s != "required") {
          return invalidValue("tool_choice", "expected 'auto', 'none', 'required' or an object.");
        }
        w_.key("tool_choice").value(*s);
        return std::nullopt;
      }
      if (!choice->isObject()) return invalidType("tool_choice", "a string or an object");
      const auto type = common::jsonString(*choice, "type");
      if (type && *type == "allowed_tools") {
        const JsonValue* allowed = common::jsonObjectValue(*choice, "allowed_tools");
        if (allowed == nullptr) return missingParam("tool_choice.allowed_tools");
        w_.key("tool_choice").beginObject().key("type").value("allowed_tools");
        if (const JsonValue* mode = present(*allowed, "mode")) w_.key("mode").value(*mode);
        w_.key("tools").beginArray();
        if (const JsonArray* tools = common::jsonArray(*allowed, "tools")) {
          for (std::size_t k = 0; k < tools->size(); ++k) {
            if (!(*tools)[k].isObject()) return invalidType(at("tool_choice.allowed_tools.tools", k), "an object");
            if (auto e = writeNamedChoice((*tools)[k], at("tool_choice.allowed_tools.tools", k))) return e;
          }
        }
        w_.endArray().endObject();
        return std::nullopt;
      }
      w_.key("tool_choice");
      return writeNamedChoice(*choice, "tool_choice");
    }
    if (const JsonValue* fc = present(root_, "function_call")) {
      // Legacy: "none" / "auto" / {name}.
      if (const auto s = fc->stringView()) {
        if (*s != "auto" && *s != "none") return invalidValue("function_call", "expected 'auto', 'none' or an object.");
        w_.key("tool_choice").value(*s);
        return std::nullopt;
      }
      if (!fc->isObject()) return invalidType("function_call", "a string or an object");
      const auto name = common::jsonString(*fc, "name");
      if (!name) return missingParam("function_call.name");
      w_.key("tool_choice").beginObject().key("type").value("function").key("name").value(*name).endObject();
      return std::nullopt;
    }
    if (present(root_, "web_search_options") != nullptr && present(root_, "tools") == nullptr) {
      w_.key("tool_choice").value("auto");
    }
    return std::nullopt;
  }

  // ---- reasoning / text -----------------------------------------------------
  void writeReasoning() {
    const JsonValue* reasoning = present(root_, "reasoning");
    std::optional<std::string_view> effort;
    if (const JsonValue* e = present(root_, "reasoning_effort")) {
      effort = e->stringView();
    } else if (reasoning != nullptr) {
      effort = common::jsonString(*reasoning, "effort");
    }
    if (!effort && model_.effort) effort = *model_.effort;
    std::optional<std::string_view> summary;
    if (reasoning != nullptr) summary = common::jsonString(*reasoning, "summary");
    const bool want_summary = options_.reasoning_compat != ReasoningCompat::None && !req_.json_output && !summary &&
                              !(effort && *effort == "none");
    if (want_summary) summary = "auto";
    if (!effort && !summary && reasoning == nullptr) return;
    w_.key("reasoning").beginObject();
    if (effort) w_.key("effort").value(*effort);
    if (summary) w_.key("summary").value(*summary);
    if (reasoning != nullptr) {
      for (const JsonMember& m : *reasoning->getObject()) {
        if (m.key != "effort" && m.key != "summary") w_.key(m.key).value(m.value);
      }
    }
    w_.endObject();
  }

  Status writeText() {
    const JsonValue* rf = present(root_, "response_format");
    const JsonValue* verbosity = present(root_, "verbosity");
    if (rf == nullptr && verbosity == nullptr) return std::nullopt;
    w_.key("text").beginObject();
    if (rf != nullptr) {
      const JsonValue* type_v = rf->find("type");
      if (type_v == nullptr || type_v->isNull()) return missingParam("response_format.type");
      const auto type = type_v->stringView();
      if (!type) return invalidType("response_format.type", "a string");
      w_.key("format").beginObject();
      if (*type == "json_schema") {
        const JsonValue* js = rf->find("json_schema");
        if (js == nullptr || js->isNull()) return missingParam("response_format.json_schema");
        if (!js->isObject()) return invalidType("response_format.json_schema", "an object");
        const JsonValue* name = js->find("name");
        if (name == nullptr || name->isNull()) return missingParam("response_format.json_schema.name");
        if (!name->isString()) return invalidType("response_format.json_schema.name", "a string");
        w_.key("type").value("json_schema").key("name").value(*name);
        if (const JsonValue* d = present(*js, "description")) w_.key("description").value(*d);
        if (const JsonValue* s = present(*js, "schema")) w_.key("schema").value(*s);
        if (const JsonValue* s = present(*js, "strict")) w_.key("strict").value(*s);
      } else if (*type == "json_object" || *type == "text") {
        w_.key("type").value(*type);
      } else {
        return invalidValue("response_format.type", "expected 'text', 'json_object' or 'json_schema'.");
      }
      w_.endObject();
    }
    if (verbosity != nullptr) w_.key("verbosity").value(*verbosity);
    w_.endObject();
    return std::nullopt;
  }

  JsonValue& root_;
  const TranslateOptions& options_;
  detail::FieldPolicy policy_;
  UpstreamRequest req_;
  detail::ModelSplit model_;
  std::string instructions_;
  std::string first_user_text_;
  JsonWriter w_;
  std::map<std::string, std::deque<std::string>, std::less<>> legacy_calls_;
  std::set<std::string, std::less<>> custom_call_ids_;
};

}  // namespace

common::Result<UpstreamRequest> translateChatRequest(std::string_view body, const TranslateOptions& options) {
  try {
    auto parsed = detail::parseRequestObject(body);
    if (!parsed.ok()) return parsed.takeError();
    ChatTranslator translator(parsed.value(), options);
    return translator.run(body.size());
  } catch (const std::exception&) {
    // Only std::bad_alloc can get here; a bad request must never become a crash.
    return ApiError::internal("The request could not be translated (out of memory).");
  }
}

}  // namespace cosp::worker
