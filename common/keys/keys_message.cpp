#include "common/keys/keys_message.h"

#include "common/json/json_parser.h"
#include "common/json/json_writer.h"

namespace cosp::common::keys {

std::string encodeKeysMessage(const std::vector<ServedKey>& keys) {
  KeysFile file;
  JsonArray slots;
  for (const ServedKey& k : keys) {
    file.keys.push_back(k.entry);
    JsonArray pair;
    pair.emplace_back(static_cast<long long>(k.slot));
    pair.emplace_back(static_cast<long long>(k.generation));
    slots.emplace_back(std::move(pair));
  }
  JsonValue message = JsonValue::object();
  message.set("type", kKeysMessageType);
  message.set("file", serializeKeysFile(file));
  message.set("slots", JsonValue(std::move(slots)));
  return toJson(message);
}

std::optional<std::vector<ServedKey>> decodeKeysMessage(const std::string& message) {
  auto object = parseJsonObject(message);
  if (!object || jsonStringOr(*object, "type") != kKeysMessageType) return std::nullopt;
  const JsonValue* text = object->find("file");
  const JsonArray* slots = jsonArray(*object, "slots");
  if (text == nullptr || !text->stringView() || slots == nullptr) return std::nullopt;
  auto file = parseKeysFile(*text->stringView());
  if (!file || file->keys.size() != slots->size()) return std::nullopt;
  std::vector<ServedKey> out;
  for (std::size_t i = 0; i < slots->size(); ++i) {
    const JsonArray* pair = (*slots)[i].getArray();
    if (pair == nullptr || pair->size() != 2) return std::nullopt;
    auto slot = (*pair)[0].getUInt64();
    auto generation = (*pair)[1].getInt64();
    if (!slot || !generation || *slot >= LimitsZone::kSlots) return std::nullopt;
    out.push_back(ServedKey{std::move(file->keys[i]), static_cast<std::uint32_t>(*slot), *generation});
  }
  return out;
}

}  // namespace cosp::common::keys
