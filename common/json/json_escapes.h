#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Decoding of JSON string escapes in text the parser has already validated (an escaped view,
// JsonValue::escapedView): no error paths here, the parser refused anything malformed.
namespace cosp::common::json_escapes {

void appendUtf8(std::string& out, std::uint32_t cp);

// Decodes the escape at raw[i] (a backslash) and moves i past it. \uD800-\uDBFF followed by
// \uDC00-\uDFFF is one code point; a lone surrogate becomes U+FFFD (UTF-8 cannot hold it),
// exactly as the parser decodes.
std::uint32_t decodeEscape(std::string_view raw, std::size_t& i);

// Appends the decoded text of validated escaped string contents (without the quotes).
void appendUnescaped(std::string& out, std::string_view raw);

}  // namespace cosp::common::json_escapes
