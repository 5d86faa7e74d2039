#include "worker/translate/body_rewrites.h"

namespace cosp::worker::detail {

using common::JsonArray;
using common::JsonMember;
using common::JsonValue;
using common::JsonWriter;

namespace {

bool isWebSearchPreview(std::string_view type) { return type.starts_with("web_search_preview"); }

}  // namespace

void writeToolRenamingPreview(const JsonValue& tool, JsonWriter& w) {
  const common::JsonObject* members = tool.getObject();
  if (members == nullptr) {
    w.value(tool);
    return;
  }
  const auto type = common::jsonString(tool, "type");
  const bool preview = type && isWebSearchPreview(*type);
  const bool allowed_tools = type && *type == "allowed_tools";
  if (!preview && !allowed_tools) {
    w.value(tool);
    return;
  }
  w.beginObject();
  for (const JsonMember& m : *members) {
    w.key(m.key);
    if (preview && m.key == "type") {
      w.value("web_search");
    } else if (allowed_tools && m.key == "tools" && m.value.isArray()) {
      // {"type":"allowed_tools","mode":"auto","tools":[{"type":"web_search_preview"}, ...]}
      w.beginArray();
      for (const JsonValue& t : *m.value.getArray()) writeToolRenamingPreview(t, w);
      w.endArray();
    } else {
      w.value(m.value);
    }
  }
  w.endObject();
}

void writeObjectWithout(const JsonValue& object, std::string_view key, JsonWriter& w) {
  w.beginObject();
  for (const JsonMember& m : *object.getObject()) {
    if (m.key != key) w.key(m.key).value(m.value);
  }
  w.endObject();
}

void writeIncludeWithEncryptedReasoning(const JsonValue* include, JsonWriter& w) {
  w.key("include").beginArray();
  bool have = false;
  if (include != nullptr) {
    if (const JsonArray* items = include->getArray()) {
      for (const JsonValue& item : *items) {
        if (item.stringView() == kEncryptedReasoning) have = true;
        w.value(item);
      }
    }
  }
  if (!have) w.value(kEncryptedReasoning);
  w.endArray();
}

}  // namespace cosp::worker::detail
