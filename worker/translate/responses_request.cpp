#include "worker/translate/responses_request.h"

#include <unordered_map>

#include "common/json/json_writer.h"
#include "worker/translate/body_rewrites.h"
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
using Status = std::optional<ApiError>;

bool isUserMessage(const JsonValue& item) {
  const auto role = common::jsonString(item, "role");
  if (!role || *role != "user") return false;
  const auto type = common::jsonString(item, "type");
  return !type || *type == "message";
}

class ResponsesNormalizer {
 public:
  ResponsesNormalizer(JsonValue& root, const TranslateOptions& options, const CallHints& hints)
      : root_(root), policy_(options), hints_(hints), lite_(hints.responses_lite) {}

  common::Result<UpstreamRequest> run(std::size_t body_size) {
    if (auto e = validate()) return *e;
    JsonObject& members = *root_.getObject();
    // Duplicate keys: only the last occurrence is written (it is the one every
    // JSON parser keeps), so the upstream never sees two "store" members.
    std::unordered_map<std::string_view, std::size_t> last;
    last.reserve(members.size());
    for (std::size_t i = 0; i < members.size(); ++i) last[members[i].key] = i;

    w_.reserve(body_size + 256);
    w_.beginObject();
    bool wrote_reasoning = false;
    bool wrote_store = false;
    bool wrote_stream = false;
    bool wrote_include = false;
    bool wrote_cache_key = false;
    for (std::size_t i = 0; i < members.size(); ++i) {
      JsonMember& m = members[i];
      if (last[m.key] != i) continue;
      const std::string& key = m.key;
      if (key == "model") {
        w_.key("model").value(model_.base);
        // The backend answers "Instructions are required" without them; a Responses-Lite body is
        // the client's own shape, where an absent or null `instructions` is how it is meant.
        if (!lite_) w_.key("instructions").value(instructions_);
      } else if (key == "instructions") {
        if (lite_) w_.key(key).value(m.value);  // else written after model
      } else if (key == "previous_response_id") {
        // a null previous_response_id is harmless (validate() refused any other value, except on
        // the WebSocket route, where the backend resolves it within the connection).
        if (hints_.keep_previous_response_id && !m.value.isNull()) w_.key(key).value(m.value);
      } else if (key == "input") {
        if (auto e = writeInput(m.value)) return *e;
      } else if (key == "store") {
        // store:true cannot be honoured: the backend only works with store:false.
        if (m.value.getBool().value_or(false)) {
          if (auto e = policy_.drop(key, req_)) return *e;
        }
        w_.key("store").value(false);
        wrote_store = true;
      } else if (key == "stream") {
        w_.key("stream").value(true);
        wrote_stream = true;
      } else if (m.value.isNull()) {
        continue;
      } else if (key == "reasoning") {
        writeReasoning(&m.value);
        wrote_reasoning = true;
      } else if (key == "include" && addsEncryptedReasoning()) {
        detail::writeIncludeWithEncryptedReasoning(&m.value, w_);
        wrote_include = true;
      } else if (key == "prompt_cache_key") {
        // The client's key; an empty one counts as none and gets the session id.
        if (client_cache_key_) {
          w_.key(key).value(m.value);
        } else {
          w_.key(key).value(req_.session_id);
        }
        wrote_cache_key = true;
      } else if (key == "tools" && !lite_ && m.value.isArray()) {
        w_.key(key).beginArray();
        for (const JsonValue& tool : *m.value.getArray()) detail::writeToolRenamingPreview(tool, w_);
        w_.endArray();
      } else if (key == "tool_choice" && !lite_) {
        w_.key(key);
        detail::writeToolRenamingPreview(m.value, w_);
      } else if (key == "service_tier" && !policy_.isListed(key)) {
        w_.key(key).value(m.value);
      } else if (key == "service_tier") {
        if (policy_.keepServiceTier(m.value)) {
          w_.key(key).value(m.value);
        } else if (auto e = policy_.drop(key, req_)) {
          return *e;
        }
      } else if (policy_.isListed(key)) {
        if (auto e = policy_.drop(key, req_)) return *e;
      } else {
        w_.key(key).value(m.value);  // text, additional_tools, client_metadata, ...: untouched
      }
    }
    if (!wrote_reasoning && model_.effort) writeReasoning(nullptr);
    if (!wrote_include && addsEncryptedReasoning()) detail::writeIncludeWithEncryptedReasoning(nullptr, w_);
    // The session id as the body's prompt_cache_key too: the backend keys prompt caching on it.
    if (!wrote_cache_key) w_.key("prompt_cache_key").value(req_.session_id);
    if (!wrote_store) w_.key("store").value(false);
    if (!wrote_stream) w_.key("stream").value(true);
    w_.endObject();
    req_.body = w_.take();
    return std::move(req_);
  }

 private:
  using JsonObject = common::JsonObject;

  Status validate() {
    const JsonValue* model = root_.find("model");
    if (model == nullptr || model->isNull()) return missingParam("model");
    if (!model->isString()) return invalidType("model", "a string");
    if (model->stringView()->empty()) return invalidValue("model", "must not be empty.");
    req_.model = std::string(*model->stringView());
    model_ = splitModelSuffix(req_.model, hints_.catalog);
    req_.upstream_model = model_.base;

    if (const JsonValue* previous = present(root_, "previous_response_id");
        previous != nullptr && hints_.keep_previous_response_id) {
      if (!previous->isString()) return invalidType("previous_response_id", "a string");
    } else if (previous != nullptr) {
      return ApiError::unsupported(
          "'previous_response_id' is not supported: the Codex backend is stateless (store:false), so "
          "earlier responses cannot be referenced. Send the whole conversation in 'input' instead.",
          "previous_response_id");
    }
    const JsonValue* input = root_.find("input");
    if (input == nullptr || input->isNull()) return missingParam("input");
    if (!input->isString() && !input->isArray()) return invalidType("input", "a string or an array of items");
    if (const JsonValue* ins = present(root_, "instructions")) {
      if (!ins->isString()) return invalidType("instructions", "a string");
      instructions_ = std::string(*ins->stringView());
    }
    if (const JsonValue* s = present(root_, "stream")) {
      if (!s->isBool()) return invalidType("stream", "a boolean");
      req_.client_stream = *s->getBool();
    }
    if (const JsonValue* s = present(root_, "store"); s != nullptr && !s->isBool()) {
      return invalidType("store", "a boolean");
    }
    if (const JsonValue* k = present(root_, "prompt_cache_key")) {
      if (!k->isString()) return invalidType("prompt_cache_key", "a string");
      client_cache_key_ = !k->stringView()->empty();
    }
    if (const JsonValue* include = present(root_, "include"); include != nullptr && !lite_ && !include->isArray()) {
      return invalidType("include", "an array of strings");
    }
    if (auto e = checkReasoning()) return e;
    if (const JsonValue* text = present(root_, "text")) {
      if (!text->isObject()) return invalidType("text", "an object");
      if (const JsonValue* format = common::jsonObjectValue(*text, "format")) {
        const auto type = common::jsonString(*format, "type");
        req_.json_output = type && (*type == "json_schema" || *type == "json_object");
      }
    }
    // A string input is itself the first user message's content.
    const JsonValue* first_user_content = input->isString() ? input : nullptr;
    if (const JsonArray* items = input->getArray()) {
      for (const JsonValue& item : *items) {
        if (item.isObject() && isUserMessage(item)) {
          first_user_content = item.find("content");
          break;
        }
      }
    }
    req_.session_id =
        detail::chooseSessionId(hints_, present(root_, "prompt_cache_key"), instructions_, first_user_content,
                                [](std::string_view t) { return t == "input_text" || t == "text"; });
    return std::nullopt;
  }

  // The effort to send (reasoning.effort, else the model suffix's), checked against the catalog,
  // and whether the model reasons at all (a reasoning object or an effort, other than "none").
  Status checkReasoning() {
    const JsonValue* reasoning = present(root_, "reasoning");
    if (reasoning != nullptr && !reasoning->isObject()) return invalidType("reasoning", "an object");
    std::string_view param = "model";
    if (const JsonValue* e = reasoning != nullptr ? present(*reasoning, "effort") : nullptr) {
      if (!e->isString()) return invalidType("reasoning.effort", "a string");
      effort_ = std::string(*e->stringView());
      param = "reasoning.effort";
    } else if (model_.effort) {
      effort_ = *model_.effort;
    }
    if (effort_) {
      if (auto e = detail::checkEffort(*effort_, param, model_.base, hints_.catalog, policy_, req_)) return e;
    }
    reasoning_on_ = (reasoning != nullptr || effort_) && effort_ != "none";
    return std::nullopt;
  }

  // Multi-turn tool loops need the reasoning items back, and under store:false only their
  // encrypted content carries them. A Responses-Lite client asks for what it wants itself.
  bool addsEncryptedReasoning() const { return reasoning_on_ && !lite_; }

  Status writeInput(JsonValue& input) {
    w_.key("input").beginArray();
    if (const auto s = input.stringView()) {
      w_.beginObject().key("type").value("message").key("role").value("user").key("content").beginArray();
      w_.beginObject().key("type").value("input_text").key("text").value(*s).endObject();
      w_.endArray().endObject();
      w_.endArray();
      return std::nullopt;
    }
    JsonArray& items = *input.getArray();
    for (std::size_t k = 0; k < items.size(); ++k) {
      JsonValue& item = items[k];
      if (!item.isObject()) return invalidType(at("input", k), "an object");
      const auto type = common::jsonString(item, "type");
      // The backend cannot resolve references with store:false (the AI SDK sends them).
      if (type && *type == "item_reference") continue;
      if (auto e = writeItem(item, k, type)) return e;
    }
    w_.endArray();
    return std::nullopt;
  }

  // One input item without what the stateless backend rejects. The rewrites here are compatible
  // ones, so they are not named in x-codex-sub-proxy-dropped and not refused in strict mode (the
  // same as the item ids and item_reference items, and unlike a removed field whose meaning is
  // lost): the client cannot avoid them and loses nothing by them.
  Status writeItem(JsonValue& item, std::size_t k, std::optional<std::string_view> type) {
    const bool message = !type || *type == "message";
    const bool reasoning = type && *type == "reasoning";
    w_.beginObject();
    for (JsonMember& m : *item.getObject()) {
      // Item ids refer to stored items; with store:false the backend rejects them.
      if (m.key == "id") continue;
      if (message && m.key == "role" && m.value.stringView() == "system") {
        // The backend answers "System messages are not allowed"; a developer message means the same.
        w_.key("role").value("developer");
        continue;
      }
      if (reasoning && m.key == "encrypted_content" && (m.value.isNull() || m.value.stringView() == "")) {
        continue;  // the backend rejects an empty one; there is nothing to carry over anyway
      }
      if ((m.key == "content" || m.key == "output") && m.value.isArray()) {
        if (auto e = writeParts(m, k)) return e;
        continue;
      }
      w_.key(m.key).value(m.value);
    }
    w_.endObject();
    return std::nullopt;
  }

  // The content parts of item `k` (its `content`, or the `output` of a tool call output): image
  // data URLs normalised in place; prompt_cache_breakpoint, which the backend rejects, left out and
  // named (unless null: that asked for nothing).
  Status writeParts(JsonMember& parts, std::size_t k) {
    w_.key(parts.key).beginArray();
    JsonArray& array = *parts.value.getArray();
    for (std::size_t j = 0; j < array.size(); ++j) {
      JsonValue& part = array[j];
      if (part.isObject()) {
        const auto ptype = common::jsonString(part, "type");
        if (ptype && *ptype == "input_image") {
          if (JsonValue* url = part.find("image_url")) detail::normalizeImageUrlValue(*url);
        }
        if (const JsonValue* breakpoint = part.find(detail::kPromptCacheBreakpoint)) {
          if (!breakpoint->isNull()) {
            const std::string param =
                at(at("input", k) + "." + parts.key, j) + "." + std::string(detail::kPromptCacheBreakpoint);
            if (auto e = policy_.drop(detail::kPromptCacheBreakpoint, req_, param)) return e;
          }
          detail::writeObjectWithout(part, detail::kPromptCacheBreakpoint, w_);
          continue;
        }
      }
      w_.value(part);
    }
    w_.endArray();
    return std::nullopt;
  }

  // `effort_` replaces the client's effort (the catalog may have mapped it) or, without one, comes
  // first; every other member passes through.
  void writeReasoning(const JsonValue* reasoning) {
    w_.key("reasoning").beginObject();
    const bool has_effort = reasoning != nullptr && present(*reasoning, "effort") != nullptr;
    bool wrote_effort = false;
    if (!has_effort && effort_) {
      w_.key("effort").value(*effort_);
      wrote_effort = true;
    }
    if (reasoning != nullptr) {
      for (const JsonMember& m : *reasoning->getObject()) {
        if (m.key == "effort") {
          if (wrote_effort || m.value.isNull() || !effort_) continue;
          w_.key("effort").value(*effort_);
          wrote_effort = true;
          continue;
        }
        w_.key(m.key).value(m.value);
      }
    }
    w_.endObject();
  }

  JsonValue& root_;
  detail::FieldPolicy policy_;
  const CallHints& hints_;
  const bool lite_;
  UpstreamRequest req_;
  ModelSplit model_;
  std::string instructions_;
  std::optional<std::string> effort_;
  bool reasoning_on_ = false;
  bool client_cache_key_ = false;  // a non-empty prompt_cache_key of the client's
  JsonWriter w_;
};

}  // namespace

common::Result<UpstreamRequest> normalizeResponsesRequest(std::string_view body, const TranslateOptions& options,
                                                          const CallHints& hints) {
  try {
    auto parsed = detail::parseRequestObject(body);
    if (!parsed.ok()) return parsed.takeError();
    ResponsesNormalizer normalizer(parsed.value(), options, hints);
    return normalizer.run(body.size());
  } catch (const std::exception&) {
    return ApiError::internal("The request could not be normalised (out of memory).");
  }
}

}  // namespace cosp::worker
