// The pure decisions of the WebSocket relay (worker/calls/ws_turns.h, ws_message.h): which backend
// failures become the wrapped error event the Codex CLI reads, and what a client message becomes.
#include "worker/calls/ws_turns.h"

#include <gtest/gtest.h>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "worker/calls/ws_message.h"

namespace cosp::worker {
namespace {

constexpr std::int64_t kNow = 1'760'000'000;

common::JsonValue parsed(const std::string& text) {
  auto v = common::parseJsonObject(text);
  EXPECT_TRUE(v) << text;
  return v ? std::move(*v) : common::JsonValue::object();
}

const std::string kCreated = R"({"type":"response.created","response":{"id":"resp_1"}})";
const std::string kDelta = R"({"type":"response.output_text.delta","delta":"Hi"})";
const std::string kCompleted = R"({"type":"response.completed","response":{"id":"resp_1"}})";
const std::string kUsageLimit =
    R"({"type":"response.failed","response":{"id":"resp_1","error":{"code":"usage_limit_reached",)"
    R"("message":"The usage limit has been reached","resets_in_seconds":120,"resets_at":1760000120,"plan_type":"plus"}}})";

TEST(WsTurns, AFailureBeforeOutputBecomesTheWrappedErrorWithTheMappedStatus) {
  WsTurns turns;
  turns.onClientMessage("response.create");
  EXPECT_TRUE(turns.beforeOutput());
  EXPECT_FALSE(turns.onBackendMessage(kCreated, kNow).replaced);
  const WsTurns::Verdict v = turns.onBackendMessage(kUsageLimit, kNow);
  ASSERT_TRUE(v.replaced);
  EXPECT_TRUE(v.call_ended);
  EXPECT_EQ(v.status, 429);
  const common::JsonValue e = parsed(v.text);
  EXPECT_EQ(common::jsonStringOr(e, "type"), "error");
  EXPECT_EQ(common::jsonInt(e, "status"), 429);
  const common::JsonValue* error = common::jsonObjectValue(e, "error");
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(common::jsonStringOr(*error, "type"), "usage_limit_reached");
  EXPECT_EQ(common::jsonStringOr(*error, "code"), "usage_limit_reached");
  EXPECT_EQ(common::jsonInt(*error, "resets_at"), 1760000120);
  EXPECT_EQ(common::jsonStringOr(*error, "plan_type"), "plus");
  const common::JsonValue* headers = common::jsonObjectValue(e, "headers");
  ASSERT_NE(headers, nullptr);
  EXPECT_EQ(common::jsonStringOr(*headers, "retry-after"), "120");
  EXPECT_FALSE(turns.inCall());
}

TEST(WsTurns, AContextOverflowIsA400AndAnOverloadA503) {
  WsTurns turns;
  turns.onClientMessage("response.create");
  auto v = turns.onBackendMessage(
      R"({"type":"error","code":"context_length_exceeded","message":"Your input exceeds the context window"})", kNow);
  ASSERT_TRUE(v.replaced);
  EXPECT_EQ(v.status, 400);
  EXPECT_EQ(common::jsonStringOr(*common::jsonObjectValue(parsed(v.text), "error"), "code"), "context_length_exceeded");
  turns.onClientMessage("response.create");
  v = turns.onBackendMessage(
      R"({"type":"response.failed","response":{"error":{"code":"server_is_overloaded","message":"busy"}}})", kNow);
  ASSERT_TRUE(v.replaced);
  EXPECT_EQ(v.status, 503);
}

TEST(WsTurns, AStatusTheBackendGaveWins) {
  WsTurns turns;
  turns.onClientMessage("response.create");
  const auto v = turns.onBackendMessage(
      R"({"type":"error","status":400,"error":{"type":"invalid_request_error","code":"previous_response_not_found",)"
      R"("message":"Previous response with id 'x' not found.","param":"previous_response_id"}})",
      kNow);
  ASSERT_TRUE(v.replaced);
  EXPECT_EQ(v.status, 400);
  EXPECT_EQ(common::jsonInt(parsed(v.text), "status"), 400);
}

TEST(WsTurns, AFailureAfterOutputAndEverythingElseIsRelayedAsItCame) {
  WsTurns turns;
  // Between calls nothing is mapped.
  EXPECT_FALSE(turns.onBackendMessage(kUsageLimit, kNow).replaced);
  turns.onClientMessage("response.create");
  EXPECT_FALSE(turns.onBackendMessage(kCreated, kNow).replaced);
  EXPECT_FALSE(turns.onBackendMessage(kDelta, kNow).replaced);
  EXPECT_FALSE(turns.beforeOutput());
  const auto late = turns.onBackendMessage(kUsageLimit, kNow);
  EXPECT_FALSE(late.replaced);
  EXPECT_TRUE(late.call_ended);
  // The next call starts before output again.
  turns.onClientMessage("response.create");
  EXPECT_TRUE(turns.beforeOutput());
  const auto done = turns.onBackendMessage(kCompleted, kNow);
  EXPECT_FALSE(done.replaced);
  EXPECT_TRUE(done.call_ended);
  EXPECT_EQ(turns.callsBegun(), 2u);
}

TEST(WsTurns, MessagesThatGetNoAnswerBeginNoCall) {
  WsTurns turns;
  turns.onClientMessage("response.processed");
  turns.onClientMessage("");
  EXPECT_FALSE(turns.inCall());
  EXPECT_EQ(turns.callsBegun(), 0u);
}

TEST(WsTurns, WrappedErrorWithoutAnUpstreamEventHasNoHeadersUnlessTheErrorHasOne) {
  const common::ApiError error = common::ApiError::invalidRequest("bad", std::string("model"), std::string("x"));
  const common::JsonValue e = parsed(wrappedErrorEvent(error));
  EXPECT_EQ(common::jsonInt(e, "status"), 400);
  EXPECT_EQ(common::jsonStringOr(*common::jsonObjectValue(e, "error"), "param"), "model");
  EXPECT_EQ(common::jsonObjectValue(e, "headers"), nullptr);
}

TEST(WsTurns, AKeyRefusalCarriesRetryAfterAndTheRateLimitValuesAsHeaders) {
  common::ApiError error{429, "requests", "Rate limit reached", std::nullopt, std::string("rate_limit_exceeded"), {}};
  error.header = std::make_pair(std::string("Retry-After"), std::string("17"));
  const common::JsonValue e = parsed(
      wrappedErrorEvent(error, {}, {{"x-ratelimit-limit-requests", "2"}, {"X-RateLimit-Remaining-Requests", "0"}}));
  EXPECT_EQ(common::jsonInt(e, "status"), 429);
  EXPECT_EQ(common::jsonStringOr(*common::jsonObjectValue(e, "error"), "code"), "rate_limit_exceeded");
  const common::JsonValue* headers = common::jsonObjectValue(e, "headers");
  ASSERT_NE(headers, nullptr);
  EXPECT_EQ(common::jsonStringOr(*headers, "retry-after"), "17");
  EXPECT_EQ(common::jsonStringOr(*headers, "x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(common::jsonStringOr(*headers, "x-ratelimit-remaining-requests"), "0");  // names lowercased
}

TEST(WsClientMessage, ResponseCreateGetsTheResponsesNormalisationAndKeepsPreviousResponseId) {
  TranslateOptions options;
  CallHints hints;
  hints.client_session_id = "sess-1";
  auto m = prepareClientMessage(
      R"({"type":"response.create","model":"gpt-5.4-high","previous_response_id":"resp_1","input":"hi",)"
      R"("temperature":0.2,"store":true})",
      options, hints);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->type, "response.create");
  EXPECT_EQ(m->model, "gpt-5.4-high");  // as written: a caller key's allow-list judges it
  const common::JsonValue body = parsed(m->forward);
  EXPECT_EQ(common::jsonStringOr(body, "type"), "response.create");
  EXPECT_EQ(common::jsonStringOr(body, "model"), "gpt-5.4");
  EXPECT_EQ(common::jsonStringOr(body, "previous_response_id"), "resp_1");
  EXPECT_EQ(common::jsonStringOr(*common::jsonObjectValue(body, "reasoning"), "effort"), "high");
  EXPECT_EQ(common::jsonStringOr(body, "prompt_cache_key"), "sess-1");
  EXPECT_EQ(common::jsonMember(body, "temperature"), nullptr);
  EXPECT_EQ(common::jsonMember(body, "store")->getBool(), false);
  EXPECT_TRUE(common::jsonMember(body, "input")->isArray());
}

TEST(WsClientMessage, ARefusedCreateIsTheClientsErrorAndOtherMessagesPassUnchanged) {
  TranslateOptions options;
  auto bad = prepareClientMessage(R"({"type":"response.create","input":"hi"})", options, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status, 400);
  EXPECT_EQ(bad.error().param, "model");
  auto wrong_type = prepareClientMessage(R"({"type":"response.create","model":"m","input":"hi",)"
                                         R"("previous_response_id":7})",
                                         options, {});
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().param, "previous_response_id");
  const std::string processed = R"({"type":"response.processed","response_id":"resp_1"})";
  auto passed = prepareClientMessage(processed, options, {});
  ASSERT_TRUE(passed);
  EXPECT_EQ(passed->type, "response.processed");
  EXPECT_EQ(passed->forward, processed);
  auto garbage = prepareClientMessage("not json", options, {});
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->type, "");
  EXPECT_EQ(garbage->forward, "not json");
}

}  // namespace
}  // namespace cosp::worker
