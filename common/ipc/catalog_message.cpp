#include "common/ipc/catalog_message.h"

#include "common/catalog/served_catalog.h"
#include "common/ipc/channel.h"
#include "common/ipc/message_fields.h"
#include "common/ipc/messages.h"
#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"

// Members in alphabetical order, like every message of the channel (messages.cpp says why).
namespace cosp::common {

namespace {

using message_fields::readBool;
using message_fields::readInt;
using message_fields::readString;

std::string encodeWith(const ModelCatalog& catalog, bool with_raw) {
  JsonWriter w;
  w.beginObject()
      .member("etag", catalog.etag)
      .member("fetched_at_ms", catalog.fetched_at_ms)
      .key("models")
      .beginArray();
  for (const CatalogModel& m : catalog.models) {
    w.beginObject();
    if (m.default_effort) w.member("default_effort", *m.default_effort);
    w.member("display_name", m.display_name).key("efforts").beginArray();
    for (const std::string& effort : m.efforts) w.value(effort);
    w.endArray().member("listed", m.listed);
    // raw_json is the backend's entry as parseBackendCatalog() re-wrote it: valid JSON text.
    if (with_raw && !m.raw_json.empty()) w.key("raw").raw(m.raw_json);
    w.member("slug", m.slug).endObject();
  }
  w.endArray().member("source", catalogSourceName(catalog.source)).member("type", msg::kCatalog).endObject();
  return w.take();
}

bool decodeModel(const JsonValue& item, CatalogModel& m) {
  if (!item.isObject()) return false;
  auto slug = jsonString(item, "slug");
  if (!slug || slug->empty()) return false;
  m.slug = std::string(*slug);
  if (!readString(item, "display_name", m.slug, m.display_name)) return false;
  if (const JsonValue* efforts = item.find("efforts")) {
    const JsonArray* list = efforts->getArray();
    if (list == nullptr) return false;
    for (const JsonValue& e : *list) {
      auto effort = e.stringView();
      if (!effort) return false;
      m.efforts.emplace_back(*effort);
    }
  }
  if (const JsonValue* effort = item.find("default_effort")) {
    if (!effort->isString()) return false;
    m.default_effort = std::string(*effort->stringView());
  }
  if (!readBool(item, "listed", true, m.listed)) return false;
  if (const JsonValue* raw = item.find("raw")) {
    if (!raw->isObject()) return false;
    m.raw_json = toJson(*raw);
  }
  return true;
}

}  // namespace

std::string encodeCatalog(const ModelCatalog& catalog, bool* raw_dropped) {
  std::string message = encodeWith(catalog, true);
  const bool too_big = message.size() > Channel::kMaxMessageBytes;
  if (too_big) message = encodeWith(catalog, false);
  if (raw_dropped != nullptr) *raw_dropped = too_big;
  return message;
}

std::optional<ModelCatalog> decodeCatalog(const std::string& json) {
  auto o = parseJsonObject(json);
  if (!o) return std::nullopt;
  ModelCatalog c;
  auto source = jsonString(*o, "source");
  if (!source || !parseCatalogSource(*source, c.source)) return std::nullopt;
  if (!readString(*o, "etag", "", c.etag) || !readInt(*o, "fetched_at_ms", c.fetched_at_ms)) return std::nullopt;
  const JsonArray* models = jsonArray(*o, "models");
  if (models == nullptr) return std::nullopt;
  c.models.reserve(models->size());
  for (const JsonValue& item : *models) {
    CatalogModel m;
    if (!decodeModel(item, m)) return std::nullopt;
    c.models.push_back(std::move(m));
  }
  return c;
}

}  // namespace cosp::common
