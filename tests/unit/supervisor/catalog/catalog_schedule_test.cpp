// When the supervisor fetches the model catalog: the schedule against a manual clock.
#include "supervisor/catalog/catalog_schedule.h"

#include <gtest/gtest.h>

namespace cosp::supervisor {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Outcome = CatalogSchedule::Outcome;
using TimePoint = CatalogSchedule::TimePoint;

const TimePoint t0 = TimePoint(hours(1000));

CatalogSchedule started() {
  CatalogSchedule s(CatalogSchedule::Timing{}, t0);
  s.onCredentials(true, 1, "acct-1", t0);
  return s;
}

// After a first successful fetch with token 1 of acct-1 at t0.
CatalogSchedule fetched() {
  CatalogSchedule s = started();
  s.onStarted(1, "acct-1");
  s.onFinished(Outcome::Fetched, t0);
  return s;
}

TEST(CatalogSchedule, WaitsForAUsableTokenThenFetchesAtOnce) {
  CatalogSchedule s(CatalogSchedule::Timing{}, t0);
  EXPECT_EQ(s.nextFetch(), std::nullopt);
  EXPECT_FALSE(s.due(t0 + hours(5)));
  s.onCredentials(false, 0, "", t0 + seconds(1));  // needs_login, no_credentials, …
  EXPECT_EQ(s.nextFetch(), std::nullopt);
  s.onCredentials(true, 1, "acct-1", t0 + seconds(2));
  EXPECT_TRUE(s.due(t0 + seconds(2)));
}

TEST(CatalogSchedule, HourlyAfterSuccessAndOneAtATime) {
  CatalogSchedule s = started();
  s.onStarted(1, "acct-1");
  EXPECT_EQ(s.nextFetch(), std::nullopt);  // in flight
  EXPECT_TRUE(s.inFlight());
  s.onFinished(Outcome::Fetched, t0 + seconds(1));
  EXPECT_EQ(s.nextFetch(), t0 + seconds(1) + hours(1));
  EXPECT_FALSE(s.due(t0 + minutes(59)));
  EXPECT_TRUE(s.due(t0 + seconds(1) + hours(1)));
}

TEST(CatalogSchedule, FailuresRetrySoonerDoublingUpToTheInterval) {
  CatalogSchedule s = started();
  TimePoint now = t0;
  std::vector<seconds> delays;
  for (int i = 0; i < 9; ++i) {
    s.onStarted(1, "acct-1");
    s.onFinished(Outcome::Failed, now);
    delays.push_back(std::chrono::duration_cast<seconds>(*s.nextFetch() - now));
    now = *s.nextFetch();
  }
  EXPECT_EQ(delays, (std::vector<seconds>{minutes(1), minutes(2), minutes(4), minutes(8), minutes(16), minutes(32),
                                          hours(1), hours(1), hours(1)}));
  EXPECT_EQ(s.consecutiveFailures(), 9);
  s.onStarted(1, "acct-1");
  s.onFinished(Outcome::Fetched, now);
  EXPECT_EQ(s.consecutiveFailures(), 0);
  EXPECT_EQ(s.nextFetch(), now + hours(1));
}

TEST(CatalogSchedule, AFresherTokenRetriesAfterA401) {
  CatalogSchedule s = started();
  s.onStarted(1, "acct-1");
  s.onFinished(Outcome::Unauthorized, t0);
  EXPECT_EQ(s.nextFetch(), t0 + minutes(1));
  s.onCredentials(true, 1, "acct-1", t0 + seconds(5));  // the same token again: nothing new
  EXPECT_EQ(s.nextFetch(), t0 + minutes(1));
  s.onCredentials(true, 2, "acct-1", t0 + seconds(10));  // refreshed
  EXPECT_EQ(s.nextFetch(), t0 + seconds(10));
}

TEST(CatalogSchedule, ATokenRefreshedWhileTheFetchWasOutCountsToo) {
  CatalogSchedule s = started();
  s.onStarted(1, "acct-1");
  s.onCredentials(true, 2, "acct-1", t0 + seconds(1));
  s.onFinished(Outcome::Unauthorized, t0 + seconds(2));
  EXPECT_EQ(s.nextFetch(), t0 + seconds(2));
}

TEST(CatalogSchedule, ANewTokenAfterSuccessChangesNothing) {
  CatalogSchedule s = fetched();
  s.onCredentials(true, 2, "acct-1", t0 + minutes(10));
  EXPECT_EQ(s.nextFetch(), t0 + hours(1));
}

TEST(CatalogSchedule, AnotherAccountFetchesAgainAtOnce) {
  CatalogSchedule s = fetched();
  s.onCredentials(true, 2, "acct-2", t0 + minutes(10));
  EXPECT_EQ(s.nextFetch(), t0 + minutes(10));
  // Changed while a fetch for the old account was out: again right after it.
  s.onStarted(2, "acct-2");
  s.onCredentials(true, 3, "acct-3", t0 + minutes(11));
  s.onFinished(Outcome::Fetched, t0 + minutes(12));
  EXPECT_EQ(s.nextFetch(), t0 + minutes(12));
}

TEST(CatalogSchedule, FetchNowOverridesTheWait) {
  CatalogSchedule s = fetched();
  s.fetchNow(t0 + minutes(3));
  EXPECT_TRUE(s.due(t0 + minutes(3)));
}

}  // namespace
}  // namespace cosp::supervisor
