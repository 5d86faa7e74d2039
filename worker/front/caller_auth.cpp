#include "worker/front/caller_auth.h"

#include "common/util/http_syntax.h"

namespace cosp::worker {

bool constantTimeEquals(std::string_view a, std::string_view b) {
  // Compare over the longer length so the loop count does not depend on where they differ.
  size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned char diff = static_cast<unsigned char>(a.size() != b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::optional<std::string_view> bearerToken(std::string_view value) {
  if (value.size() <= 7 || !common::equalsIgnoreCase(value.substr(0, 7), "bearer ")) return std::nullopt;
  value.remove_prefix(7);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

std::optional<std::size_t> CallerAuth::matchIndex(std::optional<std::string_view> authorization,
                                                  std::optional<std::string_view> x_api_key) const {
  std::optional<std::string_view> bearer = authorization ? bearerToken(*authorization) : std::nullopt;
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    bool match = false;
    if (bearer) match |= constantTimeEquals(*bearer, keys_[i]);
    if (x_api_key) match |= constantTimeEquals(*x_api_key, keys_[i]);
    if (match && !found) found = i;
  }
  return found;
}

bool CallerAuth::allows(std::optional<std::string_view> authorization,
                        std::optional<std::string_view> x_api_key) const {
  return !enabled() || matchIndex(authorization, x_api_key).has_value();
}

}  // namespace cosp::worker
