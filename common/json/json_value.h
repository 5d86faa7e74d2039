#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cosp::common {

class JsonValue;
struct JsonMember;

using JsonArray = std::vector<JsonValue>;
// Objects keep members in document order (the golden files, the upstream body and
// the client's own key order depend on it). Lookups are linear scans: request
// objects are small, and a linear scan keeps a hostile 1M-key object O(n) per
// lookup instead of POCO 1.11's O(n^2) ordered insert (see json_parser.h).
using JsonObject = std::vector<JsonMember>;

// A parsed JSON document: a small ordered DOM held by value. Strings are owned
// std::strings, or (opt-in, JsonParseOptions::borrow_strings) views into the
// parsed text, so a 9 MB image data URL is copied once on its way through the
// proxy. A viewed string with escapes keeps its escaped input bytes: the writer
// copies them back verbatim and stringView() decodes them only when asked (issue 17:
// a text-heavy body is then parsed and written without an unescape/re-escape round
// trip). Read strings with stringView(); mutableString() makes one owned.
// Nothing here throws except std::bad_alloc.
class JsonValue {
 public:
  enum class Kind : std::uint8_t { Null, Bool, Int, UInt, Double, String, Array, Object };

  // The constructors, borrowed(), array() and object() are defined after JsonMember below: they
  // build or destroy the variant, which needs JsonMember complete. g++ instantiates that lazily,
  // clang (the fuzz build) as soon as it reads an in-class body.
  JsonValue() noexcept;
  JsonValue(std::nullptr_t) noexcept;        // NOLINT: implicit by design
  JsonValue(bool b) noexcept;                // NOLINT
  JsonValue(int v) noexcept;                 // NOLINT
  JsonValue(long v) noexcept;                // NOLINT
  JsonValue(long long v) noexcept;           // NOLINT
  JsonValue(unsigned v) noexcept;            // NOLINT
  JsonValue(unsigned long v) noexcept;       // NOLINT
  JsonValue(unsigned long long v) noexcept;  // NOLINT
  JsonValue(double d) noexcept;              // NOLINT
  JsonValue(std::string s) noexcept;         // NOLINT
  JsonValue(std::string_view s);             // NOLINT
  JsonValue(const char* s);                  // NOLINT
  JsonValue(JsonArray a) noexcept;           // NOLINT
  JsonValue(JsonObject o) noexcept;          // NOLINT

  static JsonValue array();
  static JsonValue object();

  Kind kind() const noexcept {
    const std::size_t i = data_.index();
    return (i == kBorrowedIndex || i == kEscapedIndex) ? Kind::String : static_cast<Kind>(i);
  }
  bool isNull() const noexcept { return kind() == Kind::Null; }
  bool isBool() const noexcept { return kind() == Kind::Bool; }
  bool isNumber() const noexcept { return kind() == Kind::Int || kind() == Kind::UInt || kind() == Kind::Double; }
  bool isString() const noexcept { return kind() == Kind::String; }
  bool isArray() const noexcept { return kind() == Kind::Array; }
  bool isObject() const noexcept { return kind() == Kind::Object; }

  // A string that views memory owned by someone else (see JsonParseOptions::
  // borrow_strings): no copy, but the viewed buffer must outlive this value and
  // every copy of it. Reads are identical to owned strings.
  static JsonValue borrowed(std::string_view s) noexcept;
  bool isBorrowed() const noexcept { return data_.index() == kBorrowedIndex; }
  // A viewed string that still has its JSON escapes (the bytes between the quotes in the
  // input, already validated by the parser). `canonical`: those bytes are exactly what
  // appendJsonString writes for the decoded text, so the writer may copy them verbatim.
  static JsonValue escapedView(std::string_view raw, bool canonical) noexcept;
  bool isEscapedView() const noexcept { return data_.index() == kEscapedIndex; }
  // The escaped input bytes of an escapedView, else nullptr (for the writer).
  const std::string_view* escapedRaw(bool& canonical) const noexcept {
    const auto* e = std::get_if<Escaped>(&data_);
    if (e == nullptr) return nullptr;
    canonical = e->canonical;
    return &e->raw;
  }
  // Turns every borrowed or escaped-view string of this tree into an owned copy.
  void makeOwned();

  // Typed access: nullptr / nullopt when the kind does not match. Throws only
  // std::bad_alloc: an escaped view is decoded on first read (and kept; a tree is read
  // by one thread at a time, like any std::string it holds).
  std::optional<std::string_view> stringView() const {
    if (const auto* s = std::get_if<std::string>(&data_)) return std::string_view(*s);
    if (const auto* b = std::get_if<Borrowed>(&data_)) return b->view;
    if (const auto* e = std::get_if<Escaped>(&data_)) return e->decoded();
    return std::nullopt;
  }
  // True for "" (owned or viewed); never decodes an escaped view (it is never empty).
  bool isEmptyString() const noexcept {
    if (const auto* s = std::get_if<std::string>(&data_)) return s->empty();
    if (const auto* b = std::get_if<Borrowed>(&data_)) return b->view.empty();
    return false;
  }
  // Mutable access to a string (a borrowed one is copied first); nullptr otherwise.
  std::string* mutableString();
  std::optional<bool> getBool() const noexcept {
    if (const auto* b = std::get_if<bool>(&data_)) return *b;
    return std::nullopt;
  }
  // Int, UInt that fits, or a Double with an integral value in range.
  std::optional<std::int64_t> getInt64() const noexcept;
  // A non-negative Int, a UInt, or a Double with a non-negative integral value in range.
  std::optional<std::uint64_t> getUInt64() const noexcept;
  // Any number, converted (POCO's extract<double> throws on ints; this does not).
  std::optional<double> getDouble() const noexcept;
  const JsonArray* getArray() const noexcept { return std::get_if<JsonArray>(&data_); }
  JsonArray* getArray() noexcept { return std::get_if<JsonArray>(&data_); }
  const JsonObject* getObject() const noexcept { return std::get_if<JsonObject>(&data_); }
  JsonObject* getObject() noexcept { return std::get_if<JsonObject>(&data_); }

  // Raw numeric payloads for the writer.
  const std::int64_t* rawInt() const noexcept { return std::get_if<std::int64_t>(&data_); }
  const std::uint64_t* rawUInt() const noexcept { return std::get_if<std::uint64_t>(&data_); }
  const double* rawDouble() const noexcept { return std::get_if<double>(&data_); }

  // Object helpers. A duplicated key resolves to its LAST occurrence, as in
  // JavaScript's JSON.parse and POCO's ParseHandler. nullptr when not an object.
  const JsonValue* find(std::string_view key) const noexcept;
  JsonValue* find(std::string_view key) noexcept;
  // Replaces the last member named `key` or appends one. Turns a null into an
  // object first; returns the stored value. Must not be called on other kinds.
  JsonValue& set(std::string key, JsonValue value);
  // Removes every member named `key`; returns how many were removed.
  std::size_t erase(std::string_view key) noexcept;
  // Appends to an array (a null becomes an array first).
  JsonValue& push(JsonValue value);

  // Structural equality; object member order matters; Int and UInt compare by value.
  friend bool operator==(const JsonValue& a, const JsonValue& b);

 private:
  void setUnsigned(unsigned long long v) noexcept;

  struct Borrowed {
    std::string_view view;
    friend bool operator==(const Borrowed& a, const Borrowed& b) noexcept { return a.view == b.view; }
  };
  // 32 bytes like std::string, so JsonValue does not grow. Copies drop the decoded cache
  // (it is rebuilt on demand) rather than copy it.
  struct Escaped {
    std::string_view raw;
    bool canonical = false;
    mutable std::unique_ptr<std::string> cache;

    Escaped(std::string_view r, bool c) noexcept : raw(r), canonical(c) {}
    Escaped(const Escaped& o) noexcept : raw(o.raw), canonical(o.canonical) {}
    Escaped(Escaped&&) noexcept = default;
    Escaped& operator=(const Escaped& o) noexcept {
      raw = o.raw;
      canonical = o.canonical;
      cache.reset();
      return *this;
    }
    Escaped& operator=(Escaped&&) noexcept = default;
    ~Escaped() = default;
    std::string_view decoded() const;
    friend bool operator==(const Escaped& a, const Escaped& b) noexcept { return a.raw == b.raw; }
  };
  static constexpr std::size_t kBorrowedIndex = 8;
  static constexpr std::size_t kEscapedIndex = 9;

  // Order matches Kind; Borrowed and Escaped (last) are Kind::String too.
  std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string, JsonArray, JsonObject, Borrowed,
               Escaped>
      data_;
};

struct JsonMember {
  std::string key;
  JsonValue value;

  friend bool operator==(const JsonMember& a, const JsonMember& b) noexcept {
    return a.key == b.key && a.value == b.value;
  }
};

inline JsonValue::JsonValue() noexcept = default;
inline JsonValue::JsonValue(std::nullptr_t) noexcept {}
inline JsonValue::JsonValue(bool b) noexcept : data_(b) {}
inline JsonValue::JsonValue(int v) noexcept : data_(static_cast<std::int64_t>(v)) {}
inline JsonValue::JsonValue(long v) noexcept : data_(static_cast<std::int64_t>(v)) {}
inline JsonValue::JsonValue(long long v) noexcept : data_(static_cast<std::int64_t>(v)) {}
inline JsonValue::JsonValue(unsigned v) noexcept : data_(static_cast<std::int64_t>(v)) {}
inline JsonValue::JsonValue(unsigned long v) noexcept { setUnsigned(v); }
inline JsonValue::JsonValue(unsigned long long v) noexcept { setUnsigned(v); }
inline JsonValue::JsonValue(double d) noexcept : data_(d) {}
inline JsonValue::JsonValue(std::string s) noexcept : data_(std::move(s)) {}
inline JsonValue::JsonValue(std::string_view s) : data_(std::string(s)) {}
inline JsonValue::JsonValue(const char* s) : data_(std::string(s)) {}
inline JsonValue::JsonValue(JsonArray a) noexcept : data_(std::move(a)) {}
inline JsonValue::JsonValue(JsonObject o) noexcept : data_(std::move(o)) {}

inline JsonValue JsonValue::array() { return JsonValue(JsonArray{}); }
inline JsonValue JsonValue::object() { return JsonValue(JsonObject{}); }

inline JsonValue JsonValue::borrowed(std::string_view s) noexcept {
  JsonValue v;
  v.data_ = Borrowed{s};
  return v;
}

inline JsonValue JsonValue::escapedView(std::string_view raw, bool canonical) noexcept {
  JsonValue v;
  v.data_.emplace<Escaped>(raw, canonical);
  return v;
}

inline void JsonValue::setUnsigned(unsigned long long v) noexcept {
  if (v <= static_cast<unsigned long long>(INT64_MAX)) {
    data_ = static_cast<std::int64_t>(v);
  } else {
    data_ = static_cast<std::uint64_t>(v);
  }
}

// Convenience lookups on an object value that never throw: nullopt / nullptr
// when the value is not an object, the key is missing, or the kind differs.
const JsonValue* jsonMember(const JsonValue& obj, std::string_view key) noexcept;
std::optional<std::string_view> jsonString(const JsonValue& obj, std::string_view key);
std::optional<std::int64_t> jsonInt(const JsonValue& obj, std::string_view key) noexcept;
std::optional<std::uint64_t> jsonUInt(const JsonValue& obj, std::string_view key) noexcept;
std::optional<bool> jsonBool(const JsonValue& obj, std::string_view key) noexcept;
const JsonObject* jsonObject(const JsonValue& obj, std::string_view key) noexcept;
const JsonValue* jsonObjectValue(const JsonValue& obj, std::string_view key) noexcept;
const JsonArray* jsonArray(const JsonValue& obj, std::string_view key) noexcept;
// The string member `key` as an owned string, or `fallback` when it is missing or not a string.
std::string jsonStringOr(const JsonValue& obj, std::string_view key, std::string_view fallback = {});

// Sorts the members of every object in the tree by key (stable: duplicated keys keep their
// order), for output whose key order must not depend on how the tree was built.
void sortMembersByKey(JsonValue& v);

}  // namespace cosp::common
