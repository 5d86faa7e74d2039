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
// A comma-separated list, items trimmed, empty items dropped.
std::vector<std::string> splitList(std::string_view value);

}  // namespace cosp::common
