#include "common/keys/limits_zone.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>
#include <vector>

namespace cosp::common::keys {
namespace {

constexpr std::int64_t kNow = 1780000000;  // 2026-05-28T20:26:40Z

// The supervisor's zone and a second mapping of the same memfd, as a worker would have it.
struct TwoMappings {
  LimitsZone supervisor;
  LimitsZone worker;
  TwoMappings() {
    auto created = LimitsZone::create();
    EXPECT_TRUE(created) << created.error();
    supervisor = std::move(created).value();
    auto attached = LimitsZone::attach(::dup(supervisor.fd()));
    EXPECT_TRUE(attached) << attached.error();
    worker = std::move(attached).value();
  }
};

TEST(LimitsZone, MappingsShareState) {
  TwoMappings z;
  z.supervisor.resetSlot(7, 3);
  EXPECT_EQ(z.worker.slot(7).generation.load(), 3);
  z.worker.addTokens(7, kNow, TokenUsage{100, 40, 20, 5});
  EXPECT_EQ(z.supervisor.slot(7).input_tokens.load(), 100);
  EXPECT_EQ(z.supervisor.slot(7).cached_tokens.load(), 40);
  EXPECT_EQ(z.supervisor.slot(7).output_tokens.load(), 20);
  EXPECT_EQ(z.supervisor.slot(7).reasoning_tokens.load(), 5);
  EXPECT_EQ(z.supervisor.dayTokens(7, kNow), 120);
  EXPECT_EQ(z.supervisor.monthTokens(7, kNow), 120);
  EXPECT_EQ(z.supervisor.slot(7).tokens.used(kNow), 120);
}

TEST(LimitsZone, RpmFiveAdmitsExactlyFiveOfEightAcrossTwoWorkers) {
  for (int round = 0; round < 50; ++round) {
    TwoMappings z;
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      LimitsZone* zone = i % 2 == 0 ? &z.supervisor : &z.worker;
      threads.emplace_back([zone, &admitted] {
        if (zone->tryAdmitRequest(1, kNow, 5)) admitted.fetch_add(1);
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(admitted.load(), 5) << "round " << round;
  }
}

TEST(LimitsZone, RequestWindowSlides) {
  TwoMappings z;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(z.worker.tryAdmitRequest(2, kNow, 5));
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(z.worker.tryAdmitRequest(2, kNow + 30, 5));
  EXPECT_FALSE(z.worker.tryAdmitRequest(2, kNow + 59, 5));
  EXPECT_EQ(z.worker.slot(2).requests.secondsUntilBelow(kNow + 59, 5), 1);
  // The three of kNow leave the window at kNow + 60.
  EXPECT_EQ(z.worker.slot(2).requests.used(kNow + 60), 2);
  EXPECT_TRUE(z.worker.tryAdmitRequest(2, kNow + 60, 5));
  EXPECT_EQ(z.worker.slot(2).requests.secondsUntilBelow(kNow + 60, 3), 30);
  EXPECT_EQ(z.worker.slot(2).requests.used(kNow + 200), 0);
}

TEST(LimitsZone, MaxConcurrentAcrossMappingsAndReapOfADeadWorker) {
  TwoMappings z;
  EXPECT_TRUE(z.supervisor.acquireLease(0, 4, 2));
  EXPECT_TRUE(z.worker.acquireLease(1, 4, 2));
  EXPECT_FALSE(z.worker.acquireLease(1, 4, 2));
  EXPECT_FALSE(z.supervisor.acquireLease(0, 4, 2));
  EXPECT_EQ(z.supervisor.slot(4).in_flight.load(), 2);
  EXPECT_EQ(z.supervisor.leases(1, 4), 1);
  // Worker of row 1 dies holding its lease: the supervisor reaps it.
  z.supervisor.reapLeases(1);
  EXPECT_EQ(z.supervisor.slot(4).in_flight.load(), 1);
  EXPECT_EQ(z.supervisor.leases(1, 4), 0);
  {
    ASSERT_TRUE(z.worker.acquireLease(2, 4, 2));
    LeaseGuard guard(&z.worker, 2, 4);
    EXPECT_FALSE(z.worker.acquireLease(2, 4, 2));
  }
  EXPECT_EQ(z.supervisor.slot(4).in_flight.load(), 1);
  z.supervisor.releaseLease(0, 4);
  EXPECT_EQ(z.supervisor.slot(4).in_flight.load(), 0);
}

TEST(LimitsZone, ConcurrentLeasesNeverExceedTheLimit) {
  TwoMappings z;
  std::atomic<int> peak{0};
  std::atomic<int> current{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    LimitsZone* zone = t % 2 == 0 ? &z.supervisor : &z.worker;
    threads.emplace_back([zone, t, &peak, &current] {
      for (int i = 0; i < 2000; ++i) {
        if (!zone->acquireLease(static_cast<std::uint32_t>(t), 9, 2)) continue;
        int now = current.fetch_add(1) + 1;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        current.fetch_sub(1);
        zone->releaseLease(static_cast<std::uint32_t>(t), 9);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(peak.load(), 2);
  EXPECT_EQ(z.supervisor.slot(9).in_flight.load(), 0);
}

TEST(LimitsZone, DayAndMonthRollOver) {
  TwoMappings z;
  const std::int64_t last_second_of_may = 1780271999;  // 2026-05-31T23:59:59Z
  EXPECT_EQ(utcDayEnd(last_second_of_may), last_second_of_may + 1);
  EXPECT_EQ(utcMonthEnd(last_second_of_may), last_second_of_may + 1);
  EXPECT_EQ(utcMonthEnd(kNow), last_second_of_may + 1);
  z.worker.addTokens(3, last_second_of_may - 86400, TokenUsage{10, 0, 5, 0});
  z.worker.addTokens(3, last_second_of_may, TokenUsage{1, 0, 1, 0});
  EXPECT_EQ(z.supervisor.dayTokens(3, last_second_of_may), 2);
  EXPECT_EQ(z.supervisor.monthTokens(3, last_second_of_may), 17);
  EXPECT_EQ(z.supervisor.dayTokens(3, last_second_of_may + 1), 0);
  EXPECT_EQ(z.supervisor.monthTokens(3, last_second_of_may + 1), 0);
  // Totals never roll.
  EXPECT_EQ(z.supervisor.slot(3).input_tokens.load(), 11);
}

TEST(LimitsZone, RecordsStatusClassesAndModels) {
  TwoMappings z;
  z.worker.recordRequest(5, kNow, 200, "gpt-5");
  z.worker.recordRequest(5, kNow, 429, "gpt-5");
  z.supervisor.recordRequest(5, kNow + 1, 200, "gpt-5-codex");
  KeySlot& s = z.supervisor.slot(5);
  EXPECT_EQ(s.requests_by_class[1].load(), 2);
  EXPECT_EQ(s.requests_by_class[3].load(), 1);
  EXPECT_EQ(std::string(s.models[0].name), "gpt-5");
  EXPECT_EQ(s.models[0].requests.load(), 2);
  EXPECT_EQ(std::string(s.models[1].name), "gpt-5-codex");
  EXPECT_EQ(s.last_use.load(), kNow + 1);
  z.supervisor.resetSlot(5, 9);
  EXPECT_EQ(z.worker.slot(5).requests_by_class[1].load(), 0);
  EXPECT_EQ(z.worker.slot(5).models[0].state.load(), 0);
  EXPECT_EQ(z.worker.slot(5).generation.load(), 9);
}

}  // namespace
}  // namespace cosp::common::keys
