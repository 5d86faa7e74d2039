#pragma once

#include <string_view>

namespace cosp::common {

// RFC 9110's small grammar pieces, in one place for every HTTP parser and writer of the project
// (client requests, upstream responses, headers copied between them).

// tchar: what a method or a header name is made of (RFC 9110 §5.6.2).
bool isTokenChar(unsigned char c);
// A non-empty token.
bool isToken(std::string_view s);
// A header value byte: VCHAR, SP, HTAB or obs-text (0x80-0xFF, so UTF-8 passes). Never CR, LF,
// NUL, DEL or another control byte: one of those in a value we write would split the message.
bool isFieldValueChar(unsigned char c);
bool isFieldValue(std::string_view s);
// 0-15 for a hex digit, -1 otherwise.
int hexDigitValue(char c);
// ASCII case-insensitive equality (header names, tokens).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace cosp::common
