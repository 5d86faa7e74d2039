// A reload replaces the workers slot by slot, new before old, waiting at most the boot timeout
// for each new worker.
#include "supervisor/reload_sequence.h"

#include <gtest/gtest.h>

#include "supervisor/deadlines.h"
#include "tests/support/fakes/fake_clock.h"

namespace cosp::supervisor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::FakeClock;

TEST(ReloadSequence, ReplacesSlotsInOrderOneAtATime) {
  FakeClock clock;
  ReloadSequence reload(kBootTimeout);
  EXPECT_FALSE(reload.nextSlot().has_value());
  reload.begin(3);
  EXPECT_EQ(reload.nextSlot(), 0);
  EXPECT_FALSE(reload.deadline().has_value());

  pid_t pid = 500;
  for (int slot = 0; slot < 3; ++slot) {
    ASSERT_EQ(reload.nextSlot(), slot);
    reload.started(pid, clock.steadyNow());
    EXPECT_TRUE(reload.waitingFor(pid));
    EXPECT_EQ(reload.waitingPid(), pid);
    EXPECT_EQ(reload.deadline(), clock.steadyNow() + seconds(15));
    EXPECT_FALSE(reload.onReady(pid + 1000));  // some other worker: the reload still waits
    EXPECT_EQ(reload.nextSlot(), slot);
    clock.advance(seconds(2));
    EXPECT_TRUE(reload.onReady(pid));
    EXPECT_FALSE(reload.waitingFor(pid));
    EXPECT_FALSE(reload.onReady(pid));  // only once
    ++pid;
  }
  EXPECT_FALSE(reload.nextSlot().has_value());  // every slot was replaced
  EXPECT_FALSE(reload.deadline().has_value());
}

TEST(ReloadSequence, ANewWorkerNotReadyInTimeAbandonsTheReload) {
  FakeClock clock;
  ReloadSequence reload(kBootTimeout);
  reload.begin(2);
  reload.started(700, clock.steadyNow());
  clock.advance(seconds(15));
  EXPECT_FALSE(reload.timedOut(clock.steadyNow()));  // exactly at the deadline: still waiting
  clock.advance(milliseconds(1));
  EXPECT_TRUE(reload.timedOut(clock.steadyNow()));
  reload.clear();
  EXPECT_FALSE(reload.timedOut(clock.steadyNow()));
  EXPECT_FALSE(reload.waitingFor(700));
  EXPECT_FALSE(reload.nextSlot().has_value());
}

TEST(ReloadSequence, BeginStartsOverAndAStopClearsIt) {
  FakeClock clock;
  ReloadSequence reload(milliseconds(250));
  reload.begin(2);
  reload.started(800, clock.steadyNow());
  EXPECT_EQ(reload.deadline(), clock.steadyNow() + milliseconds(250));
  reload.begin(1);  // a fresh reload forgets the old one
  EXPECT_FALSE(reload.waitingFor(800));
  EXPECT_EQ(reload.nextSlot(), 0);
  reload.clear();
  EXPECT_FALSE(reload.onReady(800));
  EXPECT_FALSE(reload.nextSlot().has_value());
}

}  // namespace
}  // namespace cosp::supervisor
