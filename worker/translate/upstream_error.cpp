#include "worker/translate/upstream_error.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/json/json_parser.h"

namespace cosp::worker {
namespace {

using common::ApiError;
using common::JsonValue;

constexpr std::size_t kMaxMessageBytes = 1000;

struct ErrorInfo {
  std::optional<std::string> type;
  std::optional<std::string> code;
  std::optional<std::string> message;
  std::optional<std::string> param;
  std::optional<std::string> plan_type;
  std::optional<std::int64_t> resets_at;
  std::optional<std::int64_t> resets_in_seconds;
  // An in-stream failure's own `status` / `status_code` (an HTTP status), when it has one.
  std::optional<std::int64_t> status;
  bool json = false;

  bool is(std::string_view name) const { return (type && *type == name) || (code && *code == name); }
};

std::string capMessage(std::string_view s) {
  if (s.size() <= kMaxMessageBytes) return std::string(s);
  std::size_t cut = kMaxMessageBytes;
  // Never cut a UTF-8 sequence in half.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "...";
}

std::optional<std::string> str(const JsonValue& obj, std::string_view key) {
  const auto v = common::jsonString(obj, key);
  if (!v || v->empty()) return std::nullopt;
  return capMessage(*v);
}

// Fills what `info` lacks from an error object. An event's own "type" names the event, not the
// error, so it is read only when `with_type`.
void readFields(const JsonValue& obj, ErrorInfo& info, bool with_type = true) {
  if (with_type && !info.type) info.type = str(obj, "type");
  if (!info.code) info.code = str(obj, "code");
  if (!info.message) info.message = str(obj, "message");
  if (!info.param) info.param = str(obj, "param");
  if (!info.plan_type) info.plan_type = str(obj, "plan_type");
  if (!info.resets_at) info.resets_at = common::jsonInt(obj, "resets_at");
  if (!info.resets_in_seconds) info.resets_in_seconds = common::jsonInt(obj, "resets_in_seconds");
}

// A numeric `status` or `status_code` that is an HTTP error status. (response.failed has a string
// `status`, "failed": not one.)
void readStatus(const JsonValue& obj, ErrorInfo& info) {
  for (const char* key : {"status_code", "status"}) {
    if (info.status) return;
    const auto v = common::jsonInt(obj, key);
    if (v && *v >= 400 && *v <= 599) info.status = v;
  }
}

// {"error":{...}}, {"detail":"..."} (FastAPI style), {"detail":{...}}, or flat fields.
ErrorInfo errorInfoFrom(const JsonValue& root) {
  ErrorInfo info;
  if (!root.isObject()) return info;
  info.json = true;
  if (const JsonValue* e = common::jsonObjectValue(root, "error")) readFields(*e, info);
  if (const JsonValue* d = root.find("detail")) {
    if (d->isString()) {
      if (!info.message) info.message = str(root, "detail");
    } else if (d->isObject()) {
      readFields(*d, info);
    }
  }
  readFields(root, info);
  if (const JsonValue* e = root.find("error"); e != nullptr && e->isString() && !info.message) {
    info.message = str(root, "error");
  }
  return info;
}

ErrorInfo errorInfoFromBody(std::string_view body) {
  auto parsed = common::parseJson(body, common::JsonParseOptions{32});
  if (!parsed.ok()) return {};
  return errorInfoFrom(parsed.value());
}

bool looksLikeHtml(std::string_view content_type, std::string_view body) {
  std::string ct(content_type);
  std::transform(ct.begin(), ct.end(), ct.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ct.find("text/html") != std::string::npos) return true;
  const auto first = body.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && body[first] == '<';
}

std::string humanDuration(std::int64_t seconds) {
  if (seconds >= 3600) {
    return std::to_string(seconds / 3600) + "h " + std::to_string((seconds % 3600) / 60) + "m";
  }
  if (seconds >= 60) return std::to_string(seconds / 60) + "m " + std::to_string(seconds % 60) + "s";
  return std::to_string(seconds) + "s";
}

// The backend's Retry-After header wins, then the body's reset fields.
std::optional<std::int64_t> retryAfterSeconds(const ErrorInfo& info, std::int64_t now,
                                              std::optional<std::int64_t> header) {
  // The relative resets_in_seconds wins over resets_at: it does not depend on our clock agreeing
  // with the backend's. resets_at is the fallback when it is the only hint.
  std::optional<std::int64_t> s;
  if (header) {
    s = *header;
  } else if (info.resets_in_seconds) {
    s = *info.resets_in_seconds;
  } else if (info.resets_at && now > 0) {
    s = *info.resets_at - now;
  }
  if (s && *s < 1) s = 1;
  return s;
}

// "Please try again in 1.5s" / "in 300ms" / "in 20 seconds" -> whole seconds (rounded up).
std::optional<std::int64_t> retryFromMessage(const std::optional<std::string>& message) {
  if (!message) return std::nullopt;
  std::string lower = *message;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::size_t p = lower.find("try again in");
  if (p == std::string::npos) return std::nullopt;
  std::size_t i = p + 12;
  while (i < lower.size() && lower[i] == ' ') ++i;
  std::size_t j = i;
  while (j < lower.size() && (std::isdigit(static_cast<unsigned char>(lower[j])) || lower[j] == '.')) ++j;
  if (j == i) return std::nullopt;
  double value = 0;
  try {
    value = std::stod(lower.substr(i, j - i));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  while (j < lower.size() && lower[j] == ' ') ++j;
  if (lower.compare(j, 2, "ms") == 0) value /= 1000.0;
  const auto secs = static_cast<std::int64_t>(std::ceil(value));
  return std::max<std::int64_t>(secs, 1);
}

void setRetryAfter(ApiError& e, std::optional<std::int64_t> seconds) {
  if (seconds) e.header = std::make_pair(std::string("Retry-After"), std::to_string(*seconds));
}

ApiError make(int status, std::string type, std::string message, std::optional<std::string> code,
              std::optional<std::string> param = std::nullopt) {
  ApiError e;
  e.status = status;
  e.type = std::move(type);
  e.message = std::move(message);
  e.code = std::move(code);
  e.param = std::move(param);
  return e;
}

// A usage limit: error.type and error.code are both usage_limit_reached, because the Codex CLI
// reads `type` to tell a usage limit from another 429.
ApiError usageLimit(const ErrorInfo& info, std::int64_t now, std::optional<std::int64_t> header = std::nullopt) {
  const auto retry = retryAfterSeconds(info, now, header);
  std::string message = info.message.value_or("The ChatGPT usage limit for this account has been reached.");
  std::string detail;
  if (info.plan_type) detail = "plan: " + *info.plan_type;
  if (retry) {
    if (!detail.empty()) detail += "; ";
    detail += "resets in " + humanDuration(*retry);
  }
  if (!detail.empty()) message += " (" + detail + ")";
  ApiError e = make(429, "usage_limit_reached", std::move(message), std::string("usage_limit_reached"));
  setRetryAfter(e, retry);
  return e;
}

bool messageHas(const ErrorInfo& info, std::string_view needle) {
  if (!info.message) return false;
  std::string lower = *info.message;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find(needle) != std::string::npos;
}

bool isOverloaded(const ErrorInfo& info) {
  if (info.is("server_is_overloaded") || info.is("overloaded") || info.is("slow_down")) return true;
  return messageHas(info, "overloaded");
}

// "Selected model is at capacity. Please try a different model." comes with varying codes (or
// none): the message is what identifies it.
bool isAtCapacity(const ErrorInfo& info) { return info.is("model_at_capacity") || messageHas(info, "at capacity"); }

// cyber_policy, content_policy_violation, ...: the backend refuses this request; its message says why.
bool isPolicyRefusal(const ErrorInfo& info) {
  const auto has = [](const std::optional<std::string>& s) { return s && s->find("policy") != std::string::npos; };
  return has(info.code) || has(info.type);
}

// retryAfterSeconds, else a "try again in" in the message.
std::optional<std::int64_t> retryHint(const ErrorInfo& info, std::int64_t now, std::optional<std::int64_t> header) {
  if (auto s = retryAfterSeconds(info, now, header)) return s;
  return retryFromMessage(info.message);
}

ApiError atCapacity(const ErrorInfo& info, std::int64_t now, std::optional<std::int64_t> header) {
  ApiError e = make(503, "upstream_error", info.message.value_or("The selected model is at capacity."),
                    std::string("model_at_capacity"));
  setRetryAfter(e, retryHint(info, now, header).value_or(5));
  return e;
}

ApiError overloaded(const ErrorInfo& info, std::int64_t now, std::optional<std::int64_t> header) {
  ApiError e = make(503, "upstream_error", info.message.value_or("The Codex backend is overloaded."),
                    std::string("server_is_overloaded"));
  setRetryAfter(e, retryHint(info, now, header).value_or(5));
  return e;
}

ApiError usageNotIncluded(const ErrorInfo& info) {
  return make(403, "permission_error",
              info.message.value_or("This ChatGPT plan does not include Codex; retrying cannot help."),
              std::string("usage_not_included"));
}

std::string withUpstreamMessage(std::string base, const ErrorInfo& info) {
  if (info.message) base += ": " + *info.message;
  return base;
}

// One HTTP error status with what its body said -> the client's error. `in_stream`: the status
// came inside a failure event (its `status` field), so the backend itself answered: a 403 there
// is no Cloudflare challenge.
ApiError mapStatus(int status, bool html, const ErrorInfo& info, std::int64_t now, std::optional<std::int64_t> header,
                   bool in_stream) {
  if (info.is("usage_not_included") && status >= 400 && status < 500) return usageNotIncluded(info);
  if (info.is("usage_limit_reached") && (status == 429 || status == 404 || status == 403)) {
    return usageLimit(info, now, header);
  }
  if (!html && isAtCapacity(info)) return atCapacity(info, now, header);
  if (status == 429) {
    ApiError e =
        make(429, "rate_limit_error", info.message.value_or("The Codex backend is rate limiting this account."),
             info.code.value_or("rate_limit_exceeded"));
    setRetryAfter(e, retryHint(info, now, header));
    return e;
  }
  if (status == 401) {
    return make(503, "upstream_error",
                "The Codex backend rejected the proxy's credentials (401) even after a token refresh. "
                "Run 'codex-sub-proxy login' if this persists.",
                std::string("upstream_auth_error"));
  }
  if (html || (status == 403 && !in_stream)) {
    if (html || !info.message) {
      return make(502, "upstream_error",
                  "The Codex backend answered HTTP " + std::to_string(status) + (html ? " with an HTML page" : "") +
                      "; this is probably a Cloudflare challenge against the proxy's connection, "
                      "not a problem with your request. Try again later, or check HTTPS_PROXY and the "
                      "host's network.",
                  std::string("upstream_blocked"));
    }
    return make(502, "upstream_error", withUpstreamMessage("The Codex backend refused the request (403)", info),
                info.code.value_or("upstream_forbidden"));
  }
  if (status == 503 && isOverloaded(info)) return overloaded(info, now, header);
  if (status >= 500) {
    return make(502, "upstream_error",
                withUpstreamMessage("The Codex backend failed with HTTP " + std::to_string(status), info),
                std::string("upstream_error"));
  }
  if (status == 404) {
    if (info.is("model_not_found")) {
      return make(404, "invalid_request_error", info.message.value_or("The model does not exist."),
                  std::string("model_not_found"), std::string("model"));
    }
    if (!in_stream) {
      return make(502, "upstream_error",
                  "The Codex backend answered 404 Not Found; check CODEX_BASE_URL and CODEX_RESPONSES_PATH.",
                  std::string("upstream_not_found"));
    }
  }
  if (status >= 400) {
    // 400 and the rest of 4xx: the client's request was refused; pass the reason on.
    const int out = status == 422 ? 400 : status;
    return make(out, status == 403 ? "permission_error" : "invalid_request_error",
                info.message.value_or("The Codex backend rejected the request (HTTP " + std::to_string(status) + ")."),
                info.code, info.param);
  }
  return make(502, "upstream_error",
              "The Codex backend answered with unexpected HTTP status " + std::to_string(status) + ".",
              std::string("upstream_error"));
}

}  // namespace

ApiError mapUpstreamError(int status, std::string_view content_type, std::string_view body,
                          std::int64_t now_unix_seconds, std::optional<std::int64_t> retry_after_header) {
  const bool html = looksLikeHtml(content_type, body);
  const ErrorInfo info = html ? ErrorInfo{} : errorInfoFromBody(body);
  return mapStatus(status, html, info, now_unix_seconds, retry_after_header, /*in_stream=*/false);
}

ApiError mapStreamFailureJson(const JsonValue& event, std::int64_t now_unix_seconds) {
  ErrorInfo info;
  if (event.isObject()) {
    // response.failed: {"type":"response.failed","response":{"error":{...}}}
    if (const JsonValue* resp = common::jsonObjectValue(event, "response")) {
      if (const JsonValue* e = common::jsonObjectValue(*resp, "error")) {
        readFields(*e, info);
        readStatus(*e, info);
      }
    }
    // error event: {"type":"error","code","message","param"} or {"type":"error","error":{...}}
    if (const JsonValue* e = common::jsonObjectValue(event, "error")) {
      readFields(*e, info);
      readStatus(*e, info);
    }
    readFields(event, info, /*with_type=*/false);
    readStatus(event, info);
  }
  if (!info.message) info.message = "The Codex backend reported a failure mid-response.";
  // The event's own HTTP status wins over what its code would map to.
  if (info.status) return mapStatus(static_cast<int>(*info.status), false, info, now_unix_seconds, {}, true);
  const std::string& message = *info.message;
  if (isAtCapacity(info)) return atCapacity(info, now_unix_seconds, std::nullopt);
  if (info.is("usage_limit_reached")) return usageLimit(info, now_unix_seconds);
  if (info.is("rate_limit_exceeded") || info.is("insufficient_quota")) {
    // is() matched the code, or the type when there is no code (never *info.type unchecked: the
    // first case of this branch has a code and no type).
    std::string code = info.code ? *info.code : info.type.value_or("rate_limit_exceeded");
    ApiError e = make(429, "rate_limit_error", message, std::move(code));
    setRetryAfter(e, retryHint(info, now_unix_seconds, std::nullopt));
    return e;
  }
  if (info.is("context_length_exceeded")) {
    return make(400, "invalid_request_error", message, std::string("context_length_exceeded"), info.param);
  }
  if (isOverloaded(info)) return overloaded(info, now_unix_seconds, std::nullopt);
  if (info.is("usage_not_included")) return usageNotIncluded(info);
  if (isPolicyRefusal(info)) return make(400, "invalid_request_error", message, info.code ? info.code : info.type);
  const bool invalid =
      (info.code && info.code->starts_with("invalid")) || (info.type && *info.type == "invalid_request_error");
  if (invalid) return make(400, "invalid_request_error", message, info.code, info.param);
  return make(502, "upstream_error", message, info.code.value_or("upstream_error"));
}

ApiError mapStreamFailure(std::string_view event_data, std::int64_t now_unix_seconds) {
  auto parsed = common::parseJson(event_data, common::JsonParseOptions{64});
  if (!parsed.ok()) {
    return make(502, "upstream_error", "The Codex backend reported a failure mid-response.",
                std::string("upstream_error"));
  }
  return mapStreamFailureJson(parsed.value(), now_unix_seconds);
}

ApiError upstreamTruncatedError() {
  return make(502, "upstream_error", "The Codex backend closed the stream before the response was complete.",
              std::string("upstream_stream_truncated"));
}

ApiError upstreamMalformedEventError() {
  return make(502, "upstream_error", "The Codex backend ended the response with a malformed event.",
              std::string("upstream_malformed_event"));
}

ApiError upstreamIdleTimeoutError() {
  return make(502, "upstream_error", "The Codex backend stopped sending data (idle timeout).",
              std::string("upstream_idle_timeout"));
}

ApiError upstreamTimeoutError() {
  return make(504, "upstream_error", "The Codex backend did not answer in time.", std::string("upstream_timeout"));
}

ApiError upstreamUnavailableError(std::string_view detail) {
  std::string message = "The Codex backend could not be reached";
  if (!detail.empty()) message += ": " + capMessage(detail);
  message += ".";
  return make(502, "upstream_error", std::move(message), std::string("upstream_unavailable"));
}

ApiError upstreamEventTooLargeError(std::uint64_t limit_bytes) {
  return make(502, "upstream_error",
              "The Codex backend sent an event larger than this proxy's limit of " + std::to_string(limit_bytes) +
                  " bytes (MAX_EVENT_BYTES); the response was cut there.",
              std::string("upstream_event_too_large"));
}

ApiError upstreamResponseTooLargeError(std::uint64_t limit_bytes) {
  return make(502, "upstream_error",
              "The Codex backend's response grew past this proxy's limit of " + std::to_string(limit_bytes) +
                  " bytes for a non-streaming answer; ask for a stream (\"stream\": true) instead.",
              std::string("upstream_response_too_large"));
}

ApiError requestTimeoutError(std::int64_t timeout_ms) {
  const std::string limit =
      timeout_ms % 1000 == 0 ? std::to_string(timeout_ms / 1000) + " s" : std::to_string(timeout_ms) + " ms";
  return make(504, "upstream_error",
              "The Codex backend did not finish the response within " + limit +
                  " (REQUEST_TIMEOUT); ask for a stream (\"stream\": true) for long answers.",
              std::string("upstream_timeout"));
}

}  // namespace cosp::worker
