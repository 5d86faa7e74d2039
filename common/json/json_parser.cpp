#include "common/json/json_parser.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/json/swar.h"

namespace cosp::common {
namespace {

// Non-zero when any of the 8 bytes needs the slow path inside a string:
// '"', '\\', a control character (< 0x20) or a non-ASCII byte (UTF-8 check).
inline std::uint64_t needsAttention(std::uint64_t w) { return swar::nonAscii(w) | swar::needsEscape(w); }

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  Parser(std::string_view text, const JsonParseOptions& options)
      : p_(reinterpret_cast<const unsigned char*>(text.data())), n_(text.size()), options_(options) {}

  Result<JsonValue, JsonParseError> run() {
    // A UTF-8 BOM is not JSON, but some Windows tools emit one; skipping it is harmless.
    if (n_ >= 3 && p_[0] == 0xEF && p_[1] == 0xBB && p_[2] == 0xBF) pos_ = 3;
    JsonValue root;
    skipWs();
    if (!parseValue(root, 0)) return takeError();
    skipWs();
    if (pos_ != n_) {
      fail("unexpected characters after the JSON value");
      return takeError();
    }
    return root;
  }

 private:
  bool fail(const char* message) {
    if (error_.message.empty()) {
      error_.message = message;
      error_.offset = pos_;
    }
    return false;
  }
  JsonParseError takeError() {
    if (error_.message.empty()) error_.message = "invalid JSON";
    return std::move(error_);
  }

  void skipWs() {
    while (pos_ < n_) {
      const unsigned char c = p_[pos_];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  bool parseValue(JsonValue& out, std::size_t depth) {
    if (pos_ >= n_) return fail("unexpected end of input");
    switch (p_[pos_]) {
      case '{':
        return parseObject(out, depth + 1);
      case '[':
        return parseArray(out, depth + 1);
      case '"': {
        std::string s;
        bool borrowed = false;
        const std::size_t start = pos_ + 1;
        if (!parseString(s, options_.borrow_strings ? &borrowed : nullptr)) return false;
        if (borrowed) {
          out = JsonValue::borrowed(std::string_view(reinterpret_cast<const char*>(p_ + start), pos_ - start - 1));
        } else {
          out = JsonValue(std::move(s));
        }
        return true;
      }
      case 't':
        return parseLiteral("true", JsonValue(true), out);
      case 'f':
        return parseLiteral("false", JsonValue(false), out);
      case 'n':
        return parseLiteral("null", JsonValue(), out);
      default:
        return parseNumber(out);
    }
  }

  bool parseLiteral(std::string_view word, JsonValue value, JsonValue& out) {
    if (n_ - pos_ < word.size() || std::memcmp(p_ + pos_, word.data(), word.size()) != 0) {
      return fail("invalid literal");
    }
    pos_ += word.size();
    out = std::move(value);
    return true;
  }

  bool parseObject(JsonValue& out, std::size_t depth) {
    if (depth > options_.max_depth) return fail("maximum nesting depth exceeded");
    ++pos_;  // '{'
    JsonObject members;
    skipWs();
    if (pos_ < n_ && p_[pos_] == '}') {
      ++pos_;
      out = JsonValue(std::move(members));
      return true;
    }
    for (;;) {
      skipWs();
      if (pos_ >= n_) return fail("unexpected end of input in object");
      if (p_[pos_] != '"') return fail("expected a string key");
      JsonMember m;
      if (!parseString(m.key)) return false;
      skipWs();
      if (pos_ >= n_ || p_[pos_] != ':') return fail("expected ':' after key");
      ++pos_;
      skipWs();
      if (!parseValue(m.value, depth)) return false;
      members.push_back(std::move(m));
      skipWs();
      if (pos_ >= n_) return fail("unexpected end of input in object");
      if (p_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (p_[pos_] == '}') {
        ++pos_;
        out = JsonValue(std::move(members));
        return true;
      }
      return fail("expected ',' or '}' in object");
    }
  }

  bool parseArray(JsonValue& out, std::size_t depth) {
    if (depth > options_.max_depth) return fail("maximum nesting depth exceeded");
    ++pos_;  // '['
    JsonArray items;
    skipWs();
    if (pos_ < n_ && p_[pos_] == ']') {
      ++pos_;
      out = JsonValue(std::move(items));
      return true;
    }
    for (;;) {
      skipWs();
      items.emplace_back();
      if (!parseValue(items.back(), depth)) return false;
      skipWs();
      if (pos_ >= n_) return fail("unexpected end of input in array");
      if (p_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (p_[pos_] == ']') {
        ++pos_;
        out = JsonValue(std::move(items));
        return true;
      }
      return fail("expected ',' or ']' in array");
    }
  }

  // Length of the valid UTF-8 sequence starting at pos_ (lead byte >= 0x80), or 0.
  std::size_t utf8SequenceLength() const {
    const unsigned char c = p_[pos_];
    const std::size_t left = n_ - pos_;
    auto cont = [&](std::size_t i) { return i < left && (p_[pos_ + i] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
      if (left < 3 || !cont(1) || !cont(2)) return 0;
      const unsigned char c1 = p_[pos_ + 1];
      if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
      if (c == 0xED && c1 > 0x9F) return 0;  // UTF-16 surrogate
      return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
      const unsigned char c1 = p_[pos_ + 1];
      if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
      if (c == 0xF4 && c1 > 0x8F) return 0;  // above U+10FFFF
      return 4;
    }
    return 0;
  }

  bool readHex4(std::uint32_t& out) {
    if (n_ - pos_ < 4) return fail("truncated \\u escape");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const unsigned char c = p_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return fail("invalid \\u escape");
      }
    }
    pos_ += 4;
    out = v;
    return true;
  }

  bool parseEscape(std::string& out) {
    // pos_ is just past the backslash
    if (pos_ >= n_) return fail("unterminated string");
    const unsigned char c = p_[pos_++];
    switch (c) {
      case '"':
        out.push_back('"');
        return true;
      case '\\':
        out.push_back('\\');
        return true;
      case '/':
        out.push_back('/');
        return true;
      case 'b':
        out.push_back('\b');
        return true;
      case 'f':
        out.push_back('\f');
        return true;
      case 'n':
        out.push_back('\n');
        return true;
      case 'r':
        out.push_back('\r');
        return true;
      case 't':
        out.push_back('\t');
        return true;
      case 'u': {
        std::uint32_t cp = 0;
        if (!readHex4(cp)) return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // High surrogate: combine with a following \uDC00-\uDFFF.
          if (n_ - pos_ >= 6 && p_[pos_] == '\\' && p_[pos_ + 1] == 'u') {
            const std::size_t save = pos_;
            pos_ += 2;
            std::uint32_t low = 0;
            if (!readHex4(low)) return false;
            if (low >= 0xDC00 && low <= 0xDFFF) {
              appendUtf8(out, 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00));
              return true;
            }
            pos_ = save;  // not a pair: the next escape is handled on its own
          }
          appendUtf8(out, 0xFFFD);  // lone surrogate cannot be UTF-8; replace it
          return true;
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          appendUtf8(out, 0xFFFD);
          return true;
        }
        appendUtf8(out, cp);
        return true;
      }
      default:
        --pos_;
        return fail("invalid escape sequence");
    }
  }

  // Reads a string into `out`. With `borrowed` set, a string that has no escape
  // is not copied: *borrowed becomes true and `out` stays empty (the caller
  // views the input between the quotes).
  bool parseString(std::string& out, bool* borrowed = nullptr) {
    ++pos_;  // opening quote
    const std::size_t start = pos_;
    std::size_t run = pos_;
    for (;;) {
      // Fast path: 8 bytes at a time while nothing needs attention.
      while (n_ - pos_ >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p_ + pos_, 8);
        if (needsAttention(w) != 0) break;
        pos_ += 8;
      }
      if (pos_ >= n_) return fail("unterminated string");
      const unsigned char c = p_[pos_];
      if (c == '"') {
        // Short strings stay owned: they fit std::string's inline buffer anyway.
        if (borrowed != nullptr && run == start && pos_ - start > 15) {
          *borrowed = true;
        } else {
          out.append(reinterpret_cast<const char*>(p_ + run), pos_ - run);
        }
        ++pos_;
        return true;
      }
      if (c == '\\') {
        out.append(reinterpret_cast<const char*>(p_ + run), pos_ - run);
        ++pos_;
        if (!parseEscape(out)) return false;
        run = pos_;
        continue;
      }
      if (c < 0x20) return fail("control character in string");
      if (c >= 0x80) {
        const std::size_t len = utf8SequenceLength();
        if (len == 0) return fail("invalid UTF-8 in string");
        pos_ += len;
        continue;
      }
      ++pos_;
    }
  }

  bool parseNumber(JsonValue& out) {
    const std::size_t start = pos_;
    auto digit = [&](std::size_t i) { return i < n_ && p_[i] >= '0' && p_[i] <= '9'; };
    std::size_t i = pos_;
    if (i < n_ && p_[i] == '-') ++i;
    if (!digit(i)) return fail("invalid value");
    if (p_[i] == '0') {
      ++i;
      if (digit(i)) return fail("leading zero in number");
    } else {
      while (digit(i)) ++i;
    }
    bool integral = true;
    if (i < n_ && p_[i] == '.') {
      integral = false;
      ++i;
      if (!digit(i)) return fail("invalid number");
      while (digit(i)) ++i;
    }
    if (i < n_ && (p_[i] == 'e' || p_[i] == 'E')) {
      integral = false;
      ++i;
      if (i < n_ && (p_[i] == '+' || p_[i] == '-')) ++i;
      if (!digit(i)) return fail("invalid number");
      while (digit(i)) ++i;
    }
    const char* first = reinterpret_cast<const char*>(p_ + start);
    const char* last = reinterpret_cast<const char*>(p_ + i);
    pos_ = i;
    if (integral) {
      std::int64_t v = 0;
      auto r = std::from_chars(first, last, v);
      if (r.ec == std::errc() && r.ptr == last) {
        out = JsonValue(static_cast<long long>(v));
        return true;
      }
      if (*first != '-') {
        std::uint64_t u = 0;
        auto ru = std::from_chars(first, last, u);
        if (ru.ec == std::errc() && ru.ptr == last) {
          out = JsonValue(static_cast<unsigned long long>(u));
          return true;
        }
      }
      // Too big for 64 bits: fall through to double, like JavaScript.
    }
    double d = 0;
    auto rd = std::from_chars(first, last, d);
    if (rd.ec == std::errc::result_out_of_range && rd.ptr == last) {
      // from_chars reports underflow and overflow alike. strtod (C locale: nothing
      // in these programs calls setlocale) tells them apart: underflow becomes
      // 0 or a denormal, as in JavaScript; overflow is refused (no JSON infinity).
      const std::string copy(first, last);
      d = std::strtod(copy.c_str(), nullptr);
      if (d == HUGE_VAL || d == -HUGE_VAL) {
        pos_ = start;
        return fail("number out of range");
      }
      out = JsonValue(d);
      return true;
    }
    if (rd.ec != std::errc() || rd.ptr != last) {
      pos_ = start;
      return fail("invalid number");
    }
    out = JsonValue(d);
    return true;
  }

  const unsigned char* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  JsonParseOptions options_;
  JsonParseError error_;
};

}  // namespace

Result<JsonValue, JsonParseError> parseJson(std::string_view text, const JsonParseOptions& options) {
  try {
    Parser parser(text, options);
    return parser.run();
  } catch (const std::bad_alloc&) {
    return JsonParseError{"out of memory while parsing JSON", 0};
  }
}

std::optional<JsonValue> parseJsonObject(std::string_view text, const JsonParseOptions& options) {
  auto parsed = parseJson(text, options);
  if (!parsed.ok() || !parsed.value().isObject()) return std::nullopt;
  return std::move(parsed).value();
}

}  // namespace cosp::common
