// How `codex-sub-proxy-ctl reload` reads the status document while it waits for its reload.
#include "supervisor/ctl/reload_progress.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/json/json_parser.h"

namespace cosp::ctl {
namespace {

using Kind = ReloadProgress::Kind;

ReloadProgress progressOf(const std::string& status, uint64_t generation) {
  std::optional<common::JsonValue> parsed = common::parseJsonObject(status);
  EXPECT_TRUE(parsed.has_value()) << status;
  return reloadProgress(parsed.value_or(common::JsonValue::object()), generation);
}

TEST(ReloadProgress, WaitsWhileNoReloadOfItsGenerationHasEnded) {
  EXPECT_EQ(progressOf(R"({"state":"reloading","generation":2})", 2).kind, Kind::Waiting);
  EXPECT_EQ(progressOf(R"({"state":"reloading","generation":3,"last_reload":{"generation":2,"ok":true}})", 3).kind,
            Kind::Waiting);
  // A supervisor restarted meanwhile counts from 1 again: still not ours.
  EXPECT_EQ(progressOf(R"({"state":"running","generation":1})", 4).kind, Kind::Waiting);
}

TEST(ReloadProgress, DoneWhenItsGenerationOrANewerOneEndedOk) {
  EXPECT_EQ(progressOf(R"({"state":"running","generation":2,"last_reload":{"generation":2,"ok":true}})", 2).kind,
            Kind::Done);
  EXPECT_EQ(progressOf(R"({"state":"running","generation":3,"last_reload":{"generation":3,"ok":true}})", 2).kind,
            Kind::Done);
}

TEST(ReloadProgress, FailedWithTheSupervisorsReason) {
  ReloadProgress p = progressOf(R"({"state":"running","generation":2,"last_reload":{"generation":2,"ok":false,)"
                                R"("reason":"a new worker did not become ready in time"}})",
                                2);
  EXPECT_EQ(p.kind, Kind::Failed);
  EXPECT_EQ(p.reason, "a new worker did not become ready in time");
}

TEST(ReloadProgress, FailedWhenTheProxyStops) {
  ReloadProgress p = progressOf(R"({"state":"stopping","generation":2})", 2);
  EXPECT_EQ(p.kind, Kind::Failed);
  EXPECT_EQ(p.reason, "the proxy is stopping");
}

}  // namespace
}  // namespace cosp::ctl
