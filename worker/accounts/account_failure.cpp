#include "worker/accounts/account_failure.h"

#include <algorithm>
#include <string_view>

namespace cosp::worker::accounts {

namespace {

bool isUsageLimitCode(std::string_view code) {
  return code == "usage_limit_reached" || code == "usage_limit_exceeded" || code == "rate_limit_exceeded";
}

// The window whose reset ends the limit: the exhausted one (>= 100 %), else the fuller one.
std::int64_t exhaustedWindowReset(const QuotaWindows& w, std::int64_t now_s) {
  auto reset = [now_s](const QuotaWindow& q) -> std::int64_t {
    if (q.reset_after_seconds >= 0) return q.reset_after_seconds;
    if (q.reset_at >= 0) return q.reset_at - now_s;
    return -1;
  };
  const QuotaWindow* first = &w.primary;
  const QuotaWindow* second = &w.secondary;
  if (second->used_percent > first->used_percent) std::swap(first, second);
  // The weekly window can be exhausted while the 5 h one is too; the later reset is the real end.
  if (first->used_percent >= 100 && second->used_percent >= 100) return std::max(reset(*first), reset(*second));
  const std::int64_t r = reset(*first);
  return r >= 0 ? r : reset(*second);
}

std::int64_t usageLimitSeconds(const FailureFacts& f, std::int64_t now_s) {
  if (f.retry_after_s && *f.retry_after_s >= 0) return *f.retry_after_s;
  if (f.resets_in_seconds && *f.resets_in_seconds >= 0) return *f.resets_in_seconds;
  if (f.resets_at && *f.resets_at > 0) return *f.resets_at - now_s;
  const std::int64_t w = exhaustedWindowReset(f.windows, now_s);
  return w >= 0 ? w : kDefaultCoolingSeconds;
}

}  // namespace

AccountFailure classifyAccountFailure(const FailureFacts& facts, std::int64_t now_ms) {
  const std::int64_t now_s = now_ms / 1000;
  if (facts.code == "account_deactivated") return {AccountFailureKind::Deactivated, 0};
  if (facts.code == "usage_not_included" && (facts.status == 0 || (facts.status >= 400 && facts.status < 500)))
    return {AccountFailureKind::UsageNotIncluded, now_ms + kUsageNotIncludedCoolingSeconds * 1000};
  // The backend's overload and capacity answers (RetryPolicy retries them) are about the model or
  // the service, not this account, even when they come as a 429 ("Selected model is at capacity").
  if (facts.code == "server_is_overloaded" || facts.code == "model_at_capacity") return {};
  const bool no_status_or_4xx = facts.status == 0 || (facts.status >= 400 && facts.status < 500);
  if (facts.status == 429 || (no_status_or_4xx && isUsageLimitCode(facts.code))) {
    const std::int64_t s = std::clamp<std::int64_t>(usageLimitSeconds(facts, now_s), 1, kMaxCoolingSeconds);
    return {AccountFailureKind::UsageLimit, now_ms + s * 1000};
  }
  if (facts.status == 401 && facts.after_refresh) return {AccountFailureKind::Unauthorized, 0};
  return {};
}

namespace {

void readError(const common::JsonValue& obj, FailureFacts& f, bool with_type) {
  if (f.code.empty()) {
    if (auto c = common::jsonString(obj, "code"); c && !c->empty()) f.code = std::string(*c);
  }
  if (f.code.empty() && with_type) {
    if (auto t = common::jsonString(obj, "type"); t && !t->empty()) f.code = std::string(*t);
  }
  if (!f.resets_in_seconds) f.resets_in_seconds = common::jsonInt(obj, "resets_in_seconds");
  if (!f.resets_at) f.resets_at = common::jsonInt(obj, "resets_at");
}

// A numeric status / status_code that is an HTTP error status (response.failed's "status" is the
// string "failed": not one).
void readStatus(const common::JsonValue& obj, std::optional<int>& status) {
  for (const char* key : {"status_code", "status"}) {
    if (status) return;
    const auto v = common::jsonInt(obj, key);
    if (v && *v >= 400 && *v <= 599) status = static_cast<int>(*v);
  }
}

}  // namespace

FailureFacts backendErrorFields(const common::JsonValue& root, int http_status) {
  FailureFacts f;
  std::optional<int> status;
  if (root.isObject()) {
    if (const common::JsonValue* resp = common::jsonObjectValue(root, "response")) {
      if (const common::JsonValue* e = common::jsonObjectValue(*resp, "error")) {
        readError(*e, f, true);
        readStatus(*e, status);
      }
    }
    if (const common::JsonValue* e = common::jsonObjectValue(root, "error")) {
      readError(*e, f, true);
      readStatus(*e, status);
    }
    if (const common::JsonValue* d = common::jsonObjectValue(root, "detail")) readError(*d, f, true);
    // An event's own "type" names the event (response.failed, error), not the error.
    const auto type = common::jsonString(root, "type");
    const bool is_event = type && (*type == "error" || *type == "response.failed");
    readError(root, f, !is_event);
    readStatus(root, status);
  }
  f.status = status.value_or(http_status);
  return f;
}

}  // namespace cosp::worker::accounts
