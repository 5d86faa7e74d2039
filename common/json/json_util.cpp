#include "common/json/json_util.h"

#include <cmath>

namespace cosp::common {

const Poco::Dynamic::Var* pocoMember(const Poco::JSON::Object& obj, std::string_view key) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const int c = std::string_view(it->first).compare(key);
    if (c == 0) return &it->second;
    if (c > 0) break;  // std::map is sorted by key
  }
  return nullptr;
}

const std::string* pocoString(const Poco::JSON::Object& obj, std::string_view key) {
  const Poco::Dynamic::Var* v = pocoMember(obj, key);
  if (v == nullptr || v->type() != typeid(std::string)) return nullptr;
  return &v->extract<std::string>();
}

std::optional<std::string> pocoOptString(const Poco::JSON::Object& obj, std::string_view key) {
  const std::string* s = pocoString(obj, key);
  if (s == nullptr) return std::nullopt;
  return *s;
}

std::optional<std::int64_t> varToInt(const Poco::Dynamic::Var& v) {
  if (v.isEmpty() || v.isBoolean() || !v.isNumeric()) return std::nullopt;
  try {
    if (v.isInteger()) {
      if (v.isSigned()) return v.convert<Poco::Int64>();
      const Poco::UInt64 u = v.convert<Poco::UInt64>();
      if (u > static_cast<Poco::UInt64>(INT64_MAX)) return std::nullopt;
      return static_cast<std::int64_t>(u);
    }
    const double d = v.convert<double>();
    if (std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      return static_cast<std::int64_t>(d);
    }
  } catch (const Poco::Exception&) {
  }
  return std::nullopt;
}

std::optional<double> varToDouble(const Poco::Dynamic::Var& v) {
  if (v.isEmpty() || v.isBoolean() || !v.isNumeric()) return std::nullopt;
  try {
    return v.convert<double>();
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
}

std::optional<std::int64_t> pocoOptInt(const Poco::JSON::Object& obj, std::string_view key) {
  const Poco::Dynamic::Var* v = pocoMember(obj, key);
  return v == nullptr ? std::nullopt : varToInt(*v);
}

std::optional<double> pocoOptDouble(const Poco::JSON::Object& obj, std::string_view key) {
  const Poco::Dynamic::Var* v = pocoMember(obj, key);
  return v == nullptr ? std::nullopt : varToDouble(*v);
}

std::optional<bool> pocoOptBool(const Poco::JSON::Object& obj, std::string_view key) {
  const Poco::Dynamic::Var* v = pocoMember(obj, key);
  if (v == nullptr || v->type() != typeid(bool)) return std::nullopt;
  return v->extract<bool>();
}

Poco::JSON::Object::Ptr pocoOptObject(const Poco::JSON::Object& obj, std::string_view key) {
  const Poco::Dynamic::Var* v = pocoMember(obj, key);
  if (v == nullptr) return {};
  if (v->type() == typeid(Poco::JSON::Object::Ptr)) return v->extract<Poco::JSON::Object::Ptr>();
  if (v->type() == typeid(Poco::JSON::Object)) return new Poco::JSON::Object(v->extract<Poco::JSON::Object>());
  return {};
}

Poco::JSON::Array::Ptr pocoOptArray(const Poco::JSON::Object& obj, std::string_view key) {
  const Poco::Dynamic::Var* v = pocoMember(obj, key);
  if (v == nullptr) return {};
  if (v->type() == typeid(Poco::JSON::Array::Ptr)) return v->extract<Poco::JSON::Array::Ptr>();
  if (v->type() == typeid(Poco::JSON::Array)) return new Poco::JSON::Array(v->extract<Poco::JSON::Array>());
  return {};
}

Poco::Dynamic::Var toPocoVar(const JsonValue& v) {
  using Kind = JsonValue::Kind;
  switch (v.kind()) {
    case Kind::Null:
      return {};
    case Kind::Bool:
      return *v.getBool();
    case Kind::Int:
      return static_cast<Poco::Int64>(*v.rawInt());
    case Kind::UInt:
      return static_cast<Poco::UInt64>(*v.rawUInt());
    case Kind::Double:
      return *v.rawDouble();
    case Kind::String:
      return std::string(*v.stringView());
    case Kind::Array: {
      Poco::JSON::Array::Ptr arr = new Poco::JSON::Array();
      for (const JsonValue& item : *v.getArray()) arr->add(toPocoVar(item));
      return arr;
    }
    case Kind::Object: {
      Poco::JSON::Object::Ptr obj = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
      for (const JsonMember& m : *v.getObject()) obj->set(m.key, toPocoVar(m.value));
      return obj;
    }
  }
  return {};
}

namespace {

JsonValue fromPocoObject(const Poco::JSON::Object& obj) {
  JsonObject out;
  out.reserve(obj.size());
  for (const std::string& name : obj.getNames()) {
    const Poco::Dynamic::Var* v = pocoMember(obj, name);
    if (v != nullptr) out.push_back(JsonMember{name, fromPocoVar(*v)});
  }
  return JsonValue(std::move(out));
}

JsonValue fromPocoArray(const Poco::JSON::Array& arr) {
  JsonArray out;
  out.reserve(arr.size());
  for (auto it = arr.begin(); it != arr.end(); ++it) out.push_back(fromPocoVar(*it));
  return JsonValue(std::move(out));
}

}  // namespace

JsonValue fromPocoVar(const Poco::Dynamic::Var& v) {
  if (v.isEmpty()) return {};
  const std::type_info& t = v.type();
  if (t == typeid(std::string)) return JsonValue(v.extract<std::string>());
  if (t == typeid(bool)) return JsonValue(v.extract<bool>());
  if (t == typeid(Poco::JSON::Object::Ptr)) {
    const auto& p = v.extract<Poco::JSON::Object::Ptr>();
    return p.isNull() ? JsonValue() : fromPocoObject(*p);
  }
  if (t == typeid(Poco::JSON::Array::Ptr)) {
    const auto& p = v.extract<Poco::JSON::Array::Ptr>();
    return p.isNull() ? JsonValue() : fromPocoArray(*p);
  }
  if (t == typeid(Poco::JSON::Object)) return fromPocoObject(v.extract<Poco::JSON::Object>());
  if (t == typeid(Poco::JSON::Array)) return fromPocoArray(v.extract<Poco::JSON::Array>());
  try {
    if (v.isInteger()) {
      if (v.isSigned()) return JsonValue(static_cast<long long>(v.convert<Poco::Int64>()));
      return JsonValue(static_cast<unsigned long long>(v.convert<Poco::UInt64>()));
    }
    if (v.isNumeric()) return JsonValue(v.convert<double>());
    if (v.isString()) return JsonValue(v.convert<std::string>());
  } catch (const Poco::Exception&) {
  }
  return {};
}

}  // namespace cosp::common
