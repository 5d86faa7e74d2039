// When the supervisor gives up on a worker and kills it, when its loop wakes up, and how much
// longer it asks systemd to wait for a graceful stop.
#include "supervisor/deadlines.h"

#include <gtest/gtest.h>

#include "tests/support/fakes/fake_clock.h"

namespace cosp::supervisor {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test::FakeClock;

WorkerProcess worker(WorkerState state, TimePoint started) {
  WorkerProcess w;
  w.pid = 100;
  w.state = state;
  w.started = w.last_heartbeat = started;
  return w;
}

TEST(Deadlines, AReadyWorkerSilentPastTheHeartbeatTimeoutIsHung) {
  FakeClock clock;
  WorkerProcess w = worker(WorkerState::Ready, clock.steadyNow());
  clock.advance(seconds(15));
  EXPECT_EQ(killVerdict(w, clock.steadyNow()), KillVerdict::Spare);  // exactly the timeout: not yet
  clock.advance(milliseconds(1));
  EXPECT_EQ(killVerdict(w, clock.steadyNow()), KillVerdict::Hung);
  w.last_heartbeat = clock.steadyNow();  // a heartbeat arrives
  EXPECT_EQ(killVerdict(w, clock.steadyNow()), KillVerdict::Spare);
}

TEST(Deadlines, AWorkerNotReadyPastTheBootTimeoutIsHung) {
  FakeClock clock;
  WorkerProcess w = worker(WorkerState::Starting, clock.steadyNow());
  clock.advance(kBootTimeout);
  EXPECT_EQ(killVerdict(w, clock.steadyNow()), KillVerdict::Spare);
  clock.advance(milliseconds(1));
  EXPECT_EQ(killVerdict(w, clock.steadyNow()), KillVerdict::Hung);
  w.kill_sent = true;  // killed once: not again
  EXPECT_EQ(killVerdict(w, clock.steadyNow()), KillVerdict::Spare);
}

TEST(Deadlines, ADrainingWorkerIsKilledAfterGracePlusSlack) {
  FakeClock clock;
  WorkerProcess w = worker(WorkerState::Draining, clock.steadyNow());
  w.kill_at = drainKillAt(clock.steadyNow(), seconds(30));
  EXPECT_EQ(w.kill_at, clock.steadyNow() + seconds(35));
  EXPECT_EQ(pendingKillAt(w), clock.steadyNow() + seconds(35));
  clock.advance(seconds(35));
  EXPECT_EQ(killVerdict(w, clock.steadyNow()), KillVerdict::Spare);  // a draining worker has no heartbeat deadline
  clock.advance(milliseconds(1));
  EXPECT_EQ(killVerdict(w, clock.steadyNow()), KillVerdict::DrainOverdue);
  w.kill_sent = true;
  EXPECT_EQ(killVerdict(w, clock.steadyNow()), KillVerdict::Spare);
  EXPECT_FALSE(pendingKillAt(w).has_value());
}

TEST(Deadlines, AWorkerWhoseChannelClosedIsKilledAfterTheSlack) {
  FakeClock clock;
  WorkerProcess w = worker(WorkerState::Ready, clock.steadyNow());
  EXPECT_FALSE(pendingKillAt(w).has_value());
  w.channel_lost = true;
  w.kill_at = channelLostKillAt(clock.steadyNow());
  EXPECT_EQ(pendingKillAt(w), clock.steadyNow() + seconds(5));
  clock.advance(seconds(5) + milliseconds(1));
  w.last_heartbeat = clock.steadyNow();
  EXPECT_EQ(killVerdict(w, clock.steadyNow()), KillVerdict::DrainOverdue);
}

TEST(Deadlines, FastStopKillsAfterTwoSeconds) {
  FakeClock clock;
  EXPECT_EQ(fastStopKillAt(clock.steadyNow()), clock.steadyNow() + seconds(2));
}

TEST(Deadlines, NextWakeIsTheEarliestDeadlineAndAtMostOneTickAway) {
  FakeClock clock;
  const TimePoint now = clock.steadyNow();
  std::vector<SlotSchedule> slots(2);
  WorkerMap workers;
  EXPECT_EQ(nextWake(now, slots, workers, {}), now + seconds(1));
  EXPECT_EQ(nextWake(now, slots, workers, {std::nullopt, now + seconds(5)}), now + seconds(1));

  slots[1].onSpawnFailed(now);
  slots[1].onSpawnFailed(now);  // retry in 100 ms
  EXPECT_EQ(nextWake(now, slots, workers, {}), now + milliseconds(100));

  WorkerProcess draining = worker(WorkerState::Draining, now);
  draining.kill_at = now + milliseconds(40);
  workers.emplace(100, std::move(draining));
  EXPECT_EQ(nextWake(now, slots, workers, {}), now + milliseconds(40));
  EXPECT_EQ(nextWake(now, slots, workers, {now + milliseconds(7), std::nullopt}), now + milliseconds(7));
  workers.at(100).kill_sent = true;  // nothing pending for it any more
  EXPECT_EQ(nextWake(now, slots, workers, {}), now + milliseconds(100));
}

TEST(Deadlines, SystemdIsAskedForMoreTimeOnlyBeyondThirtySeconds) {
  EXPECT_FALSE(stopTimeoutExtension(seconds(30)).has_value());
  EXPECT_FALSE(stopTimeoutExtension(seconds(1)).has_value());
  EXPECT_EQ(stopTimeoutExtension(seconds(31)), microseconds(36'000'000));
  EXPECT_EQ(stopTimeoutExtension(seconds(120)), microseconds(125'000'000));
}

}  // namespace
}  // namespace cosp::supervisor
