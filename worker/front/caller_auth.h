#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cosp::worker {

// Caller authentication against PROXY_API_KEY (one or several keys). Pure, so it tests without
// sockets. The key may come as `Authorization: Bearer KEY` or `x-api-key: KEY` (Anthropic-style
// clients and some gateways). Every configured key is compared, each in constant time, so neither
// the position of a mismatch nor which key matched shows in the timing.
class CallerAuth {
 public:
  explicit CallerAuth(std::vector<std::string> keys) : keys_(std::move(keys)) {}

  bool enabled() const { return !keys_.empty(); }
  // `authorization` and `x_api_key` are the raw header values, if present.
  bool allows(std::optional<std::string_view> authorization, std::optional<std::string_view> x_api_key) const;
  // The index of the PROXY_API_KEY key presented (its name is env-<index+1>), if any. Every key is
  // compared in constant time; which one matched is decided after all comparisons.
  std::optional<std::size_t> matchIndex(std::optional<std::string_view> authorization,
                                        std::optional<std::string_view> x_api_key) const;

 private:
  std::vector<std::string> keys_;
};

// The key of `Authorization: Bearer KEY` (trimmed), or nullopt for another scheme.
std::optional<std::string_view> bearerToken(std::string_view authorization);

// Constant-time (for equal lengths; length itself is not secret) string comparison.
bool constantTimeEquals(std::string_view a, std::string_view b);

}  // namespace cosp::worker
