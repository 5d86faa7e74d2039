#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/json/json_value.h"

// Reading the members of a channel message (messages.cpp, catalog_message.cpp): a member may be
// absent (then the fallback is taken) but must have the right kind when present; a message with
// a member of another kind is malformed as a whole, so each reader returns false then.
namespace cosp::common::message_fields {

template <typename T, typename Get>
bool readOptional(const JsonValue& object, std::string_view key, T fallback, T& out, Get get) {
  const JsonValue* value = object.find(key);
  if (value == nullptr) {
    out = fallback;
    return true;
  }
  auto got = get(*value);
  if (!got) return false;
  out = static_cast<T>(*got);
  return true;
}

inline bool readInt(const JsonValue& object, std::string_view key, int64_t& out) {
  return readOptional<int64_t>(object, key, 0, out, [](const JsonValue& v) { return v.getInt64(); });
}

inline bool readBool(const JsonValue& object, std::string_view key, bool fallback, bool& out) {
  return readOptional<bool>(object, key, fallback, out, [](const JsonValue& v) { return v.getBool(); });
}

inline bool readString(const JsonValue& object, std::string_view key, std::string_view fallback, std::string& out) {
  const JsonValue* value = object.find(key);
  if (value == nullptr) {
    out = std::string(fallback);
    return true;
  }
  auto text = value->stringView();
  if (!text) return false;
  out = std::string(*text);
  return true;
}

}  // namespace cosp::common::message_fields
