#include "worker/translate/chat_request.h"

#include <array>

#include "common/json/json_writer.h"
#include "worker/translate/body_rewrites.h"
#include "worker/translate/chat_messages.h"
#include "worker/translate/chat_response_options.h"
#include "worker/translate/chat_tools.h"
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

// The translation of one request: checks the top level, then writes the Responses request
// (messages in chat_messages.cpp, tools in chat_tools.cpp, reasoning and text format in
// chat_response_options.cpp).
class ChatTranslator {
 public:
  ChatTranslator(JsonValue& root, const TranslateOptions& options, const CallHints& hints)
      : root_(root), options_(options), hints_(hints), policy_(options) {}

  common::Result<UpstreamRequest> run(std::size_t body_size) {
    if (auto e = checkModelAndMessages()) return *e;
    if (auto e = checkFieldTypes()) return *e;
    if (auto e = dropRemovedFields()) return *e;
    JsonArray& messages = *root_.find("messages")->getArray();
    const JsonValue* first_user_content = nullptr;
    if (auto e = detail::readChatInstructions(messages, instructions_, first_user_content)) return *e;
    if (auto e = detail::dropChatPartBreakpoints(messages, policy_, req_)) return *e;
    std::string_view effort_param;
    std::optional<std::string> effort = detail::chatEffort(root_, model_.effort, effort_param);
    if (effort) {
      if (auto e = detail::checkEffort(*effort, effort_param, model_.base, hints_.catalog, policy_, req_)) return *e;
    }
    const JsonValue* cache_key = present(root_, "prompt_cache_key");
    req_.session_id =
        detail::chooseSessionId(hints_, cache_key, instructions_, first_user_content, detail::isTextPartType);
    // The output is about as big as the input: one allocation. A chat message grows by ~50
    // bytes in Responses form (a text-heavy 1 MB body by ~0.5%, issue 17), and growing past the
    // reservation would copy the whole body into a buffer twice its size; the margin's pages
    // are never touched unless written (a big allocation is its own mmap).
    w_.reserve(body_size + body_size / 8 + 1024);
    w_.beginObject();
    w_.key("model").value(model_.base);
    w_.key("instructions").value(instructions_);
    w_.key("input").beginArray();
    if (auto e = detail::writeChatInput(messages, w_)) return *e;
    w_.endArray();
    if (auto e = detail::writeChatTools(root_, w_)) return *e;
    if (auto e = detail::writeChatToolChoice(root_, w_)) return *e;
    if (const JsonValue* p = present(root_, "parallel_tool_calls")) w_.key("parallel_tool_calls").value(*p);
    if (detail::writeChatReasoning(root_, effort, options_.reasoning_compat, req_.json_output, w_)) {
      // The reasoning of a tool loop survives store:false only encrypted (README.md, Model calls).
      detail::writeIncludeWithEncryptedReasoning(nullptr, w_);
    }
    if (auto e = detail::writeChatText(root_, w_)) return *e;
    // The client's key, else the session id: the backend keys prompt caching on it.
    if (cache_key != nullptr && !cache_key->stringView()->empty()) {
      w_.key("prompt_cache_key").value(*cache_key);
    } else {
      w_.key("prompt_cache_key").value(req_.session_id);
    }
    if (const JsonValue* t = present(root_, "service_tier"); t != nullptr && policy_.keepServiceTier(*t)) {
      w_.key("service_tier").value(*t);
    }
    w_.key("store").value(false);
    w_.key("stream").value(true);
    w_.endObject();
    req_.body = w_.take();
    return std::move(req_);
  }

 private:
  Status checkModelAndMessages() {
    const JsonValue* model = root_.find("model");
    if (model == nullptr || model->isNull()) return missingParam("model");
    if (!model->isString()) return invalidType("model", "a string");
    if (model->stringView()->empty()) return invalidValue("model", "must not be empty.");
    req_.model = std::string(*model->stringView());
    model_ = splitModelSuffix(req_.model, hints_.catalog);
    req_.upstream_model = model_.base;

    const JsonValue* messages = root_.find("messages");
    if (messages == nullptr || messages->isNull()) return missingParam("messages");
    if (!messages->isArray()) return invalidType("messages", "an array of messages");
    if (messages->getArray()->empty()) return invalidValue("messages", "must contain at least one message.");
    return std::nullopt;
  }

  // The types of the other top-level fields, and the flags they set.
  Status checkFieldTypes() {
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
    if (const JsonValue* rf = present(root_, "response_format")) {
      const auto type = common::jsonString(*rf, "type");
      req_.json_output = type && (*type == "json_schema" || *type == "json_object");
    }
    return std::nullopt;
  }

  // Fields removed before forwarding, reported in document order.
  Status dropRemovedFields() {
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
        remove = explicit_tools;  // explicit tools win: the caller chose its search tool itself
      }
      if (remove) {
        if (auto e = policy_.drop(m.key, req_)) return e;
      }
    }
    return std::nullopt;
  }

  JsonValue& root_;
  const TranslateOptions& options_;
  const CallHints& hints_;
  detail::FieldPolicy policy_;
  UpstreamRequest req_;
  ModelSplit model_;
  std::string instructions_;
  JsonWriter w_;
};

}  // namespace

common::Result<UpstreamRequest> translateChatRequest(std::string_view body, const TranslateOptions& options,
                                                     const CallHints& hints) {
  try {
    auto parsed = detail::parseRequestObject(body);
    if (!parsed.ok()) return parsed.takeError();
    ChatTranslator translator(parsed.value(), options, hints);
    return translator.run(body.size());
  } catch (const std::exception&) {
    // Only std::bad_alloc can get here; a bad request must never become a crash.
    return ApiError::internal("The request could not be translated (out of memory).");
  }
}

}  // namespace cosp::worker