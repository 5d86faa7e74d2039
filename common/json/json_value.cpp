#include "common/json/json_value.h"

#include <algorithm>
#include <cmath>

#include "common/json/json_escapes.h"

namespace cosp::common {

std::optional<std::int64_t> JsonValue::getInt64() const noexcept {
  switch (kind()) {
    case Kind::Int:
      return *rawInt();
    case Kind::UInt:
      return std::nullopt;  // only stored as UInt when above INT64_MAX
    case Kind::Double: {
      const double d = *rawDouble();
      // 2^63 is exactly representable; anything >= it does not fit.
      if (std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
        return static_cast<std::int64_t>(d);
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<std::uint64_t> JsonValue::getUInt64() const noexcept {
  switch (kind()) {
    case Kind::Int:
      if (*rawInt() < 0) return std::nullopt;
      return static_cast<std::uint64_t>(*rawInt());
    case Kind::UInt:
      return *rawUInt();
    case Kind::Double: {
      const double d = *rawDouble();
      // 2^64 is exactly representable; anything >= it does not fit.
      if (std::isfinite(d) && std::trunc(d) == d && d >= 0.0 && d < 18446744073709551616.0) {
        return static_cast<std::uint64_t>(d);
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<double> JsonValue::getDouble() const noexcept {
  switch (kind()) {
    case Kind::Int:
      return static_cast<double>(*rawInt());
    case Kind::UInt:
      return static_cast<double>(*rawUInt());
    case Kind::Double:
      return *rawDouble();
    default:
      return std::nullopt;
  }
}

const JsonValue* JsonValue::find(std::string_view key) const noexcept {
  const JsonObject* obj = getObject();
  if (obj == nullptr) return nullptr;
  for (auto it = obj->rbegin(); it != obj->rend(); ++it) {
    if (it->key == key) return &it->value;
  }
  return nullptr;
}

JsonValue* JsonValue::find(std::string_view key) noexcept {
  return const_cast<JsonValue*>(static_cast<const JsonValue*>(this)->find(key));
}

JsonValue& JsonValue::set(std::string key, JsonValue value) {
  if (isNull()) data_ = JsonObject{};
  JsonObject& obj = std::get<JsonObject>(data_);
  for (auto it = obj.rbegin(); it != obj.rend(); ++it) {
    if (it->key == key) {
      it->value = std::move(value);
      return it->value;
    }
  }
  obj.push_back(JsonMember{std::move(key), std::move(value)});
  return obj.back().value;
}

std::size_t JsonValue::erase(std::string_view key) noexcept {
  JsonObject* obj = getObject();
  if (obj == nullptr) return 0;
  const std::size_t before = obj->size();
  std::erase_if(*obj, [&](const JsonMember& m) { return m.key == key; });
  return before - obj->size();
}

JsonValue& JsonValue::push(JsonValue value) {
  if (isNull()) data_ = JsonArray{};
  JsonArray& arr = std::get<JsonArray>(data_);
  arr.push_back(std::move(value));
  return arr.back();
}

std::string_view JsonValue::Escaped::decoded() const {
  if (!cache) {
    auto s = std::make_unique<std::string>();
    json_escapes::appendUnescaped(*s, raw);
    cache = std::move(s);
  }
  return *cache;
}

std::string* JsonValue::mutableString() {
  if (const auto* b = std::get_if<Borrowed>(&data_)) data_ = std::string(b->view);
  if (const auto* e = std::get_if<Escaped>(&data_)) data_ = std::string(e->decoded());
  return std::get_if<std::string>(&data_);
}

void JsonValue::makeOwned() {
  if (isBorrowed() || isEscapedView()) {
    mutableString();
  } else if (JsonArray* arr = getArray()) {
    for (JsonValue& v : *arr) v.makeOwned();
  } else if (JsonObject* obj = getObject()) {
    for (JsonMember& m : *obj) m.value.makeOwned();
  }
}

bool operator==(const JsonValue& a, const JsonValue& b) {
  using Kind = JsonValue::Kind;
  const Kind ka = a.kind();
  const Kind kb = b.kind();
  if (ka != kb) {
    // Int and UInt never hold the same value by construction (UInt only above
    // INT64_MAX), so different integer kinds are simply unequal.
    return false;
  }
  if (ka == Kind::String) return *a.stringView() == *b.stringView();  // owned or borrowed alike
  return a.data_ == b.data_;
}

const JsonValue* jsonMember(const JsonValue& obj, std::string_view key) noexcept { return obj.find(key); }

std::optional<std::string_view> jsonString(const JsonValue& obj, std::string_view key) {
  const JsonValue* v = obj.find(key);
  return v == nullptr ? std::nullopt : v->stringView();
}

std::optional<std::int64_t> jsonInt(const JsonValue& obj, std::string_view key) noexcept {
  const JsonValue* v = obj.find(key);
  return v == nullptr ? std::nullopt : v->getInt64();
}

std::optional<std::uint64_t> jsonUInt(const JsonValue& obj, std::string_view key) noexcept {
  const JsonValue* v = obj.find(key);
  return v == nullptr ? std::nullopt : v->getUInt64();
}

std::optional<bool> jsonBool(const JsonValue& obj, std::string_view key) noexcept {
  const JsonValue* v = obj.find(key);
  return v == nullptr ? std::nullopt : v->getBool();
}

const JsonObject* jsonObject(const JsonValue& obj, std::string_view key) noexcept {
  const JsonValue* v = obj.find(key);
  return v == nullptr ? nullptr : v->getObject();
}

const JsonValue* jsonObjectValue(const JsonValue& obj, std::string_view key) noexcept {
  const JsonValue* v = obj.find(key);
  return (v != nullptr && v->isObject()) ? v : nullptr;
}

const JsonArray* jsonArray(const JsonValue& obj, std::string_view key) noexcept {
  const JsonValue* v = obj.find(key);
  return v == nullptr ? nullptr : v->getArray();
}

std::string jsonStringOr(const JsonValue& obj, std::string_view key, std::string_view fallback) {
  return std::string(jsonString(obj, key).value_or(fallback));
}

void sortMembersByKey(JsonValue& v) {
  if (JsonArray* arr = v.getArray()) {
    for (JsonValue& item : *arr) sortMembersByKey(item);
  } else if (JsonObject* obj = v.getObject()) {
    std::stable_sort(obj->begin(), obj->end(), [](const JsonMember& a, const JsonMember& b) { return a.key < b.key; });
    for (JsonMember& m : *obj) sortMembersByKey(m.value);
  }
}

}  // namespace cosp::common
