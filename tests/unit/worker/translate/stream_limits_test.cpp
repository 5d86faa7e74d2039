// What a stream does at its limits: the collector's cap on kept output, and the errors for an
// event too large and for a non-streaming call past REQUEST_TIMEOUT (their JSON and chunk forms).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "worker/translate/chat_stream_mapper.h"
#include "worker/translate/error_json.h"
#include "worker/translate/response_collector.h"
#include "worker/translate/upstream_error.h"

namespace cosp::worker {
namespace {

SseEvent itemDone(int index, std::size_t text_bytes) {
  return SseEvent{"response.output_item.done",
                  R"({"type":"response.output_item.done","output_index":)" + std::to_string(index) +
                      R"(,"item":{"type":"message","role":"assistant","content":[{"type":"output_text","text":")" +
                      std::string(text_bytes, 'a') + R"("}]}})",
                  ""};
}

SseEvent completed(std::size_t padding = 0) {
  return SseEvent{"response.completed",
                  R"({"type":"response.completed","response":{"id":"resp_1","pad":")" + std::string(padding, 'p') +
                      R"(","output":[]}})",
                  ""};
}

TEST(ResponseCollectorCap, KeptOutputPastTheCapFailsWithA502) {
  ResponseCollector collector(1000);
  collector.onEvent(itemDone(0, 300));
  collector.onEvent(itemDone(1, 300));
  EXPECT_FALSE(collector.finished());
  collector.onEvent(itemDone(2, 300));  // about 1,300 bytes kept: over
  ASSERT_TRUE(collector.failure().has_value());
  EXPECT_TRUE(collector.overCap());
  EXPECT_TRUE(collector.finished());
  EXPECT_FALSE(collector.completed());
  EXPECT_EQ(collector.failure()->status, 502);
  EXPECT_EQ(collector.failure()->type, "upstream_error");
  EXPECT_EQ(collector.failure()->code, "upstream_response_too_large");
  EXPECT_NE(collector.failure()->message.find("1000 bytes"), std::string::npos);
  // Nothing after it changes the outcome.
  collector.onEvent(completed());
  collector.onUpstreamEnd();
  EXPECT_FALSE(collector.completed());
  EXPECT_EQ(collector.failure()->code, "upstream_response_too_large");
}

TEST(ResponseCollectorCap, OnlyTheLatestResponseObjectCounts) {
  ResponseCollector collector(1000);
  collector.onEvent(SseEvent{
      "response.created",
      R"({"type":"response.created","response":{"id":"resp_1","pad":")" + std::string(600, 'p') + R"("}})", ""});
  collector.onEvent(itemDone(0, 100));
  collector.onEvent(completed(600));  // replaces the created one: ~650 + ~200 bytes
  collector.onUpstreamEnd();
  ASSERT_TRUE(collector.completed());
  EXPECT_FALSE(collector.overCap());
  EXPECT_NE(collector.responsesObjectJson().find(std::string(100, 'a')), std::string::npos);
}

TEST(ResponseCollectorCap, EventsItDoesNotKeepDoNotCount) {
  ResponseCollector collector(1000);
  for (int i = 0; i < 100; ++i) {
    collector.onEvent(SseEvent{"response.output_text.delta",
                               R"({"type":"response.output_text.delta","delta":")" + std::string(500, 'd') + R"("})",
                               ""});
  }
  collector.onEvent(itemDone(0, 10));
  collector.onEvent(completed());
  collector.onUpstreamEnd();
  EXPECT_TRUE(collector.completed());
}

TEST(StreamLimitErrors, EventTooLargeIsA502NamingTheLimit) {
  const common::ApiError e = upstreamEventTooLargeError(16777216);
  EXPECT_EQ(e.status, 502);
  EXPECT_EQ(e.type, "upstream_error");
  EXPECT_EQ(e.code, "upstream_event_too_large");
  EXPECT_NE(e.message.find("16777216 bytes"), std::string::npos);
  EXPECT_NE(e.message.find("MAX_EVENT_BYTES"), std::string::npos);
  EXPECT_EQ(apiErrorJson(e), R"({"error":{"message":")" + e.message +
                                 R"(","type":"upstream_error","param":null,"code":"upstream_event_too_large"}})");
  EXPECT_EQ(responsesErrorEventData(e),
            R"({"type":"error","code":"upstream_event_too_large","message":")" + e.message + R"(","param":null})");
}

TEST(StreamLimitErrors, RequestTimeoutIsA504LikeTheOtherUpstreamTimeouts) {
  const common::ApiError e = requestTimeoutError(900000);
  EXPECT_EQ(e.status, 504);
  EXPECT_EQ(e.type, upstreamTimeoutError().type);
  EXPECT_EQ(e.code, upstreamTimeoutError().code);
  EXPECT_EQ(e.code, "upstream_timeout");
  EXPECT_NE(e.message.find("within 900 s (REQUEST_TIMEOUT)"), std::string::npos) << e.message;
  EXPECT_NE(requestTimeoutError(1500).message.find("within 1500 ms"), std::string::npos);
}

TEST(StreamLimitErrors, AChatStreamCutForSizeEndsWithOneErrorChunkAndNoDone) {
  ChatStreamMapper mapper(ChatStreamOptions{"chatcmpl-x", 1, "gpt-5.5", false, ReasoningCompat::None, false});
  std::vector<std::string> out;
  mapper.onEvent(SseEvent{"", R"({"type":"response.output_text.delta","item_id":"m1","delta":"Hel"})", ""}, out);
  ASSERT_EQ(out.size(), 2u);  // role chunk, content chunk
  mapper.onUpstreamEnd(out, upstreamEventTooLargeError(1024));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.back(), apiErrorJson(upstreamEventTooLargeError(1024)));
  EXPECT_EQ(mapper.failure()->code, "upstream_event_too_large");
  mapper.onUpstreamEnd(out);
  EXPECT_EQ(out.size(), 3u);
}

// A terminal event without its response object is a malformed end, not a success built from
// nothing (which would drop what was streamed before it).
TEST(MalformedTerminalEvent, FailsTheCollectorAndTheChatStream) {
  for (const char* name : {"response.completed", "response.incomplete"}) {
    ResponseCollector collector;
    collector.onEvent(itemDone(0, 10));
    collector.onEvent(SseEvent{name, R"("nope")", ""});
    ASSERT_TRUE(collector.failure().has_value()) << name;
    EXPECT_EQ(collector.failure()->status, 502);
    EXPECT_EQ(collector.failure()->code.value_or(""), "upstream_malformed_event");
    EXPECT_FALSE(collector.completed());

    ChatStreamMapper mapper(ChatStreamOptions{"chatcmpl-x", 1, "gpt-5.5", false, ReasoningCompat::None, false});
    std::vector<std::string> chunks;
    mapper.onEvent(SseEvent{name, std::string(R"({"type":")") + name + R"("})", ""}, chunks);
    ASSERT_TRUE(mapper.failure().has_value()) << name;
    EXPECT_EQ(mapper.failure()->code.value_or(""), "upstream_malformed_event");
    ASSERT_FALSE(chunks.empty());
    EXPECT_NE(chunks.back().find("upstream_malformed_event"), std::string::npos);
    for (const auto& c : chunks) EXPECT_EQ(c.find("[DONE]"), std::string::npos);
  }
}

}  // namespace
}  // namespace cosp::worker
