#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/json/json_value.h"

namespace cosp::common {

// Appends s as a JSON string literal (with quotes). Strings that need no escaping
// are found with a word-at-a-time scan and appended in bulk; control characters,
// '"' and '\\' are escaped; UTF-8 passes through unchanged (no \u for non-ASCII,
// POCO's JSON_ESCAPE_UNICODE stays off).
void appendJsonString(std::string& out, std::string_view s);

// Appends the JSON string literal of escaped string contents (the bytes between the
// quotes of a validated input string, JsonValue::escapedView): the same bytes as
// appendJsonString of the decoded text, without decoding it first. `canonical`: raw is
// already in that form and is copied verbatim.
void appendJsonStringFromEscaped(std::string& out, std::string_view raw, bool canonical);

// Appends a double so that parsing it back yields the same value (shortest
// round-trip form). Integral values keep a ".0" so they re-parse as doubles.
// NaN and infinities have no JSON form and are written as null.
void appendJsonDouble(std::string& out, double d);

// A streaming JSON writer into a std::string, ~10x faster than Poco's
// Stringifier on large payloads. Commas are inserted automatically; the caller
// is responsible for balanced begin/end calls and for key() before each value
// inside an object (asserted in debug builds only: this is a hot path).
//
//   JsonWriter w;
//   w.beginObject().key("model").value("gpt-5.5").key("stream").value(true).endObject();
//   std::string body = w.take();
class JsonWriter {
 public:
  JsonWriter() = default;
  // Reuse an existing buffer (cleared) to avoid a reallocation.
  explicit JsonWriter(std::string&& buffer);

  void reserve(std::size_t bytes) { out_.reserve(bytes); }

  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>) JsonWriter& value(T v) {
    if constexpr (std::is_signed_v<T>) {
      return writeInt(static_cast<std::int64_t>(v));
    } else {
      return writeUInt(static_cast<std::uint64_t>(v));
    }
  }
  JsonWriter& value(double d);
  JsonWriter& value(float f) { return value(static_cast<double>(f)); }
  JsonWriter& null();

  // Whole trees.
  JsonWriter& value(const JsonValue& v);

  // A value that is already valid JSON text (e.g. another writer's output).
  JsonWriter& raw(std::string_view json);

  // key(k) followed by value(v).
  template <typename T>
  JsonWriter& member(std::string_view k, T&& v) {
    key(k);
    return value(std::forward<T>(v));
  }

  const std::string& str() const { return out_; }
  std::size_t size() const { return out_.size(); }
  std::string take();

 private:
  void beforeValue();
  JsonWriter& writeInt(std::int64_t v);
  JsonWriter& writeUInt(std::uint64_t v);

  std::string out_;
  // One entry per open container: true until its first element was written.
  std::vector<bool> first_;
  bool after_key_ = false;
};

// One-call serialisation.
std::string toJson(const JsonValue& v);

// For files people read (credentials.json, `login --print`): two spaces per level, one member
// or element per line, "key": value. Empty containers stay on one line ({} and []).
std::string toPrettyJson(const JsonValue& v);

}  // namespace cosp::common
