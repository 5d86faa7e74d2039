#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace cosp::supervisor {

// When the supervisor asks the backend for the model catalog: pure, the time is a parameter.
//
//   - the first fetch as soon as a usable access token is held;
//   - then every `interval` (hourly);
//   - after a failure, again after retry_base, doubling per consecutive failure, never later
//     than `interval`;
//   - after a 401, at once when a fresher token (a higher credential generation) arrives, else
//     like any failure;
//   - at once when the credentials name another account than the last fetch's (the catalog is
//     per account), and when asked (fetchNow: the endpoint or the client version changed).
// One fetch at a time: nothing is due while one is in flight.
class CatalogSchedule {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Timing {
    std::chrono::milliseconds interval{std::chrono::hours(1)};
    std::chrono::milliseconds retry_base{std::chrono::minutes(1)};
  };
  enum class Outcome { Fetched, Unauthorized, Failed };

  CatalogSchedule(Timing timing, TimePoint now) : timing_(timing), next_(now) {}

  // The credentials a fetch would use: whether a token is usable now, its generation, its account.
  void onCredentials(bool usable, uint64_t generation, const std::string& account_id, TimePoint now);
  // When the next fetch is due; nullopt while one is in flight or no usable token is held.
  std::optional<TimePoint> nextFetch() const;
  bool due(TimePoint now) const {
    auto next = nextFetch();
    return next && now >= *next;
  }
  // A fetch with the token of `generation` for `account_id` went out.
  void onStarted(uint64_t generation, const std::string& account_id);
  // It came back. Fetched covers both a new catalog and 304 Not Modified.
  void onFinished(Outcome outcome, TimePoint now);
  void fetchNow(TimePoint now) { next_ = now; }

  bool inFlight() const { return in_flight_; }
  int consecutiveFailures() const { return failures_; }
  // Of the last fetch that went out (onStarted): its token's generation and its account.
  uint64_t startedGeneration() const { return started_generation_; }
  const std::string& startedAccount() const { return started_account_; }

 private:
  Timing timing_;
  TimePoint next_;
  bool in_flight_ = false;
  bool usable_ = false;
  uint64_t generation_ = 0;  // of the newest credentials
  std::string account_;      // of the newest credentials
  int failures_ = 0;
  uint64_t started_generation_ = 0;
  std::string started_account_;
  std::optional<uint64_t> refused_generation_;  // the token a 401 refused
  std::optional<std::string> fetched_account_;  // the account of the last fetch that went out
};

}  // namespace cosp::supervisor
