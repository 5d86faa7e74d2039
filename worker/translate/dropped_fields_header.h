#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cosp::worker {

// The value of the x-codex-sub-proxy-dropped response header: the removed request fields, comma
// separated. Field names come from the client's JSON keys, so they can hold anything ("\r\n"
// included: that once injected a header and a whole second response) and be any number.
inline constexpr std::size_t kDroppedFieldsHeaderMaxBytes = 1024;

// A field name made safe for a header value and unambiguous in the list: every byte outside
// visible ASCII (0x21-0x7E), and '%' and ',' themselves, become %XX (upper-case hex).
std::string escapeDroppedFieldName(std::string_view name);

// "temperature, top_p": `names` escaped and joined with ", ", at most kDroppedFieldsHeaderMaxBytes.
// When not every field is shown (`total` counts them all, named or not; names that do not fit
// stop the list) the value ends with "...(+N more)". Empty when total is 0.
std::string droppedFieldsHeader(const std::vector<std::string>& names, std::size_t total);

}  // namespace cosp::worker
