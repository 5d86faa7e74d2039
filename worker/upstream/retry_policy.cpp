#include "worker/upstream/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/util/split_mix64.h"

namespace cosp::worker {

namespace {

double defaultUniform01() {
  thread_local common::SplitMix64 engine = common::SplitMix64::fromRandomDevice();
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

RetryPolicy::RetryPolicy(RetryOptions options, Uniform01 rng) : options_(options), rng_(std::move(rng)) {
  if (!rng_) rng_ = &defaultUniform01;
}

bool RetryPolicy::isRetryable(const AttemptOutcome& o) {
  if (o.client_bytes_sent) return false;
  // "Selected model is at capacity" passes like an overload (upstream_error.h maps both).
  if (o.error_code == "server_is_overloaded" || o.error_code == "model_at_capacity") return true;
  if (o.failure) {
    switch (*o.failure) {
      case UpstreamFailure::Kind::ConnectFailed:
      case UpstreamFailure::Kind::ConnectTimeout:
      case UpstreamFailure::Kind::ProxyFailed:
      case UpstreamFailure::Kind::ResetBeforeHead:
        return true;
      // A certificate problem, a malformed request, a bad response, a head that
      // took the whole budget or a cancelled request will not get better.
      case UpstreamFailure::Kind::TlsFailed:
      case UpstreamFailure::Kind::InvalidRequest:
      case UpstreamFailure::Kind::SendFailed:
      case UpstreamFailure::Kind::HeadTimeout:
      case UpstreamFailure::Kind::BadResponse:
      case UpstreamFailure::Kind::Cancelled:
        return false;
    }
    return false;
  }
  return o.status >= 500 && o.status <= 599 && o.status != 501 && o.status != 505;
}

bool RetryPolicy::shouldRetry(const AttemptOutcome& outcome, int retries_done) const {
  return retries_done < options_.max_retries && isRetryable(outcome);
}

std::chrono::milliseconds RetryPolicy::delayFor(int retry_index) const {
  const double base = static_cast<double>(options_.base_delay.count());
  const double cap = static_cast<double>(options_.max_delay.count());
  const double nominal = std::min(cap, base * std::pow(2.0, std::clamp(retry_index, 0, 30)));
  const double u = std::clamp(rng_(), 0.0, 1.0);
  const double factor = 1.0 - options_.jitter + 2.0 * options_.jitter * u;
  return std::chrono::milliseconds(static_cast<long long>(std::llround(std::max(0.0, nominal * factor))));
}

std::chrono::milliseconds RetryPolicy::delayFor(const AttemptOutcome& outcome, int retry_index) const {
  if (outcome.retry_after && *outcome.retry_after < kLongestRetryAfter) {
    return std::max(std::chrono::milliseconds(*outcome.retry_after), std::chrono::milliseconds(0));
  }
  return delayFor(retry_index);
}

}  // namespace cosp::worker
