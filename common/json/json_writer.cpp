#include "common/json/json_writer.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>

#include "common/json/json_escapes.h"
#include "common/json/swar.h"

namespace cosp::common {
namespace {

using swar::needsEscape;

inline bool byteNeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

void appendEscape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out.append("\\\"", 2);
      return;
    case '\\':
      out.append("\\\\", 2);
      return;
    case '\n':
      out.append("\\n", 2);
      return;
    case '\r':
      out.append("\\r", 2);
      return;
    case '\t':
      out.append("\\t", 2);
      return;
    case '\b':
      out.append("\\b", 2);
      return;
    case '\f':
      out.append("\\f", 2);
      return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(buf, 6);
      return;
    }
  }
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  // Grow geometrically: std::string::reserve(n) allocates exactly n, and an exact
  // reserve before every big string would copy the whole buffer twice per growth.
  if (out.capacity() - out.size() < n + 2) out.reserve(std::max(out.capacity() * 2, out.size() + n + 2));
  out.push_back('"');
  std::size_t run = 0;
  std::size_t i = 0;
  while (i < n) {
    while (n - i >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (needsEscape(w) != 0) break;
      i += 8;
    }
    // Byte loop up to the escape the word scan found (or over the short tail).
    const std::size_t stop = std::min(n, i + 8);
    for (; i < stop; ++i) {
      if (byteNeedsEscape(p[i])) {
        out.append(reinterpret_cast<const char*>(p + run), i - run);
        appendEscape(out, p[i]);
        run = i + 1;
      }
    }
  }
  out.append(reinterpret_cast<const char*>(p + run), n - run);
  out.push_back('"');
}

void appendJsonStringFromEscaped(std::string& out, std::string_view raw, bool canonical) {
  if (out.capacity() - out.size() < raw.size() + 2)
    out.reserve(std::max(out.capacity() * 2, out.size() + raw.size() + 2));
  out.push_back('"');
  if (canonical) {
    out.append(raw);
    out.push_back('"');
    return;
  }
  // One pass from the input's escapes to the canonical ones, the same bytes as
  // appendJsonString(decoded): the escapes it writes are kept, the others decoded.
  json_escapes::copyBetweenEscapes(out, raw, [&out, raw](std::size_t& i) {
    const char c = raw[i + 1];
    if (c != 'u' && c != '/') {
      out.append(raw.data() + i, 2);  // \" \\ \b \f \n \r \t: as appendJsonString writes them
      i += 2;
      return;
    }
    const std::uint32_t cp = json_escapes::decodeEscape(raw, i);
    if (cp < 0x80 && byteNeedsEscape(static_cast<unsigned char>(cp))) {
      appendEscape(out, static_cast<unsigned char>(cp));
    } else {
      json_escapes::appendUtf8(out, cp);
    }
  });
  out.push_back('"');
}

void appendJsonDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out.append("null", 4);
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  const std::size_t len = static_cast<std::size_t>(r.ptr - buf);
  out.append(buf, len);
  if (std::find_if(buf, r.ptr, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == r.ptr) {
    out.append(".0", 2);
  }
}

JsonWriter::JsonWriter(std::string&& buffer) : out_(std::move(buffer)) { out_.clear(); }

void JsonWriter::beforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (first_.back()) {
      first_.back() = false;
    } else {
      out_.push_back(',');
    }
  }
}

JsonWriter& JsonWriter::beginObject() {
  beforeValue();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::endObject() {
  assert(!first_.empty() && !after_key_);
  first_.pop_back();
  out_.push_back('}');
  return *this;
}

JsonWriter& JsonWriter::beginArray() {
  beforeValue();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::endArray() {
  assert(!first_.empty() && !after_key_);
  first_.pop_back();
  out_.push_back(']');
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  assert(!after_key_);
  beforeValue();
  appendJsonString(out_, k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  beforeValue();
  appendJsonString(out_, s);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  beforeValue();
  if (b) {
    out_.append("true", 4);
  } else {
    out_.append("false", 5);
  }
  return *this;
}

JsonWriter& JsonWriter::writeInt(std::int64_t v) {
  beforeValue();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out_.append(buf, static_cast<std::size_t>(r.ptr - buf));
  return *this;
}

JsonWriter& JsonWriter::writeUInt(std::uint64_t v) {
  beforeValue();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out_.append(buf, static_cast<std::size_t>(r.ptr - buf));
  return *this;
}

JsonWriter& JsonWriter::value(double d) {
  beforeValue();
  appendJsonDouble(out_, d);
  return *this;
}

JsonWriter& JsonWriter::null() {
  beforeValue();
  out_.append("null", 4);
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  beforeValue();
  out_.append(json);
  return *this;
}

JsonWriter& JsonWriter::value(const JsonValue& v) {
  using Kind = JsonValue::Kind;
  switch (v.kind()) {
    case Kind::Null:
      return null();
    case Kind::Bool:
      return value(*v.getBool());
    case Kind::Int:
      return writeInt(*v.rawInt());
    case Kind::UInt:
      return writeUInt(*v.rawUInt());
    case Kind::Double:
      return value(*v.rawDouble());
    case Kind::String: {
      bool canonical = false;
      if (const std::string_view* raw = v.escapedRaw(canonical)) {
        beforeValue();
        appendJsonStringFromEscaped(out_, *raw, canonical);
        return *this;
      }
      return value(*v.stringView());
    }
    case Kind::Array:
      beginArray();
      for (const JsonValue& item : *v.getArray()) value(item);
      return endArray();
    case Kind::Object:
      beginObject();
      for (const JsonMember& m : *v.getObject()) {
        key(m.key);
        value(m.value);
      }
      return endObject();
  }
  return *this;
}

std::string JsonWriter::take() {
  std::string s = std::move(out_);
  out_.clear();
  first_.clear();
  after_key_ = false;
  return s;
}

std::string toJson(const JsonValue& v) {
  JsonWriter w;
  w.value(v);
  return w.take();
}

namespace {

void appendPretty(std::string& out, const JsonValue& v, std::size_t indent) {
  const std::string inner(indent + 2, ' ');
  if (const JsonObject* obj = v.getObject(); obj != nullptr && !obj->empty()) {
    out += "{\n";
    for (std::size_t i = 0; i < obj->size(); ++i) {
      out += inner;
      appendJsonString(out, (*obj)[i].key);
      out += ": ";
      appendPretty(out, (*obj)[i].value, indent + 2);
      out += i + 1 < obj->size() ? ",\n" : "\n";
    }
    out.append(indent, ' ');
    out += '}';
  } else if (const JsonArray* arr = v.getArray(); arr != nullptr && !arr->empty()) {
    out += "[\n";
    for (std::size_t i = 0; i < arr->size(); ++i) {
      out += inner;
      appendPretty(out, (*arr)[i], indent + 2);
      out += i + 1 < arr->size() ? ",\n" : "\n";
    }
    out.append(indent, ' ');
    out += ']';
  } else {
    out += toJson(v);
  }
}

}  // namespace

std::string toPrettyJson(const JsonValue& v) {
  std::string out;
  appendPretty(out, v, 0);
  return out;
}

}  // namespace cosp::common
