#include "worker/accounts/no_usable_account.h"

#include <algorithm>
#include <limits>
#include <string>

namespace cosp::worker::accounts {

common::ApiError noUsableAccountError(const std::vector<AccountView>& views, std::int64_t now_ms,
                                      const std::vector<std::string>& allowed) {
  bool any_logged_in = false;
  std::int64_t earliest = std::numeric_limits<std::int64_t>::max();
  for (const AccountView& a : views) {
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), a.name) == allowed.end()) continue;
    if (!a.logged_in) continue;
    any_logged_in = true;
    if (!a.paused && a.cooling_until_ms > now_ms) earliest = std::min(earliest, a.cooling_until_ms);
  }
  if (earliest != std::numeric_limits<std::int64_t>::max()) {
    // Round up: a Retry-After that ends before the cooling would only earn the client another 429.
    const std::int64_t seconds = std::max<std::int64_t>(1, (earliest - now_ms + 999) / 1000);
    common::ApiError e{429,
                       "usage_limit_reached",
                       "Every ChatGPT account of this proxy has reached its usage limit; try again in " +
                           std::to_string(seconds) + " s.",
                       std::nullopt,
                       std::string("usage_limit_reached"),
                       std::nullopt};
    e.header = std::make_pair(std::string("Retry-After"), std::to_string(seconds));
    return e;
  }
  if (!any_logged_in)
    return common::ApiError{503,
                            "server_error",
                            "No ChatGPT account of this proxy is logged in; run codex-sub-proxy login.",
                            std::nullopt,
                            std::string("credentials_expired"),
                            std::nullopt};
  return common::ApiError{
      503,
      "server_error",
      "Every logged-in ChatGPT account of this proxy is paused (codex-sub-proxy-ctl accounts resume).",
      std::nullopt,
      std::string("accounts_paused"),
      std::nullopt};
}

}  // namespace cosp::worker::accounts
