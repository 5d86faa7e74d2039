#include "worker/sse/event_kind.h"

#include <gtest/gtest.h>

namespace cosp::worker {
namespace {

SseEvent named(std::string event, std::string data = "{}") {
  SseEvent e;
  e.event = std::move(event);
  e.data = std::move(data);
  return e;
}

SseEvent unnamed(std::string data) { return named("", std::move(data)); }

TEST(EventKind, EventTypesComeFromTheEventFieldOrTheDataType) {
  EXPECT_EQ(eventType(named("response.created")), "response.created");
  EXPECT_EQ(eventType(unnamed(R"({"type":"response.in_progress","x":1})")), "response.in_progress");
  EXPECT_EQ(eventType(SseEvent{"", R"({ "type" : "error", "code":"x"})", ""}), "error");
  EXPECT_EQ(eventType(SseEvent{"", R"({"delta":"no type"})", ""}), "");
  EXPECT_EQ(eventType(SseEvent{"", R"({"type":)", ""}), "");
  EXPECT_EQ(eventType(SseEvent{"", R"({"type":"unterminated)", ""}), "");
  EXPECT_EQ(eventType(SseEvent{"", "[1,2,3]", ""}), "");
}

TEST(EventKind, NamedEventsAreJudgedByTheirName) {
  EXPECT_TRUE(isFailureEvent(named("error")));
  EXPECT_TRUE(isFailureEvent(named("response.failed")));
  EXPECT_FALSE(isFailureEvent(named("response.created", R"({"type":"error"})")));
  EXPECT_TRUE(isTerminalEvent(named("response.completed")));
  EXPECT_TRUE(isTerminalEvent(named("response.incomplete")));
  EXPECT_TRUE(isTerminalEvent(named("response.failed")));
  EXPECT_TRUE(isTerminalEvent(named("error")));
  EXPECT_FALSE(isTerminalEvent(named("response.output_text.delta", R"({"type":"response.completed"})")));
}

TEST(EventKind, UnnamedEventsAreJudgedByTheTypeInTheirData) {
  EXPECT_TRUE(isFailureEvent(unnamed(R"({"type":"error","code":"server_is_overloaded"})")));
  EXPECT_TRUE(isFailureEvent(unnamed(R"({"type":"response.failed","response":{}})")));
  EXPECT_FALSE(isFailureEvent(unnamed(R"({"type":"response.in_progress"})")));
  EXPECT_TRUE(isTerminalEvent(unnamed(R"({"type":"response.completed","response":{}})")));
  EXPECT_TRUE(isTerminalEvent(unnamed(R"({"type":"response.incomplete"})")));
  EXPECT_TRUE(isTerminalEvent(unnamed(R"({"type":"error"})")));
  EXPECT_FALSE(isTerminalEvent(unnamed(R"({"type":"response.output_item.done"})")));
  EXPECT_FALSE(isTerminalEvent(unnamed("")));
}

}  // namespace
}  // namespace cosp::worker
