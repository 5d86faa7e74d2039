#include "common/keys/key_policy.h"

#include <algorithm>

namespace cosp::common::keys {

namespace {

ApiError rateLimited(const std::string& type, std::string message, std::int64_t retry_after) {
  ApiError error{429, type, std::move(message), std::nullopt, std::string("rate_limit_exceeded"), {}};
  error.header = std::make_pair(std::string("Retry-After"), std::to_string(std::max<std::int64_t>(1, retry_after)));
  return error;
}

// One token limit as it stands now.
struct TokenLimit {
  const char* what;  // for the message
  std::int64_t limit;
  std::int64_t used;
  std::int64_t reset;  // seconds until the used count drops
  std::int64_t retry;  // seconds until a call is admitted again (when exhausted)
};

std::vector<TokenLimit> tokenLimits(const KeyEntry& key, LimitsZone& zone, std::uint32_t slot, std::int64_t now) {
  std::vector<TokenLimit> limits;
  KeySlot& s = zone.slot(slot);
  if (key.tpm) {
    std::int64_t used = s.tokens.used(now);
    limits.push_back({"tokens per min (TPM)", *key.tpm, used,
                      s.tokens.secondsUntilBelow(now, std::max<std::int64_t>(1, used)),
                      s.tokens.secondsUntilBelow(now, *key.tpm)});
  }
  if (key.daily_tokens) {
    std::int64_t used = zone.dayTokens(slot, now);
    std::int64_t end = utcDayEnd(now) - now;
    limits.push_back({"tokens per day", *key.daily_tokens, used, used > 0 ? end : 0, end});
  }
  if (key.monthly_tokens) {
    std::int64_t used = zone.monthTokens(slot, now);
    std::int64_t end = utcMonthEnd(now) - now;
    limits.push_back({"tokens per month", *key.monthly_tokens, used, used > 0 ? end : 0, end});
  }
  return limits;
}

std::string limitMessage(const std::string& name, const char* what, std::int64_t limit, std::int64_t used,
                         std::int64_t retry) {
  return "Rate limit reached for key '" + name + "' on " + what + ": Limit " + std::to_string(limit) + ", Used " +
         std::to_string(used) + ". Please try again in " + resetDuration(std::max<std::int64_t>(1, retry)) + ".";
}

}  // namespace

std::string resetDuration(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  std::int64_t h = seconds / 3600, m = seconds % 3600 / 60, s = seconds % 60;
  std::string out;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(s) + "s";
  return out;
}

bool modelAllowed(const KeyEntry& key, std::string_view model, std::string_view base_model) {
  if (key.models.empty()) return true;
  for (const auto& allowed : key.models)
    if (allowed == model || allowed == base_model) return true;
  return false;
}

bool accountAllowed(const KeyEntry& key, std::string_view account) {
  if (key.accounts.empty()) return true;
  return std::find(key.accounts.begin(), key.accounts.end(), account) != key.accounts.end();
}

std::optional<ApiError> keyStateError(const KeyEntry& key, std::int64_t now) {
  if (key.disabled) return ApiError::unauthorized("This API key is disabled.");
  if (key.expires_at && now >= *key.expires_at)
    return ApiError::unauthorized("This API key expired at " + key.expires_at_text + ".");
  return std::nullopt;
}

KeyDecision decideKeyCall(const KeyCall& call, LimitsZone& zone) {
  KeyDecision decision;
  const KeyEntry& key = *call.key;
  if (auto error = keyStateError(key, call.now)) {
    decision.error = std::move(error);
    return decision;
  }
  if (!modelAllowed(key, call.model, call.base_model)) {
    decision.error = ApiError{403,
                              "invalid_request_error",
                              "This API key may not use the model '" + std::string(call.model) + "'.",
                              std::string("model"),
                              std::string("model_not_allowed"),
                              {}};
    return decision;
  }

  // Token limits: the tightest (least remaining) names the headers; any exhausted one refuses.
  std::vector<TokenLimit> tokens = tokenLimits(key, zone, call.slot, call.now);
  const TokenLimit* tightest = nullptr;
  const TokenLimit* refusing = nullptr;
  for (const TokenLimit& t : tokens) {
    if (tightest == nullptr || t.limit - t.used < tightest->limit - tightest->used) tightest = &t;
    if (t.used >= t.limit && (refusing == nullptr || t.retry > refusing->retry)) refusing = &t;
  }
  auto addTokenHeaders = [&] {
    if (tightest == nullptr) return;
    decision.headers.emplace_back("x-ratelimit-limit-tokens", std::to_string(tightest->limit));
    decision.headers.emplace_back("x-ratelimit-remaining-tokens",
                                  std::to_string(std::max<std::int64_t>(0, tightest->limit - tightest->used)));
    decision.headers.emplace_back("x-ratelimit-reset-tokens", resetDuration(tightest->reset));
  };
  KeySlot& s = zone.slot(call.slot);
  auto addRequestHeaders = [&] {
    if (!key.rpm) return;
    std::int64_t used = s.requests.used(call.now);
    decision.headers.emplace_back("x-ratelimit-limit-requests", std::to_string(*key.rpm));
    decision.headers.emplace_back("x-ratelimit-remaining-requests",
                                  std::to_string(std::max<std::int64_t>(0, *key.rpm - used)));
    decision.headers.emplace_back("x-ratelimit-reset-requests", resetDuration(s.requests.secondsUntilBelow(
                                                                    call.now, std::max<std::int64_t>(1, used))));
  };

  if (refusing != nullptr) {
    decision.error =
        rateLimited("tokens", limitMessage(key.name, refusing->what, refusing->limit, refusing->used, refusing->retry),
                    refusing->retry);
    addRequestHeaders();
    addTokenHeaders();
    return decision;
  }

  if (key.max_concurrent) {
    if (!zone.acquireLease(call.lease_row, call.slot, *key.max_concurrent)) {
      decision.error = rateLimited("requests",
                                   "Too many concurrent requests for key '" + key.name + "': Limit " +
                                       std::to_string(*key.max_concurrent) + ". Please try again in 1s.",
                                   1);
      addRequestHeaders();
      addTokenHeaders();
      return decision;
    }
    decision.lease = LeaseGuard(&zone, call.lease_row, call.slot);
  }

  if (key.rpm && !zone.tryAdmitRequest(call.slot, call.now, *key.rpm)) {
    decision.lease.release();
    std::int64_t used = s.requests.used(call.now);
    std::int64_t retry = s.requests.secondsUntilBelow(call.now, *key.rpm);
    decision.error =
        rateLimited("requests", limitMessage(key.name, "requests per min (RPM)", *key.rpm, used, retry), retry);
  }
  addRequestHeaders();
  addTokenHeaders();
  return decision;
}

}  // namespace cosp::common::keys
