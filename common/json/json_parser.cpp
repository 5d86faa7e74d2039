#include "common/json/json_parser.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/json/json_escapes.h"
#include "common/json/swar.h"

namespace cosp::common {
namespace {

using json_escapes::appendUtf8;

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
  [[gnu::cold, gnu::noinline]] bool fail(const char* message) {
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

  // The recursion is parseValue -> parseObject/parseArray -> parseValue, so every level of
  // nesting costs their two frames. They are kept small, with everything else out of line:
  // a connection thread keeps every stack page it ever touched while it holds a stream, and
  // with the former inlined scalars (~720 bytes a level) parsing a request body was the
  // deepest point of every held stream's stack (perf page-faults on a worker, issue 17).
  bool parseValue(JsonValue& out, std::size_t depth) {
    if (pos_ >= n_) return fail("unexpected end of input");
    switch (p_[pos_]) {
      case '{':
        return parseObject(out, depth + 1);
      case '[':
        return parseArray(out, depth + 1);
      default:
        return parseScalar(out);
    }
  }

  [[gnu::noinline]] bool parseScalar(JsonValue& out) {
    switch (p_[pos_]) {
      case '"': {
        if (options_.borrow_strings) return parseViewedString(out);
        std::string s;
        if (!parseString(s)) return false;
        out = JsonValue(std::move(s));
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

  [[gnu::noinline]] bool parseObject(JsonValue& out, std::size_t depth) {
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
      // Parsed in place: a JsonMember on this frame would be one more per level of nesting.
      JsonMember& m = members.emplace_back();
      if (!parseString(m.key)) return false;
      skipWs();
      if (pos_ >= n_ || p_[pos_] != ':') return fail("expected ':' after key");
      ++pos_;
      skipWs();
      if (!parseValue(m.value, depth)) return false;
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

  [[gnu::noinline]] bool parseArray(JsonValue& out, std::size_t depth) {
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

  // Decodes (kDecode) or only checks one escape. `canonical` is cleared when the escape is
  // not the one appendJsonString would write for the same character (\/, \u00e9, \u0022,
  // upper-case hex...): such a string cannot be copied to the output verbatim.
  template <bool kDecode>
  bool parseEscape(std::string& out, bool& canonical) {
    // pos_ is just past the backslash
    if (pos_ >= n_) return fail("unterminated string");
    const unsigned char c = p_[pos_++];
    auto put = [&](char ch) {
      if constexpr (kDecode) out.push_back(ch);
    };
    auto putCp = [&](std::uint32_t cp) {
      if constexpr (kDecode) appendUtf8(out, cp);
    };
    switch (c) {
      case '"':
        put('"');
        return true;
      case '\\':
        put('\\');
        return true;
      case '/':
        canonical = false;
        put('/');
        return true;
      case 'b':
        put('\b');
        return true;
      case 'f':
        put('\f');
        return true;
      case 'n':
        put('\n');
        return true;
      case 'r':
        put('\r');
        return true;
      case 't':
        put('\t');
        return true;
      case 'u': {
        std::uint32_t cp = 0;
        const std::size_t hex_at = pos_;
        if (!readHex4(cp)) return false;
        if (canonical && !isCanonicalUEscape(cp, hex_at)) canonical = false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // High surrogate: combine with a following \uDC00-\uDFFF.
          if (n_ - pos_ >= 6 && p_[pos_] == '\\' && p_[pos_ + 1] == 'u') {
            const std::size_t save = pos_;
            pos_ += 2;
            std::uint32_t low = 0;
            if (!readHex4(low)) return false;
            if (low >= 0xDC00 && low <= 0xDFFF) {
              putCp(0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00));
              return true;
            }
            pos_ = save;  // not a pair: the next escape is handled on its own
          }
          putCp(0xFFFD);  // lone surrogate cannot be UTF-8; replace it
          return true;
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          putCp(0xFFFD);
          return true;
        }
        putCp(cp);
        return true;
      }
      default:
        --pos_;
        return fail("invalid escape sequence");
    }
  }

  // True when the \u escape whose 4 hex digits start at hex_at is what appendJsonString
  // writes for cp: a control character without a short form, in lower-case hex.
  bool isCanonicalUEscape(std::uint32_t cp, std::size_t hex_at) const {
    if (cp >= 0x20 || cp == '\b' || cp == '\f' || cp == '\n' || cp == '\r' || cp == '\t') return false;
    static constexpr char kHex[] = "0123456789abcdef";
    return p_[hex_at] == '0' && p_[hex_at + 1] == '0' && p_[hex_at + 2] == kHex[cp >> 4] &&
           p_[hex_at + 3] == kHex[cp & 0xF];
  }

  // A string value with JsonParseOptions::borrow_strings: validated in one pass without
  // decoding, then kept as a view of the input (no escape), an escaped view (escapes, issue
  // 17: written back verbatim, decoded only if read) or, when short, an owned copy.
  bool parseViewedString(JsonValue& out) {
    const std::size_t start = pos_ + 1;
    bool has_escape = false;
    bool canonical = true;
    std::string unused;
    if (!stringLoop<false>(unused, &has_escape, canonical)) return false;
    const std::string_view raw(reinterpret_cast<const char*>(p_ + start), pos_ - start - 1);
    // Short strings stay owned: they fit std::string's inline buffer anyway.
    if (raw.size() <= 15) {
      std::string s;
      if (has_escape) {
        json_escapes::appendUnescaped(s, raw);
      } else {
        s.assign(raw);
      }
      out = JsonValue(std::move(s));
    } else if (has_escape) {
      out = JsonValue::escapedView(raw, canonical);
    } else {
      out = JsonValue::borrowed(raw);
    }
    return true;
  }

  // Reads a string (keys, and values without borrow_strings) decoded into `out`.
  bool parseString(std::string& out) {
    bool canonical = true;
    return stringLoop<true>(out, nullptr, canonical);
  }

  // The string at pos_ (its opening quote): decoded into `out` (kDecode) or only validated;
  // *has_escape tells whether it had any escape. Same checks and errors either way.
  template <bool kDecode>
  bool stringLoop(std::string& out, bool* has_escape, bool& canonical) {
    ++pos_;  // opening quote
    std::size_t run = pos_;
    for (;;) {
      // Fast path: 16 (SSE2) or 8 bytes at a time to the next byte that needs attention.
      pos_ += swar::findStringSpecial(p_ + pos_, n_ - pos_);
      if (pos_ >= n_) return fail("unterminated string");
      const unsigned char c = p_[pos_];
      if (c == '"') {
        if constexpr (kDecode) out.append(reinterpret_cast<const char*>(p_ + run), pos_ - run);
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if constexpr (kDecode) out.append(reinterpret_cast<const char*>(p_ + run), pos_ - run);
        if (has_escape != nullptr) *has_escape = true;
        ++pos_;
        if (!parseEscape<kDecode>(out, canonical)) return false;
        run = pos_;
        continue;
      }
      if (c < 0x20) return fail("control character in string");
      if (c >= 0x80) {
        // Non-Latin text is runs of multi-byte sequences: check the whole run here.
        do {
          const std::size_t len = utf8SequenceLength();
          if (len == 0) return fail("invalid UTF-8 in string");
          pos_ += len;
        } while (pos_ < n_ && p_[pos_] >= 0x80);
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
