#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "worker/upstream/upstream_types.h"

namespace cosp::worker {

// What happened on one upstream attempt, as far as retrying is concerned.
struct AttemptOutcome {
  // Set when send() failed (no head).
  std::optional<UpstreamFailure::Kind> failure;
  // The response status when a head arrived (0 otherwise).
  int status = 0;
  // The code of the client error an upstream error body, or an SSE `error` /
  // `response.failed` event seen before anything was relayed, maps to
  // (mapUpstreamError / mapStreamFailure): "server_is_overloaded" and
  // "model_at_capacity" are retried whatever the status. For such an event,
  // `status` is the status it maps to, so a 5xx-class failure is retried too.
  std::string_view error_code;
  // True once ANY byte went to the client: nothing is retried after that.
  bool client_bytes_sent = false;
  // The backend's Retry-After header, when it sent one.
  std::optional<std::chrono::seconds> retry_after;
};

struct RetryOptions {
  int max_retries = 2;                        // retries, not attempts
  std::chrono::milliseconds base_delay{200};  // first retry's nominal delay
  std::chrono::milliseconds max_delay{5000};  // cap after doubling
  double jitter = 0.25;                       // +-25 % around the nominal delay
};

// Pure retry decisions (README.md, Model calls: Errors): retry before the first client byte only, on
// connect-class errors, a reset before the head, 5xx (except 501/505, which are
// permanent), `server_is_overloaded` and `model_at_capacity`; back off 200 ms, 400 ms, ... with
// jitter. Thread-safe when the injected RNG is.
class RetryPolicy {
 public:
  // Returns a uniform double in [0, 1). Default: a thread-local SplitMix64.
  using Uniform01 = std::function<double()>;

  explicit RetryPolicy(RetryOptions options = {}, Uniform01 rng = {});

  // Whether this outcome is retryable at all (ignores the retry budget).
  static bool isRetryable(const AttemptOutcome& outcome);
  // `retries_done` = retries already performed (0 after the first attempt).
  bool shouldRetry(const AttemptOutcome& outcome, int retries_done) const;
  // The wait before retry number `retry_index` (0-based): base * 2^index,
  // capped at max_delay, times a factor in [1 - jitter, 1 + jitter).
  std::chrono::milliseconds delayFor(int retry_index) const;
  // The same, unless the backend asked for a Retry-After shorter than kLongestRetryAfter: then
  // exactly that (a longer one is not waited for: the back-off applies).
  std::chrono::milliseconds delayFor(const AttemptOutcome& outcome, int retry_index) const;

  static constexpr std::chrono::seconds kLongestRetryAfter{5};

  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
  Uniform01 rng_;
};

}  // namespace cosp::worker
