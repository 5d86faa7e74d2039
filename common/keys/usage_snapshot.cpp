#include "common/keys/usage_snapshot.h"

#include <cstring>

#include "common/json/json_parser.h"
#include "common/json/json_writer.h"

namespace cosp::common::keys {

std::int64_t KeyUsage::requests() const {
  std::int64_t n = 0;
  for (std::int64_t c : requests_by_class) n += c;
  return n;
}

KeyUsage readSlotUsage(LimitsZone& zone, std::uint32_t slot, std::string name) {
  KeySlot& s = zone.slot(slot);
  KeyUsage u;
  u.name = std::move(name);
  for (int i = 0; i < KeySlot::kStatusClasses; ++i) u.requests_by_class[i] = s.requests_by_class[i].load();
  for (ModelBucket& m : s.models) {
    if (m.state.load(std::memory_order_acquire) != 2) continue;
    u.requests_by_model.emplace_back(std::string(m.name, strnlen(m.name, sizeof m.name)), m.requests.load());
  }
  u.other_model_requests = s.other_model_requests.load();
  u.input_tokens = s.input_tokens.load();
  u.cached_tokens = s.cached_tokens.load();
  u.output_tokens = s.output_tokens.load();
  u.reasoning_tokens = s.reasoning_tokens.load();
  u.last_use = s.last_use.load();
  u.day = s.day.load();
  u.day_tokens = s.day_tokens.load();
  u.month = s.month.load();
  u.month_tokens = s.month_tokens.load();
  return u;
}

void restoreSlotUsage(LimitsZone& zone, std::uint32_t slot, const KeyUsage& u) {
  KeySlot& s = zone.slot(slot);
  for (int i = 0; i < KeySlot::kStatusClasses; ++i) s.requests_by_class[i].store(u.requests_by_class[i]);
  std::size_t next = 0;
  std::int64_t other = u.other_model_requests;
  for (const auto& [model, count] : u.requests_by_model) {
    if (next >= static_cast<std::size_t>(KeySlot::kModelBuckets) || model.size() >= ModelBucket::kNameSize) {
      other += count;
      continue;
    }
    ModelBucket& m = s.models[next++];
    std::memset(m.name, 0, sizeof m.name);
    std::memcpy(m.name, model.data(), model.size());
    m.requests.store(count);
    m.state.store(2, std::memory_order_release);
  }
  s.other_model_requests.store(other);
  s.input_tokens.store(u.input_tokens);
  s.cached_tokens.store(u.cached_tokens);
  s.output_tokens.store(u.output_tokens);
  s.reasoning_tokens.store(u.reasoning_tokens);
  s.last_use.store(u.last_use);
  s.day.store(u.day);
  s.day_tokens.store(u.day_tokens);
  s.month.store(u.month);
  s.month_tokens.store(u.month_tokens);
}

JsonValue usageToJson(const std::vector<KeyUsage>& usage) {
  JsonArray keys;
  for (const KeyUsage& u : usage) {
    JsonValue k = JsonValue::object();
    k.set("name", u.name);
    JsonValue classes = JsonValue::object();
    for (int i = 0; i < KeySlot::kStatusClasses; ++i)
      classes.set(std::to_string(i + 1) + "xx", static_cast<long long>(u.requests_by_class[i]));
    k.set("requests_by_status", std::move(classes));
    JsonValue models = JsonValue::object();
    for (const auto& [model, count] : u.requests_by_model) models.set(model, static_cast<long long>(count));
    k.set("requests_by_model", std::move(models));
    k.set("other_model_requests", static_cast<long long>(u.other_model_requests));
    k.set("input_tokens", static_cast<long long>(u.input_tokens));
    k.set("cached_tokens", static_cast<long long>(u.cached_tokens));
    k.set("output_tokens", static_cast<long long>(u.output_tokens));
    k.set("reasoning_tokens", static_cast<long long>(u.reasoning_tokens));
    k.set("last_use", static_cast<long long>(u.last_use));
    k.set("day", static_cast<long long>(u.day));
    k.set("day_tokens", static_cast<long long>(u.day_tokens));
    k.set("month", static_cast<long long>(u.month));
    k.set("month_tokens", static_cast<long long>(u.month_tokens));
    keys.push_back(std::move(k));
  }
  JsonValue root = JsonValue::object();
  root.set("keys", JsonValue(std::move(keys)));
  return root;
}

std::string encodeUsageFile(const std::vector<KeyUsage>& usage) { return toJson(usageToJson(usage)) + "\n"; }

std::optional<std::vector<KeyUsage>> usageFromJson(const JsonValue& document) {
  const JsonArray* keys = jsonArray(document, "keys");
  if (keys == nullptr) return std::nullopt;
  std::vector<KeyUsage> out;
  for (const JsonValue& k : *keys) {
    if (!k.isObject()) return std::nullopt;
    KeyUsage u;
    u.name = jsonStringOr(k, "name");
    if (u.name.empty()) return std::nullopt;
    auto num = [&](const char* field) { return jsonInt(k, field).value_or(0); };
    if (const JsonValue* classes = jsonObjectValue(k, "requests_by_status"))
      for (int i = 0; i < KeySlot::kStatusClasses; ++i)
        u.requests_by_class[i] = jsonInt(*classes, std::to_string(i + 1) + "xx").value_or(0);
    if (const JsonObject* models = jsonObject(k, "requests_by_model"))
      for (const JsonMember& m : *models) u.requests_by_model.emplace_back(m.key, m.value.getInt64().value_or(0));
    u.other_model_requests = num("other_model_requests");
    u.input_tokens = num("input_tokens");
    u.cached_tokens = num("cached_tokens");
    u.output_tokens = num("output_tokens");
    u.reasoning_tokens = num("reasoning_tokens");
    u.last_use = num("last_use");
    u.day = num("day");
    u.day_tokens = num("day_tokens");
    u.month = num("month");
    u.month_tokens = num("month_tokens");
    out.push_back(std::move(u));
  }
  return out;
}

std::optional<std::vector<KeyUsage>> decodeUsageFile(const std::string& text) {
  auto parsed = parseJsonObject(text);
  if (!parsed) return std::nullopt;
  return usageFromJson(*parsed);
}

}  // namespace cosp::common::keys
