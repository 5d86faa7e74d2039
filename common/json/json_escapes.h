#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/json/swar.h"

// Decoding of JSON string escapes in text the parser has already validated (an escaped view,
// JsonValue::escapedView): no error paths here, the parser refused anything malformed.
namespace cosp::common::json_escapes {

void appendUtf8(std::string& out, std::uint32_t cp);

// Decodes the escape at raw[i] (a backslash) and moves i past it. \uD800-\uDBFF followed by
// \uDC00-\uDFFF is one code point; a lone surrogate becomes U+FFFD (UTF-8 cannot hold it),
// exactly as the parser decodes.
std::uint32_t decodeEscape(std::string_view raw, std::size_t& i);

// Copies `raw` to `out` run by run up to each backslash and hands every escape to
// `on_escape(i)`, which appends what it stands for and moves i past it.
template <class OnEscape>
inline void copyBetweenEscapes(std::string& out, std::string_view raw, OnEscape&& on_escape) {
  std::size_t i = 0;
  while (i < raw.size()) {
    // An inline SSE2 scan: memchr's call costs more than the short runs between escapes.
    const std::size_t stop =
        i + swar::findBackslash(reinterpret_cast<const unsigned char*>(raw.data()) + i, raw.size() - i);
    out.append(raw.data() + i, stop - i);
    i = stop;
    if (i < raw.size()) on_escape(i);
  }
}

// Appends the decoded text of validated escaped string contents (without the quotes).
void appendUnescaped(std::string& out, std::string_view raw);

}  // namespace cosp::common::json_escapes
