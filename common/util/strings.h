#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cosp::common {

// ASCII lower-casing (header names, schemes, option values); bytes >= 0x80 are left alone.
std::string toLower(std::string_view s);
// Without leading and trailing ASCII white space.
std::string_view trimView(std::string_view s);
inline std::string trim(std::string_view s) { return std::string(trimView(s)); }
// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF), as JSON text must be.
bool isValidUtf8(std::string_view s);
// A comma-separated list, items trimmed, empty items dropped.
std::vector<std::string> splitList(std::string_view value);

// Empties `s`, and gives its memory back when it grew beyond `keep` bytes. For buffers that live
// as long as a held stream: clear() keeps the capacity of the largest burst (the first events of
// a stream carry the whole response object), and a worker holds thousands of such buffers.
inline void clearAndTrim(std::string& s, std::size_t keep = 2048) {
  if (s.capacity() > keep)
    std::string().swap(s);
  else
    s.clear();
}

}  // namespace cosp::common
