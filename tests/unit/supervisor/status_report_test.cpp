// `ctl status` and the aggregated metric series, built from a fixed view of the supervisor.
#include "supervisor/status_report.h"

#include <gtest/gtest.h>

#include "common/json/json_writer.h"
#include "common/version.h"
#include "tests/support/fakes/fake_clock.h"

namespace cosp::supervisor {
namespace {

using common::CredentialState;
using common::jsonArray;
using common::jsonBool;
using common::jsonInt;
using common::jsonObjectValue;
using common::jsonString;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test::FakeClock;

class FixedCredentials final : public CredentialProvider {
 public:
  int eventFd() const override { return -1; }
  void onEvent() override {}
  std::optional<std::chrono::steady_clock::time_point> nextDeadline() const override { return std::nullopt; }
  void onTick() override {}
  const common::WorkerCredentials& current() const override { return current_; }
  void reportUnauthorized(uint64_t) override {}
  void reportRefreshNeeded(uint64_t) override {}
  void forceRefresh() override {}
  CredentialCounters counters() const override { return counters_; }
  common::JsonValue status() const override {
    common::JsonValue s = common::JsonValue::object();
    s.set("state", common::credentialStateName(current_.state));
    s.set("account_id", common::JsonValue());
    return s;
  }

  common::WorkerCredentials current_;
  CredentialCounters counters_;
};

class StatusReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    credentials.current_.state = CredentialState::Ok;
    credentials.current_.access_token = "token";
    credentials.current_.generation = 4;
    credentials.counters_ = CredentialCounters{3, 1, 1200};
    started = clock.steadyNow();
    clock.advance(seconds(90));
    addWorker(101, 0, WorkerState::Ready,
              {{"http_requests_total{route=\"chat\",status=\"200\"}", 7},
               {"http_requests_total{route=\"chat\",status=\"503\"}", 2},
               {"active_requests", 1},
               {"active_streams", 1}});
    addWorker(102, 1, WorkerState::Ready, {{"http_requests_total{route=\"models\",status=\"401\"}", 4}});
    retired = {{"http_requests_total{route=\"chat\",status=\"200\"}", 10}};
    upstream.last_status = 200;
    upstream.last_status_at = 1'750'000'000;
    upstream.rate_limits["x-codex-primary-used-percent"] = "12";
  }

  void addWorker(pid_t pid, int slot, WorkerState state, common::WorkerCounters counters) {
    WorkerProcess w;
    w.pid = pid;
    w.slot = slot;
    w.generation = 2;
    w.state = state;
    w.started = clock.steadyNow() - seconds(60);
    w.last_heartbeat = clock.steadyNow() - milliseconds(250);
    w.counters = std::move(counters);
    workers.emplace(pid, std::move(w));
  }

  SupervisorView view(SupervisorPhase phase = SupervisorPhase::Running) {
    return SupervisorView{clock.steadyNow(), clock.unixMillis(), started, 4242,     "127.0.0.1:3000", phase,  2, 2,
                          workers,           restarts,           retired, upstream, credentials,      catalog};
  }

  FakeClock clock;
  std::chrono::steady_clock::time_point started;
  WorkerMap workers;
  std::vector<int> restarts{0, 3};
  common::WorkerCounters retired;
  common::UpstreamObservation upstream;
  FixedCredentials credentials;
  CatalogReport catalog;
};

TEST_F(StatusReportTest, ReportsWorkersTotalsAndHealth) {
  const common::JsonValue s = statusReport(view());
  EXPECT_EQ(jsonString(s, "version"), kVersion);
  EXPECT_EQ(jsonInt(s, "pid"), 4242);
  EXPECT_EQ(jsonInt(s, "uptime_s"), 90);
  EXPECT_EQ(jsonString(s, "listen"), "127.0.0.1:3000");
  EXPECT_EQ(jsonString(s, "state"), "running");
  EXPECT_EQ(jsonInt(s, "generation"), 2);
  EXPECT_EQ(jsonInt(s, "workers_configured"), 2);
  EXPECT_EQ(jsonInt(s, "worker_restarts"), 3);
  EXPECT_EQ(jsonInt(s, "workers_ready"), 2);
  EXPECT_EQ(jsonString(s, "headline"), "2/2 workers ready");
  EXPECT_EQ(jsonBool(s, "healthy"), true);
  ASSERT_NE(jsonArray(s, "problems"), nullptr);
  EXPECT_TRUE(jsonArray(s, "problems")->empty());

  const common::JsonArray* workers_json = jsonArray(s, "workers");
  ASSERT_NE(workers_json, nullptr);
  ASSERT_EQ(workers_json->size(), 2u);
  const common::JsonValue& first = (*workers_json)[0];
  EXPECT_EQ(jsonInt(first, "pid"), 101);
  EXPECT_EQ(jsonInt(first, "slot"), 0);
  EXPECT_EQ(jsonString(first, "state"), "ready");
  EXPECT_EQ(jsonInt(first, "uptime_s"), 60);
  EXPECT_EQ(jsonInt(first, "requests"), 9);
  EXPECT_EQ(jsonInt(first, "active_requests"), 1);
  EXPECT_EQ(jsonInt(first, "restarts"), 0);
  EXPECT_EQ(jsonInt(first, "last_heartbeat_ms_ago"), 250);
  EXPECT_EQ(jsonInt((*workers_json)[1], "restarts"), 3);

  const common::JsonValue* totals = jsonObjectValue(s, "totals");
  ASSERT_NE(totals, nullptr);
  EXPECT_EQ(jsonInt(*totals, "requests"), 23);  // 9 + 4 live, 10 from exited workers
  EXPECT_EQ(jsonInt(*totals, "responses_4xx"), 4);
  EXPECT_EQ(jsonInt(*totals, "responses_5xx"), 2);
  EXPECT_EQ(jsonInt(*totals, "active_streams"), 1);

  const common::JsonValue* up = jsonObjectValue(s, "upstream");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(jsonInt(*up, "last_status"), 200);
  EXPECT_TRUE(up->find("last_success_at")->isNull());
  EXPECT_EQ(common::toJson(*up->find("rate_limits")), R"({"x-codex-primary-used-percent":"12"})");
  EXPECT_EQ(common::toJson(*s.find("credentials")), R"({"account_id":null,"state":"ok"})");
}

TEST_F(StatusReportTest, MembersAreSortedByKey) {
  const std::string json = common::toJson(statusReport(view()));
  EXPECT_EQ(json.rfind(R"({"catalog":{"backend_models":0,"client_version":"",)", 0), 0u) << json;
  EXPECT_NE(
      json.find(
          R"(},"credentials":{"account_id":null,"state":"ok"},"generation":2,"headline":"2/2 workers ready","healthy":true,)"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("workers":[{"active_requests":1,"active_streams":1,"generation":2,)"), std::string::npos)
      << json;
}

TEST_F(StatusReportTest, ProblemsNameWhatIsMissing) {
  workers.at(102).state = WorkerState::Starting;
  credentials.current_.state = CredentialState::NeedsLogin;
  credentials.current_.access_token.clear();
  const common::JsonValue s = statusReport(view(SupervisorPhase::Stopping));
  EXPECT_EQ(jsonBool(s, "healthy"), false);
  EXPECT_EQ(jsonString(s, "state"), "stopping");
  EXPECT_EQ(jsonInt(s, "workers_ready"), 1);
  EXPECT_EQ(jsonString(s, "headline"), "1/2 workers ready");
  EXPECT_EQ(
      common::toJson(*s.find("problems")),
      R"J(["not every worker slot has a ready worker","no usable upstream credentials (needs_login)","stopping"])J");
}

TEST_F(StatusReportTest, LastReloadAppearsOnceAReloadEndedWithItsReasonWhenFailed) {
  EXPECT_EQ(statusReport(view()).find("last_reload"), nullptr);
  SupervisorView v = view();
  v.last_reload = ReloadResult{2, true, ""};
  EXPECT_EQ(common::toJson(*statusReport(v).find("last_reload")), R"({"generation":2,"ok":true})");
  v.last_reload = ReloadResult{3, false, "a new worker did not become ready in time"};
  EXPECT_EQ(common::toJson(*statusReport(v).find("last_reload")),
            R"({"generation":3,"ok":false,"reason":"a new worker did not become ready in time"})");
}

TEST_F(StatusReportTest, HeadlineCountsSlotsNotProcesses) {
  // During a reload a slot has its old and its new worker, both ready: the slot counts once.
  addWorker(103, 1, WorkerState::Ready, {});
  common::JsonValue s = statusReport(view(SupervisorPhase::Reloading));
  EXPECT_EQ(jsonString(s, "headline"), "2/2 workers ready");
  workers.at(101).state = WorkerState::Draining;
  s = statusReport(view(SupervisorPhase::Reloading));
  EXPECT_EQ(jsonInt(s, "workers_ready"), 1);
  EXPECT_EQ(jsonString(s, "headline"), "1/2 workers ready");
}

TEST_F(StatusReportTest, MetricSeriesSumWorkersAndNameTheStates) {
  workers.at(102).state = WorkerState::Draining;
  const common::WorkerCounters m = metricSeries(view());
  EXPECT_EQ(m.at("http_requests_total{route=\"chat\",status=\"200\"}"), 17);
  EXPECT_EQ(m.at("active_requests"), 1);
  EXPECT_EQ(m.at("workers{state=\"ready\"}"), 1);
  EXPECT_EQ(m.at("workers{state=\"draining\"}"), 1);
  EXPECT_EQ(m.at("workers{state=\"starting\"}"), 0);
  EXPECT_EQ(m.at("worker_restarts_total"), 3);
  EXPECT_EQ(m.at("credential_refreshes_total{result=\"ok\"}"), 3);
  EXPECT_EQ(m.at("credential_refreshes_total{result=\"failed\"}"), 1);
  EXPECT_EQ(m.at("credential_expiry_seconds"), 1200);
  EXPECT_EQ(m.at("credential_state{state=\"ok\"}"), 1);
  EXPECT_EQ(m.at("credential_state{state=\"needs_login\"}"), 0);
  EXPECT_EQ(m.at("credential_state{state=\"refreshing\"}"), 0);
  EXPECT_EQ(m.at("credential_state{state=\"refresh_failing\"}"), 0);
  EXPECT_EQ(m.at("credential_state{state=\"no_credentials\"}"), 0);
  EXPECT_EQ(m.at("credential_generation"), 4);
  EXPECT_EQ(m.at(std::string("build_info{version=\"") + kVersion + "\"}"), 1);

  credentials.counters_.expires_in_s.reset();
  EXPECT_EQ(metricSeries(view()).count("credential_expiry_seconds"), 0u);  // unknown expiry: no series
}

TEST_F(StatusReportTest, ReportsTheModelCatalog) {
  catalog.source = common::ModelCatalog::Source::Configured;
  catalog.models = 2;
  catalog.backend_models = 7;
  catalog.fetched_ago_s = 120;
  catalog.last_error = "HTTP 502";
  catalog.last_error_at = 1'750'000'000;
  catalog.fetches_ok = 3;
  catalog.fetches_not_modified = 5;
  catalog.fetches_failed = 1;
  catalog.consecutive_failures = 1;
  catalog.next_fetch_in_s = 60;
  catalog.client_version = "0.169.0";
  const common::JsonValue s = statusReport(view());
  const common::JsonValue* c = jsonObjectValue(s, "catalog");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(common::toJson(*c),
            R"({"backend_models":7,"client_version":"0.169.0","consecutive_failures":1,"fetch_in_flight":false,)"
            R"("fetched_ago_s":120,"fetches_failed":1,"fetches_not_modified":5,"fetches_ok":3,)"
            R"("last_error":"HTTP 502","last_error_at":1750000000,"models":2,"next_fetch_in_s":60,)"
            R"("source":"configured"})");
  EXPECT_EQ(jsonBool(s, "healthy"), true);  // a stale or built-in catalog still serves

  const common::WorkerCounters m = metricSeries(view());
  EXPECT_EQ(m.at("catalog_fetches_total{result=\"ok\"}"), 3);
  EXPECT_EQ(m.at("catalog_fetches_total{result=\"not_modified\"}"), 5);
  EXPECT_EQ(m.at("catalog_fetches_total{result=\"failed\"}"), 1);
  EXPECT_EQ(m.at("catalog_models"), 2);

  // Never fetched: the age and the error are null, not zero.
  catalog = CatalogReport{};
  const common::JsonValue fresh = statusReport(view());
  EXPECT_TRUE(jsonObjectValue(fresh, "catalog")->find("fetched_ago_s")->isNull());
  EXPECT_TRUE(jsonObjectValue(fresh, "catalog")->find("last_error")->isNull());
  EXPECT_EQ(jsonString(*jsonObjectValue(fresh, "catalog"), "source"), "built-in");
}

TEST(KeepNewest, TakesTheNewerStatusAndRateLimits) {
  common::UpstreamObservation kept;
  kept.last_status = 200;
  kept.last_status_at = 100;
  kept.last_success_at = 100;
  kept.rate_limits = {{"a", "1"}};
  kept.rate_limits_at = 100;
  common::UpstreamObservation older;
  older.last_status = 500;
  older.last_status_at = 50;
  older.last_success_at = 90;
  older.rate_limits = {{"a", "9"}};
  older.rate_limits_at = 50;
  keepNewest(kept, older);
  EXPECT_EQ(kept.last_status, 200);
  EXPECT_EQ(kept.last_success_at, 100);
  EXPECT_EQ(kept.rate_limits.at("a"), "1");
  common::UpstreamObservation newer;
  newer.last_status = 429;
  newer.last_status_at = 150;
  newer.rate_limits = {{"a", "2"}};
  newer.rate_limits_at = 150;
  keepNewest(kept, newer);
  EXPECT_EQ(kept.last_status, 429);
  EXPECT_EQ(kept.last_status_at, 150);
  EXPECT_EQ(kept.last_success_at, 100);  // the newer one saw no success: the older success stays
  EXPECT_EQ(kept.rate_limits.at("a"), "2");
}

}  // namespace
}  // namespace cosp::supervisor
