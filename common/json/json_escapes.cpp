#include "common/json/json_escapes.h"

#include <cstring>

#include "common/json/swar.h"

namespace cosp::common::json_escapes {
namespace {

std::uint32_t hex4(const char* p) {
  std::uint32_t v = 0;
  for (int k = 0; k < 4; ++k) {
    const char c = p[k];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<std::uint32_t>(c - 'a' + 10);
    } else {
      v |= static_cast<std::uint32_t>(c - 'A' + 10);
    }
  }
  return v;
}

}  // namespace

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    const char b[2] = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 2);
  } else if (cp < 0x10000) {
    const char b[3] = {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                       static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 3);
  } else {
    const char b[4] = {static_cast<char>(0xF0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
                       static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 4);
  }
}

std::uint32_t decodeEscape(std::string_view raw, std::size_t& i) {
  const char c = raw[i + 1];
  i += 2;
  switch (c) {
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'u':
      break;
    default:
      return static_cast<unsigned char>(c);  // '"', '\\' or '/'
  }
  const std::uint32_t cp = hex4(raw.data() + i);
  i += 4;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (raw.size() - i >= 6 && raw[i] == '\\' && raw[i + 1] == 'u') {
      const std::uint32_t low = hex4(raw.data() + i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        i += 6;
        return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
    }
    return 0xFFFD;
  }
  if (cp >= 0xDC00 && cp <= 0xDFFF) return 0xFFFD;
  return cp;
}

void appendUnescaped(std::string& out, std::string_view raw) {
  out.reserve(out.size() + raw.size());  // decoding never grows the text
  copyBetweenEscapes(out, raw, [&out, raw](std::size_t& i) { appendUtf8(out, decodeEscape(raw, i)); });
}

}  // namespace cosp::common::json_escapes
