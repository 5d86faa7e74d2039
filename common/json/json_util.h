#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json/json_value.h"

// Never-throwing typed accessors for Poco::JSON trees, for code that builds or
// receives POCO objects (handlers, config, IPC). POCO 1.11 traps they avoid:
//  - Object::getValue<T>() throws on a missing key;
//  - Var::extract<double>() throws when the number was parsed as an int
//    ("temperature": 1), and extract<Int64>() throws on int / unsigned;
//  - Object::get() returns the value by copy (a 9 MB string is cloned).
// The translation path uses JsonValue (json_value.h) instead; see json_parser.h.
namespace cosp::common {

// The member value by reference, or nullptr when missing (linear scan of the
// sorted map with early exit: POCO 1.11 offers no find() returning a reference).
const Poco::Dynamic::Var* pocoMember(const Poco::JSON::Object& obj, std::string_view key);

// Only when the member exists and is a JSON string (no number-to-string conversion).
const std::string* pocoString(const Poco::JSON::Object& obj, std::string_view key);
std::optional<std::string> pocoOptString(const Poco::JSON::Object& obj, std::string_view key);
// Any integer kind, or a double with an integral value in range.
std::optional<std::int64_t> pocoOptInt(const Poco::JSON::Object& obj, std::string_view key);
// Any number.
std::optional<double> pocoOptDouble(const Poco::JSON::Object& obj, std::string_view key);
std::optional<bool> pocoOptBool(const Poco::JSON::Object& obj, std::string_view key);
// Null Ptr when missing or of another kind.
Poco::JSON::Object::Ptr pocoOptObject(const Poco::JSON::Object& obj, std::string_view key);
Poco::JSON::Array::Ptr pocoOptArray(const Poco::JSON::Object& obj, std::string_view key);

// Var-level conversions with the same rules.
std::optional<std::int64_t> varToInt(const Poco::Dynamic::Var& v);
std::optional<double> varToDouble(const Poco::Dynamic::Var& v);

// Conversions between the two trees. toPocoVar builds objects with
// JSON_PRESERVE_KEY_ORDER; POCO's ordered insert is O(n^2) in the number of
// keys, so use it on trusted/small documents only. fromPocoVar keeps POCO's
// iteration order (insertion order for ordered objects).
Poco::Dynamic::Var toPocoVar(const JsonValue& v);
JsonValue fromPocoVar(const Poco::Dynamic::Var& v);

}  // namespace cosp::common
