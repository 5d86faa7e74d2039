#include "worker/translate/responses_request.h"

#include <unordered_map>

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
using Status = std::optional<ApiError>;

bool isUserMessage(const JsonValue& item) {
  const auto role = common::jsonString(item, "role");
  if (!role || *role != "user") return false;
  const auto type = common::jsonString(item, "type");
  return !type || *type == "message";
}

class ResponsesNormalizer {
 public:
  ResponsesNormalizer(JsonValue& root, const TranslateOptions& options) : root_(root), policy_(options) {}

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
    for (std::size_t i = 0; i < members.size(); ++i) {
      JsonMember& m = members[i];
      if (last[m.key] != i) continue;
      const std::string& key = m.key;
      if (key == "model") {
        w_.key("model").value(model_.base);
        w_.key("instructions").value(instructions_);
      } else if (key == "instructions" || key == "previous_response_id") {
        // instructions were written after model; a null previous_response_id is harmless.
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
        w_.key(key).value(m.value);  // tools, tool_choice, text, include, ...: untouched
      }
    }
    if (!wrote_reasoning && model_.effort) writeReasoning(nullptr);
    if (!wrote_store) w_.key("store").value(false);
    if (!wrote_stream) w_.key("stream").value(true);
    w_.endObject();
    req_.body = w_.take();
    req_.session_id = detail::sessionIdFor(instructions_, first_user_text_);
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
    model_ = detail::splitModelSuffix(req_.model);
    req_.upstream_model = model_.base;

    if (present(root_, "previous_response_id") != nullptr) {
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
    if (const JsonValue* r = present(root_, "reasoning"); r != nullptr && !r->isObject()) {
      return invalidType("reasoning", "an object");
    }
    if (const JsonValue* text = present(root_, "text")) {
      if (!text->isObject()) return invalidType("text", "an object");
      if (const JsonValue* format = common::jsonObjectValue(*text, "format")) {
        const auto type = common::jsonString(*format, "type");
        req_.json_output = type && (*type == "json_schema" || *type == "json_object");
      }
    }
    if (input->isString()) {
      first_user_text_ = std::string(*input->stringView());
    } else {
      for (const JsonValue& item : *input->getArray()) {
        if (item.isObject() && isUserMessage(item)) {
          first_user_text_ =
              detail::contentText(item, [](std::string_view t) { return t == "input_text" || t == "text"; });
          break;
        }
      }
    }
    return std::nullopt;
  }

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
      if (JsonValue* content = item.find("content")) {
        if (JsonArray* parts = content->getArray()) {
          for (JsonValue& part : *parts) {
            const auto ptype = common::jsonString(part, "type");
            if (ptype && *ptype == "input_image") {
              if (JsonValue* url = part.find("image_url")) detail::normalizeImageUrlValue(*url);
            }
          }
        }
      }
      // Item ids refer to stored items; with store:false the backend rejects them.
      w_.beginObject();
      for (const JsonMember& m : *item.getObject()) {
        if (m.key == "id") continue;
        w_.key(m.key).value(m.value);
      }
      w_.endObject();
    }
    w_.endArray();
    return std::nullopt;
  }

  void writeReasoning(const JsonValue* reasoning) {
    w_.key("reasoning").beginObject();
    const bool has_effort = reasoning != nullptr && present(*reasoning, "effort") != nullptr;
    if (!has_effort && model_.effort) w_.key("effort").value(*model_.effort);
    if (reasoning != nullptr) {
      for (const JsonMember& m : *reasoning->getObject()) {
        if (m.key == "effort" && m.value.isNull()) continue;  // replaced by the suffix effort
        w_.key(m.key).value(m.value);
      }
    }
    w_.endObject();
  }

  JsonValue& root_;
  detail::FieldPolicy policy_;
  UpstreamRequest req_;
  detail::ModelSplit model_;
  std::string instructions_;
  std::string first_user_text_;
  JsonWriter w_;
};

}  // namespace

common::Result<UpstreamRequest> normalizeResponsesRequest(std::string_view body, const TranslateOptions& options,
                                                          const CallHints& hints) {
  try {
    auto parsed = detail::parseRequestObject(body);
    if (!parsed.ok()) return parsed.takeError();
    ResponsesNormalizer normalizer(parsed.value(), options);
    auto result = normalizer.run(body.size());
    if (result && !hints.client_session_id.empty()) result->session_id = std::string(hints.client_session_id);
    return result;
  } catch (const std::exception&) {
    return ApiError::internal("The request could not be normalised (out of memory).");
  }
}

}  // namespace cosp::worker
