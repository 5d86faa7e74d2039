#include "common/catalog/catalog_parse.h"

#include <algorithm>

#include "common/json/json_parser.h"
#include "common/json/json_writer.h"

namespace cosp::common {

namespace {

// The real catalog nests a few levels (model_messages, truncation_policy, …); anything much deeper
// is not a catalog.
constexpr JsonParseOptions kCatalogJsonOptions{.max_depth = 64};

bool isModelIdChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c == '.' || c == '_' || c == '-' || c == ':' || c == '+' || c == '@';
}

bool isEffortChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

// supported_reasoning_levels: [{"effort":"low","description":…},…]; a plain string item is taken
// too. Items without a usable effort name and repeats are left out.
std::vector<std::string> effortsOf(const JsonValue& entry) {
  std::vector<std::string> efforts;
  const JsonArray* levels = jsonArray(entry, "supported_reasoning_levels");
  if (levels == nullptr) return efforts;
  for (const JsonValue& level : *levels) {
    std::optional<std::string_view> name = level.isString() ? level.stringView() : jsonString(level, "effort");
    if (efforts.size() == kMaxEfforts) break;
    if (!name || !isEffortName(*name)) continue;
    if (std::find(efforts.begin(), efforts.end(), *name) != efforts.end()) continue;
    efforts.emplace_back(*name);
  }
  return efforts;
}

}  // namespace

bool isServableModelId(std::string_view slug) {
  return !slug.empty() && slug.size() <= kMaxModelIdBytes && std::all_of(slug.begin(), slug.end(), isModelIdChar);
}

bool isEffortName(std::string_view effort) {
  return !effort.empty() && effort.size() <= kMaxEffortBytes && std::all_of(effort.begin(), effort.end(), isEffortChar);
}

Result<ParsedCatalog, std::string> parseBackendCatalog(std::string_view body) {
  auto parsed = parseJson(body, kCatalogJsonOptions);
  if (!parsed.ok()) return "the catalog is not JSON (" + parsed.error().message + ")";
  const JsonValue& doc = parsed.value();
  if (!doc.isObject()) return std::string("the catalog is not a JSON object");
  const JsonArray* entries = jsonArray(doc, "models");
  if (entries == nullptr) return std::string("the catalog has no \"models\" array");
  if (entries->size() > kMaxCatalogModels) {
    return "the catalog lists " + std::to_string(entries->size()) + " models, more than the " +
           std::to_string(kMaxCatalogModels) + " accepted";
  }

  ParsedCatalog out;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const JsonValue& entry = (*entries)[i];
    if (!entry.isObject()) return "catalog entry " + std::to_string(i) + " is not an object";
    std::optional<std::string_view> slug = jsonString(entry, "slug");
    if (!slug) return "catalog entry " + std::to_string(i) + " has no string \"slug\"";
    if (!isServableModelId(*slug) ||
        std::any_of(out.models.begin(), out.models.end(), [&](const CatalogModel& m) { return m.slug == *slug; })) {
      ++out.skipped;
      continue;
    }
    CatalogModel model;
    model.slug = std::string(*slug);
    std::string_view display_name = jsonString(entry, "display_name").value_or(*slug);
    if (display_name.size() > kMaxDisplayNameBytes) display_name = *slug;
    model.display_name = std::string(display_name);
    model.efforts = effortsOf(entry);
    if (auto effort = jsonString(entry, "default_reasoning_level"); effort && isEffortName(*effort)) {
      model.default_effort = std::string(*effort);
    }
    // Without a visibility the entry is served like the models of a catalog that predates it.
    const JsonValue* visibility = entry.find("visibility");
    model.listed = visibility == nullptr || visibility->stringView() == std::optional<std::string_view>("list");
    model.raw_json = toJson(entry);
    out.models.push_back(std::move(model));
  }
  if (out.models.empty()) return std::string("the catalog lists no model the proxy can serve");
  return out;
}

}  // namespace cosp::common
