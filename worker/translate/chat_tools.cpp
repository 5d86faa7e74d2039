#include "worker/translate/chat_tools.h"

#include <string>

#include "worker/translate/body_rewrites.h"
#include "worker/translate/request_common.h"

namespace cosp::worker::detail {
namespace {

using common::ApiError;
using common::JsonArray;
using common::JsonMember;
using common::JsonValue;
using common::JsonWriter;

// nullopt = fine; otherwise the error to return.
using Status = std::optional<ApiError>;

class ChatToolsWriter {
 public:
  ChatToolsWriter(const JsonValue& root, JsonWriter& w) : root_(root), w_(w) {}

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
          writeToolRenamingPreview(tool, w_);  // web_search, local_shell, ...: untouched but for the type
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
    writeToolRenamingPreview(choice, w_);
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

 private:
  const JsonValue& root_;
  JsonWriter& w_;
};

}  // namespace

Status writeChatTools(const JsonValue& request, JsonWriter& w) { return ChatToolsWriter(request, w).writeTools(); }

Status writeChatToolChoice(const JsonValue& request, JsonWriter& w) {
  return ChatToolsWriter(request, w).writeToolChoice();
}

}  // namespace cosp::worker::detail
