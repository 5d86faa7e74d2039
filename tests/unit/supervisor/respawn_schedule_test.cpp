// When a dead worker's slot is started again: at once after a stable run, with doubling
// back-off while it keeps dying young, and a failed spawn is retried without counting a restart.
#include <gtest/gtest.h>

#include "supervisor/respawn_policy.h"
#include "tests/support/fakes/fake_clock.h"

namespace cosp::supervisor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::FakeClock;

TEST(SlotSchedule, NothingIsDueUntilAWorkerDies) {
  FakeClock clock;
  SlotSchedule slot;
  EXPECT_FALSE(slot.respawnAt().has_value());
  EXPECT_FALSE(slot.due(clock.steadyNow()));
  EXPECT_EQ(slot.restarts(), 0);
}

TEST(SlotSchedule, FirstDeathIsReplacedAtOnceThenBackOffDoubles) {
  FakeClock clock;
  SlotSchedule slot;
  EXPECT_EQ(slot.onUnexpectedExit(clock.steadyNow(), milliseconds(500)), milliseconds(0));
  EXPECT_EQ(slot.respawnAt(), clock.steadyNow());
  EXPECT_TRUE(slot.due(clock.steadyNow()));
  slot.onSpawned();
  EXPECT_FALSE(slot.due(clock.steadyNow()));

  const milliseconds expected[] = {milliseconds(100), milliseconds(200), milliseconds(400), milliseconds(800)};
  for (milliseconds delay : expected) {
    clock.advance(milliseconds(500));
    const auto died_at = clock.steadyNow();
    EXPECT_EQ(slot.onUnexpectedExit(died_at, milliseconds(500)), delay);
    EXPECT_EQ(slot.respawnAt(), died_at + delay);
    EXPECT_FALSE(slot.due(died_at + delay - milliseconds(1)));
    EXPECT_TRUE(slot.due(died_at + delay));
    clock.advance(delay);
    slot.onSpawned();
  }
  EXPECT_EQ(slot.restarts(), 5);
}

TEST(SlotSchedule, BackOffIsCappedAndAStableRunResetsIt) {
  FakeClock clock;
  SlotSchedule slot;
  for (int i = 0; i < 30; ++i) slot.onUnexpectedExit(clock.steadyNow(), milliseconds(10));
  EXPECT_EQ(slot.onUnexpectedExit(clock.steadyNow(), milliseconds(10)), RespawnPolicy::kMaxBackoff);
  EXPECT_EQ(slot.respawnAt(), clock.steadyNow() + seconds(10));
  // A worker that ran past kStableUptime is replaced at once again.
  EXPECT_EQ(slot.onUnexpectedExit(clock.steadyNow(), RespawnPolicy::kStableUptime), milliseconds(0));
  EXPECT_EQ(slot.restarts(), 32);
}

TEST(SlotSchedule, FailedSpawnIsRetriedWithoutCountingARestart) {
  FakeClock clock;
  SlotSchedule slot;
  slot.onSpawnFailed(clock.steadyNow());
  EXPECT_EQ(slot.respawnAt(), clock.steadyNow());  // the first attempt is retried at once
  slot.onSpawnFailed(clock.steadyNow());
  EXPECT_EQ(slot.respawnAt(), clock.steadyNow() + milliseconds(100));
  EXPECT_EQ(slot.restarts(), 0);
  slot.onSpawned();
  EXPECT_FALSE(slot.respawnAt().has_value());
}

}  // namespace
}  // namespace cosp::supervisor
