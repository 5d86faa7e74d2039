#include "worker/translate/dropped_fields_header.h"

#include <algorithm>

namespace cosp::worker {

namespace {

// Room kept for ", ...(+18446744073709551615 more)" while names are added.
constexpr std::size_t kMoreSuffixReserve = 40;

}  // namespace

std::string escapeDroppedFieldName(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(name.size());
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x21 && c <= 0x7E && c != '%' && c != ',') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string droppedFieldsHeader(const std::vector<std::string>& names, std::size_t total) {
  total = std::max(total, names.size());
  std::string out;
  std::size_t shown = 0;
  for (const std::string& name : names) {
    const std::string escaped = escapeDroppedFieldName(name);
    const std::size_t separator = out.empty() ? 0 : 2;
    const bool last = shown + 1 == total;
    const std::size_t reserve = last ? 0 : kMoreSuffixReserve;
    if (out.size() + separator + escaped.size() + reserve > kDroppedFieldsHeaderMaxBytes) break;
    if (separator != 0) out += ", ";
    out += escaped;
    ++shown;
  }
  if (shown < total) {
    if (!out.empty()) out += ", ";
    out += "...(+" + std::to_string(total - shown) + " more)";
  }
  return out;
}

}  // namespace cosp::worker
