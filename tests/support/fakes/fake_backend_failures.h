#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cosp::test {

// A failure the real backend reports inside a 200 stream, after `response.created`,
// `response.in_progress` and a `codex.rate_limits` event (docs: ../shared/BACKEND.md).
struct FailureSpec {
  enum class Kind { ResponseFailed, ErrorEvent };
  Kind kind = Kind::ResponseFailed;
  // server_is_overloaded, context_length_exceeded, usage_limit_reached, rate_limit_exceeded,
  // insufficient_quota, usage_not_included, cyber_policy, server_error; `at_capacity` is
  // "Selected model is at capacity..." with code server_error, `at_capacity_no_code` the same
  // without a code. Any other code gets a generic message.
  std::string code;
  std::optional<int> status;  // carried in the event as "status" (an HTTP-ish status)
  bool after_output = false;  // one output_text delta goes out before the failure
};

struct FailureBody {
  std::optional<std::string> code;  // nullopt: the event has no code
  std::string message;
  std::optional<std::string> type;   // usage_limit_reached / usage_not_included
  std::optional<std::string> param;  // "input" for context_length_exceeded
  bool resets = false;               // plan_type, resets_at, resets_in_seconds (usage limit)
};

// The error the backend reports for `code`, with its real-looking message.
FailureBody failureBody(std::string_view code);

inline constexpr std::int64_t kFakeResetsInSeconds = 3600;

// The whole SSE transcript (events separated by blank lines) for `spec`; `model` is echoed in
// the response objects, `now_s` is the Unix time the resets are counted from.
std::string failureTranscript(const FailureSpec& spec, std::string_view model, std::int64_t now_s);

}  // namespace cosp::test
