// A model call without a usable token waits for the supervisor's next credentials
// (worker/calls/credentials_wait.h): the verdict table, the wait against a CredentialsCache fed
// from another thread, and the per-worker deduplication of refresh requests.
#include "worker/calls/credentials_wait.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace cosp::worker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using common::CredentialState;
using common::WorkerCredentials;

constexpr int64_t kNowMs = 1'750'000'000'000;

WorkerCredentials credentials(CredentialState state, std::string token, int64_t expires_at_ms, uint64_t generation) {
  WorkerCredentials c;
  c.state = state;
  c.access_token = std::move(token);
  c.expires_at_ms = expires_at_ms;
  c.generation = generation;
  return c;
}

TEST(JudgeCredentials, UseWaitOrRefuse) {
  // Usable: held and not expired (or of unknown expiry).
  EXPECT_EQ(judgeCredentials(credentials(CredentialState::Ok, "t", kNowMs + 1, 1), kNowMs), CredentialsVerdict::Use);
  EXPECT_EQ(judgeCredentials(credentials(CredentialState::Ok, "t", 0, 1), kNowMs), CredentialsVerdict::Use);
  EXPECT_EQ(judgeCredentials(credentials(CredentialState::Refreshing, "t", kNowMs + 1, 1), kNowMs),
            CredentialsVerdict::Use);
  // Expired (before the first refresh after a start, during one, or while it keeps failing).
  for (CredentialState s : {CredentialState::Ok, CredentialState::Refreshing, CredentialState::RefreshFailing}) {
    EXPECT_EQ(judgeCredentials(credentials(s, "t", kNowMs, 1), kNowMs), CredentialsVerdict::Wait) << s;
  }
  // No token yet while the supervisor refreshes (a start with only a refresh token).
  EXPECT_EQ(judgeCredentials(credentials(CredentialState::Refreshing, "", 0, 0), kNowMs), CredentialsVerdict::Wait);
  EXPECT_EQ(judgeCredentials(credentials(CredentialState::RefreshFailing, "", 0, 0), kNowMs), CredentialsVerdict::Wait);
  // Only a login helps: answer at once.
  EXPECT_EQ(judgeCredentials(credentials(CredentialState::NeedsLogin, "", 0, 2), kNowMs), CredentialsVerdict::Refuse);
  EXPECT_EQ(judgeCredentials(credentials(CredentialState::NoCredentials, "", 0, 0), kNowMs),
            CredentialsVerdict::Refuse);
}

// Hooks that record the refresh requests and let a test wait for the first one.
struct RecordingHooks {
  RecordingHooks() {
    hooks.request_refresh = [this](uint64_t generation) {
      std::lock_guard<std::mutex> lock(mu);
      requests.push_back(generation);
      asked.notify_all();
    };
    hooks.client_gone = [this] { return gone.load(); };
    hooks.now_ms = [] { return kNowMs; };
  }
  bool waitForRequest(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu);
    return asked.wait_for(lock, timeout, [&] { return !requests.empty(); });
  }
  std::vector<uint64_t> requested() {
    std::lock_guard<std::mutex> lock(mu);
    return requests;
  }

  CredentialsWaitHooks hooks;
  std::atomic<bool> gone{false};
  std::mutex mu;
  std::condition_variable asked;
  std::vector<uint64_t> requests;
};

TEST(WaitForCredentials, AUsableTokenOrALoginOnlyStateAnswersAtOnceWithoutARequest) {
  CredentialsCache cache;
  RecordingHooks r;
  cache.set(credentials(CredentialState::Ok, "t", kNowMs + 60'000, 3));
  EXPECT_EQ(waitForCredentials(cache, Clock::now() + 10s, r.hooks)->access_token, "t");
  cache.set(credentials(CredentialState::NeedsLogin, "", 0, 4));
  const auto start = Clock::now();
  EXPECT_EQ(waitForCredentials(cache, Clock::now() + 10s, r.hooks)->state, CredentialState::NeedsLogin);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_TRUE(r.requested().empty());
}

// A wait on `cache` (up to 10 s) while the supervisor, once asked for a refresh, sends `next`.
struct Answered {
  std::shared_ptr<const WorkerCredentials> got;
  Clock::duration took;
};
Answered waitAnsweredWith(CredentialsCache& cache, RecordingHooks& r, const WorkerCredentials& next) {
  std::thread supervisor([&] {
    ASSERT_TRUE(r.waitForRequest());
    cache.set(next);
  });
  const auto start = Clock::now();
  auto got = waitForCredentials(cache, start + 10s, r.hooks);
  const auto took = Clock::now() - start;
  supervisor.join();
  return {std::move(got), took};
}

TEST(WaitForCredentials, AnExpiredTokenWaitsForTheNextGenerationAndAsksForIt) {
  CredentialsCache cache;
  cache.set(credentials(CredentialState::Refreshing, "old", kNowMs - 1, 1));
  RecordingHooks r;
  const Answered a = waitAnsweredWith(cache, r, credentials(CredentialState::Ok, "new", kNowMs + 3'600'000, 2));
  EXPECT_EQ(a.got->access_token, "new");
  EXPECT_EQ(a.got->generation, 2u);
  EXPECT_LT(a.took, 5s);  // woken by the update, not by the end of the wait
  ASSERT_FALSE(r.requested().empty());
  EXPECT_EQ(r.requested().front(), 1u);
}

TEST(WaitForCredentials, NoTokenYetWaitsForTheFirstRefresh) {
  CredentialsCache cache;
  cache.set(credentials(CredentialState::Refreshing, "", 0, 0));
  RecordingHooks r;
  EXPECT_EQ(waitAnsweredWith(cache, r, credentials(CredentialState::Ok, "first", 0, 1)).got->access_token, "first");
}

TEST(WaitForCredentials, APermanentFailureEndsTheWaitAtOnce) {
  // needs_login arrives with no token and (for a start without one) the same generation: any
  // message wakes the wait, not only a new generation.
  CredentialsCache cache;
  cache.set(credentials(CredentialState::Refreshing, "", 0, 0));
  RecordingHooks r;
  const Answered a = waitAnsweredWith(cache, r, credentials(CredentialState::NeedsLogin, "", 0, 0));
  EXPECT_EQ(a.got->state, CredentialState::NeedsLogin);
  EXPECT_LT(a.took, 5s);
}

TEST(WaitForCredentials, EndsAtTheTimeLimitWithTheUnusableCredentials) {
  CredentialsCache cache;
  cache.set(credentials(CredentialState::RefreshFailing, "old", kNowMs - 1, 5));
  RecordingHooks r;
  const auto start = Clock::now();
  auto got = waitForCredentials(cache, start + 300ms, r.hooks, 50ms);
  const auto took = Clock::now() - start;
  EXPECT_EQ(got->generation, 5u);
  EXPECT_EQ(judgeCredentials(*got, kNowMs), CredentialsVerdict::Wait);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  // Asked each slice (the caller's hook deduplicates), always for the generation it holds.
  const std::vector<uint64_t> asked = r.requested();
  EXPECT_GE(asked.size(), 2u);
  for (uint64_t g : asked) EXPECT_EQ(g, 5u);
}

TEST(WaitForCredentials, AClientThatLeftEndsTheWaitWithinASlice) {
  CredentialsCache cache;
  cache.set(credentials(CredentialState::Refreshing, "old", kNowMs - 1, 1));
  RecordingHooks r;
  std::thread client([&] {
    ASSERT_TRUE(r.waitForRequest());
    r.gone = true;
  });
  const auto start = Clock::now();
  auto got = waitForCredentials(cache, start + 30s, r.hooks, 50ms);
  const auto took = Clock::now() - start;
  client.join();
  EXPECT_EQ(got->generation, 1u);
  EXPECT_LT(took, 5s);
}

TEST(CredentialsCache, ARefreshRequestPerGenerationThenOncePerInterval) {
  CredentialsCache cache;
  const auto t0 = Clock::now();
  EXPECT_TRUE(cache.claimRefreshRequest(4, t0, 1s));
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(cache.claimRefreshRequest(4, t0 + 10ms * i, 1s));  // 20 waiting calls
  EXPECT_TRUE(cache.claimRefreshRequest(4, t0 + 1s, 1s));  // calls still wait on the same generation
  EXPECT_FALSE(cache.claimRefreshRequest(4, t0 + 1500ms, 1s));
  EXPECT_TRUE(cache.claimRefreshRequest(5, t0 + 1500ms, 1s));  // a newer generation: at once
  EXPECT_FALSE(cache.claimRefreshRequest(5, t0 + 1600ms, 1s));
}

TEST(CredentialsCache, WaitChangedWakesOnAnyUpdate) {
  CredentialsCache cache;
  auto seen = cache.get();
  EXPECT_EQ(cache.waitChanged(seen, Clock::now() + 20ms), seen);  // nothing sent: the same snapshot
  std::thread supervisor([&] { cache.set(credentials(CredentialState::Refreshing, "", 0, 0)); });
  auto got = cache.waitChanged(seen, Clock::now() + 10s);
  supervisor.join();
  EXPECT_NE(got, seen);
  EXPECT_EQ(got->state, CredentialState::Refreshing);
}

}  // namespace
}  // namespace cosp::worker
