#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/harness/fixtures.h"
#include "worker/translate/chat_stream_mapper.h"
#include "worker/translate/response_collector.h"
#include "worker/translate/upstream_error.h"

namespace cosp::worker {
namespace {

using common::JsonValue;
using cosp::test::canonical;
using cosp::test::parsed;
using cosp::test::readFixture;

constexpr std::int64_t kCreated = 1761300000;

ChatStreamOptions streamOptions(ReasoningCompat compat = ReasoningCompat::None, bool include_usage = true,
                                bool json_output = false) {
  ChatStreamOptions o;
  o.id = "chatcmpl-test";
  o.created = kCreated;
  o.model = "gpt-5.5";
  o.include_usage = include_usage;
  o.reasoning = compat;
  o.json_output = json_output;
  return o;
}

struct StreamRun {
  std::vector<std::string> chunks;
  bool finished = false;
  std::optional<common::ApiError> failure;
  std::optional<TokenUsage> usage;
};

// Replays a fixture through SseParser (in the given chunking) into a mapper, then ends the upstream.
StreamRun runMapper(const std::string& fixture, const ChatStreamOptions& options,
                    const std::vector<std::size_t>& sizes) {
  const auto events = cosp::test::parseSseChunked(readFixture("responses/" + fixture), sizes);
  ChatStreamMapper mapper(options);
  StreamRun run;
  for (const auto& ev : events) mapper.onEvent(ev, run.chunks);
  run.finished = mapper.finished();
  mapper.onUpstreamEnd(run.chunks);
  run.failure = mapper.failure();
  run.usage = mapper.usage();
  return run;
}

StreamRun runMapper(const std::string& fixture, const ChatStreamOptions& options = streamOptions()) {
  return runMapper(fixture, options, {1 << 20});
}

std::string joinLines(const std::vector<std::string>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += c + "\n";
  return out;
}

void expectGoldenLines(const std::string& golden, const std::vector<std::string>& chunks) {
  if (cosp::test::regenerateGoldens()) cosp::test::writeFixture(golden, joinLines(chunks));
  EXPECT_EQ(joinLines(chunks), readFixture(golden)) << golden;
}

void expectGoldenJson(const std::string& golden, const std::string& json) {
  if (cosp::test::regenerateGoldens()) {
    // Stored as one compact line: stable to diff, trivially comparable by other test suites.
    cosp::test::writeFixture(golden, canonical(json) + "\n");
  }
  EXPECT_EQ(canonical(json), canonical(readFixture(golden))) << golden;
}

// Concatenation of delta.<field> over all chunks.
std::string deltaText(const std::vector<std::string>& chunks, std::string_view field) {
  std::string out;
  for (const auto& c : chunks) {
    if (c == "[DONE]") continue;
    const JsonValue v = parsed(c);
    const auto* choices = common::jsonArray(v, "choices");
    if (choices == nullptr || choices->empty()) continue;
    const JsonValue* delta = (*choices)[0].find("delta");
    if (delta == nullptr) continue;
    if (const auto s = common::jsonString(*delta, field)) out += *s;
  }
  return out;
}

std::string finishReasonOf(const std::vector<std::string>& chunks) {
  std::string reason;
  for (const auto& c : chunks) {
    if (c == "[DONE]") continue;
    const JsonValue v = parsed(c);
    const auto* choices = common::jsonArray(v, "choices");
    if (choices == nullptr || choices->empty()) continue;
    if (const auto r = common::jsonString((*choices)[0], "finish_reason")) {
      EXPECT_TRUE(reason.empty()) << "two finish reasons";
      reason = *r;
    }
  }
  return reason;
}

// Shape rules shared by every successful chat stream (README.md, Model calls).
void expectWellFormedStream(const std::vector<std::string>& chunks, bool include_usage) {
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks.back(), "[DONE]");
  const JsonValue first = parsed(chunks.front());
  EXPECT_EQ(common::jsonString(*common::jsonArray(first, "choices")->at(0).find("delta"), "role").value_or(""),
            "assistant");
  for (std::size_t i = 0; i + 1 < chunks.size(); ++i) {
    const JsonValue v = parsed(chunks[i]);
    EXPECT_EQ(common::jsonString(v, "id").value_or(""), "chatcmpl-test");
    EXPECT_EQ(common::jsonString(v, "object").value_or(""), "chat.completion.chunk");
    EXPECT_EQ(common::jsonInt(v, "created").value_or(0), kCreated);
    EXPECT_EQ(common::jsonString(v, "model").value_or(""), "gpt-5.5");
    EXPECT_EQ(v.find("usage") != nullptr, include_usage) << chunks[i];
  }
  if (include_usage) {
    const JsonValue usage_chunk = parsed(chunks[chunks.size() - 2]);
    EXPECT_TRUE(common::jsonArray(usage_chunk, "choices")->empty());
    EXPECT_TRUE(common::jsonObjectValue(usage_chunk, "usage") != nullptr);
  }
}

// ---------------------------------------------------------------- goldens + chunking

const char* const kFixtures[] = {"text",        "tool_call", "parallel_tool_calls", "reasoning_summary",
                                 "web_search",  "failed",    "incomplete_length",   "incomplete_content_filter",
                                 "error_event", "truncated"};

TEST(ChatStreamMapper, GoldenChunkSequences) {
  for (const char* f : kFixtures) {
    const auto run = runMapper(std::string(f) + ".sse");
    expectGoldenLines(std::string("chat_stream/") + f + ".jsonl", run.chunks);
  }
  expectGoldenLines("chat_stream/reasoning_summary.reasoning_content.jsonl",
                    runMapper("reasoning_summary.sse", streamOptions(ReasoningCompat::ReasoningContent)).chunks);
  expectGoldenLines("chat_stream/reasoning_summary.think_tags.jsonl",
                    runMapper("reasoning_summary.sse", streamOptions(ReasoningCompat::ThinkTags)).chunks);
}

TEST(ChatStreamMapper, SameChunksForEveryNetworkChunking) {
  for (const char* f : kFixtures) {
    const auto whole = runMapper(std::string(f) + ".sse");
    for (unsigned seed = 1; seed <= 8; ++seed) {
      const auto sizes = cosp::test::randomChunkSizes(seed, 97, seed * 3);
      const auto chunked = runMapper(std::string(f) + ".sse", streamOptions(), sizes);
      EXPECT_EQ(chunked.chunks, whole.chunks) << f << " seed " << seed;
    }
  }
}

// ---------------------------------------------------------------- semantics

TEST(ChatStreamMapper, TextStream) {
  const auto run = runMapper("text.sse");
  expectWellFormedStream(run.chunks, true);
  EXPECT_EQ(deltaText(run.chunks, "content"),
            "Hello! The proxy works. \xC3\x87"
            "a marche \xF0\x9F\x9A\x80");
  EXPECT_EQ(finishReasonOf(run.chunks), "stop");
  EXPECT_TRUE(run.finished);
  EXPECT_FALSE(run.failure.has_value());
  ASSERT_TRUE(run.usage.has_value());
  EXPECT_EQ(run.usage->input_tokens, 25);
  EXPECT_EQ(run.usage->output_tokens, 42);
  EXPECT_EQ(run.usage->total_tokens, 67);
  EXPECT_EQ(run.usage->cached_tokens, 8);
  EXPECT_EQ(run.usage->reasoning_tokens, 28);
  EXPECT_EQ(
      canonical(run.chunks[run.chunks.size() - 2]),
      R"({"id":"chatcmpl-test","object":"chat.completion.chunk","created":1761300000,"model":"gpt-5.5","choices":[],)"
      R"("usage":{"prompt_tokens":25,"completion_tokens":42,"total_tokens":67,"prompt_tokens_details":{"cached_tokens":8},)"
      R"("completion_tokens_details":{"reasoning_tokens":28}}})");
  // Role chunk, four content chunks, final, usage, [DONE].
  EXPECT_EQ(run.chunks.size(), 8u);
}

TEST(ChatStreamMapper, WithoutIncludeUsageNoUsageAnywhere) {
  const auto run = runMapper("text.sse", streamOptions(ReasoningCompat::None, false));
  expectWellFormedStream(run.chunks, false);
  EXPECT_EQ(run.chunks.size(), 7u);
  EXPECT_EQ(
      run.chunks[0],
      R"({"id":"chatcmpl-test","object":"chat.completion.chunk","created":1761300000,"model":"gpt-5.5",)"
      R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})");
  EXPECT_EQ(run.chunks[5],
            R"({"id":"chatcmpl-test","object":"chat.completion.chunk","created":1761300000,"model":"gpt-5.5",)"
            R"("choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})");
}

TEST(ChatStreamMapper, ToolCallStream) {
  const auto run = runMapper("tool_call.sse");
  expectWellFormedStream(run.chunks, true);
  EXPECT_EQ(finishReasonOf(run.chunks), "tool_calls");
  EXPECT_EQ(deltaText(run.chunks, "content"), "");
  // Header chunk then three argument fragments, all index 0.
  EXPECT_EQ(
      canonical(run.chunks[1]),
      R"({"id":"chatcmpl-test","object":"chat.completion.chunk","created":1761300000,"model":"gpt-5.5","choices":[{"index":0,)"
      R"("delta":{"tool_calls":[{"index":0,"id":"call_Wx7PqL2mN9vR4tYs","type":"function","function":{"name":"get_weather",)"
      R"("arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null})");
  std::string args;
  for (std::size_t i = 2; i <= 4; ++i) {
    const JsonValue v = parsed(run.chunks[i]);
    const JsonValue& call =
        common::jsonArray(*common::jsonArray(v, "choices")->at(0).find("delta"), "tool_calls")->at(0);
    EXPECT_EQ(common::jsonInt(call, "index"), std::optional<std::int64_t>(0));
    EXPECT_EQ(call.find("id"), nullptr);
    args += *common::jsonString(*call.find("function"), "arguments");
  }
  EXPECT_EQ(args, R"({"city":"Paris","unit":"celsius"})");
}

TEST(ChatStreamMapper, ParallelToolCallsGetIncreasingIndexes) {
  const auto run = runMapper("parallel_tool_calls.sse");
  expectWellFormedStream(run.chunks, true);
  EXPECT_EQ(finishReasonOf(run.chunks), "tool_calls");
  std::map<std::int64_t, std::string> args;
  std::map<std::int64_t, std::string> names;
  std::map<std::int64_t, std::string> ids;
  for (const auto& c : run.chunks) {
    if (c == "[DONE]") continue;
    const JsonValue v = parsed(c);
    const auto* choices = common::jsonArray(v, "choices");
    if (choices->empty()) continue;
    const auto* calls = common::jsonArray(*choices->at(0).find("delta"), "tool_calls");
    if (calls == nullptr) continue;
    for (const auto& call : *calls) {
      const auto index = *common::jsonInt(call, "index");
      if (const auto id = common::jsonString(call, "id")) ids[index] = *id;
      const JsonValue* fn = call.find("function");
      if (const auto n = common::jsonString(*fn, "name")) names[index] = *n;
      args[index] += common::jsonString(*fn, "arguments").value_or("");
    }
  }
  EXPECT_EQ(ids, (std::map<std::int64_t, std::string>{{0, "call_A1b2C3d4E5f6G7h8"}, {1, "call_H8g7F6e5D4c3B2a1"}}));
  EXPECT_EQ(names, (std::map<std::int64_t, std::string>{{0, "get_weather"}, {1, "get_time"}}));
  EXPECT_EQ(args, (std::map<std::int64_t, std::string>{{0, R"({"city":"Tokyo"})"}, {1, R"({"city":"Tokyo"})"}}));
}

TEST(ChatStreamMapper, InterleavedParallelArgumentsAndMissingDeltas) {
  // Deltas of two calls interleaved, matched by item_id; a third call only has .done.
  const std::string sse =
      "data: "
      "{\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"id\":\"fc_a\",\"type\":\"function_"
      "call\",\"call_id\":\"call_a\",\"name\":\"fa\",\"arguments\":\"\"}}\n\n"
      "data: "
      "{\"type\":\"response.output_item.added\",\"output_index\":1,\"item\":{\"id\":\"fc_b\",\"type\":\"function_"
      "call\",\"call_id\":\"call_b\",\"name\":\"fb\",\"arguments\":\"\"}}\n\n"
      "data: "
      "{\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_b\",\"output_index\":1,\"delta\":\"{"
      "\\\"b\\\"\"}\n\n"
      "data: "
      "{\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_a\",\"output_index\":0,\"delta\":\"{"
      "\\\"a\\\":1}\"}\n\n"
      "data: {\"type\":\"response.function_call_arguments.delta\",\"output_index\":1,\"delta\":\":2}\"}\n\n"
      "data: "
      "{\"type\":\"response.output_item.done\",\"output_index\":2,\"item\":{\"id\":\"fc_c\",\"type\":\"function_call\","
      "\"call_id\":\"call_c\",\"name\":\"fc\",\"arguments\":\"{}\"}}\n\n"
      "data: "
      "{\"type\":\"response.function_call_arguments.done\",\"item_id\":\"fc_a\",\"output_index\":0,\"arguments\":\"{"
      "\\\"a\\\":1}\"}\n\n"
      "data: {\"type\":\"response.completed\",\"response\":{\"output\":[]}}\n\n";
  ChatStreamMapper mapper(streamOptions(ReasoningCompat::None, false));
  std::vector<std::string> out;
  for (const auto& ev : cosp::test::parseSse(sse)) mapper.onEvent(ev, out);
  std::vector<std::string> frags;
  for (const auto& c : out) {
    if (c == "[DONE]") continue;
    const JsonValue v = parsed(c);
    const auto* calls = common::jsonArray(*common::jsonArray(v, "choices")->at(0).find("delta"), "tool_calls");
    if (calls == nullptr) continue;
    const JsonValue& call = calls->at(0);
    frags.push_back(std::to_string(*common::jsonInt(call, "index")) + ":" +
                    std::string(common::jsonString(*call.find("function"), "arguments").value_or("")));
  }
  EXPECT_EQ(frags, (std::vector<std::string>{"0:", "1:", R"(1:{"b")", R"(0:{"a":1})", "1::2}", "2:", "2:{}"}));
  EXPECT_EQ(finishReasonOf(out), "tool_calls");
  EXPECT_EQ(out.back(), "[DONE]");
}

TEST(ChatStreamMapper, ReasoningModes) {
  const std::string reasoning =
      "**Reading the question**\n\nThe user wants the sum of 17 and 25.\n\n**Computing**\n\n17 + 25 = 42.";
  const std::string answer = "17 + 25 = **42**.";

  auto none = runMapper("reasoning_summary.sse", streamOptions(ReasoningCompat::None));
  EXPECT_EQ(deltaText(none.chunks, "content"), answer);
  EXPECT_EQ(deltaText(none.chunks, "reasoning_content"), "");

  auto rc = runMapper("reasoning_summary.sse", streamOptions(ReasoningCompat::ReasoningContent));
  expectWellFormedStream(rc.chunks, true);
  EXPECT_EQ(deltaText(rc.chunks, "reasoning_content"), reasoning);
  EXPECT_EQ(deltaText(rc.chunks, "content"), answer);

  auto think = runMapper("reasoning_summary.sse", streamOptions(ReasoningCompat::ThinkTags));
  expectWellFormedStream(think.chunks, true);
  EXPECT_EQ(deltaText(think.chunks, "content"), "<think>\n" + reasoning + "\n</think>\n\n" + answer);

  // JSON output never gets reasoning mixed in, whatever the mode.
  for (auto mode : {ReasoningCompat::ReasoningContent, ReasoningCompat::ThinkTags}) {
    auto json = runMapper("reasoning_summary.sse", streamOptions(mode, true, true));
    EXPECT_EQ(deltaText(json.chunks, "content"), answer);
    EXPECT_EQ(deltaText(json.chunks, "reasoning_content"), "");
  }
}

TEST(ChatStreamMapper, WebSearchStream) {
  const auto run = runMapper("web_search.sse");
  expectWellFormedStream(run.chunks, true);
  EXPECT_EQ(deltaText(run.chunks, "content"),
            "OpenAI published its latest updates on the news page "
            "([openai.com](https://openai.com/news/?utm_source=openai)).");
  EXPECT_EQ(finishReasonOf(run.chunks), "stop");
}

TEST(ChatStreamMapper, IncompleteStreams) {
  auto length = runMapper("incomplete_length.sse");
  expectWellFormedStream(length.chunks, true);
  EXPECT_EQ(finishReasonOf(length.chunks), "length");
  EXPECT_EQ(deltaText(length.chunks, "content"), "Once upon a time, in a land far away, there");
  EXPECT_FALSE(length.failure.has_value());
  auto filtered = runMapper("incomplete_content_filter.sse");
  expectWellFormedStream(filtered.chunks, true);
  EXPECT_EQ(finishReasonOf(filtered.chunks), "content_filter");
}

TEST(ChatStreamMapper, FailedStreamEmitsOneErrorAndNoDone) {
  const auto run = runMapper("failed.sse");
  ASSERT_EQ(run.chunks.size(), 1u);
  EXPECT_TRUE(run.finished);
  const JsonValue err = parsed(run.chunks[0]);
  const JsonValue* e = common::jsonObjectValue(err, "error");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(common::jsonString(*e, "code").value_or(""), "server_error");
  EXPECT_EQ(common::jsonString(*e, "type").value_or(""), "upstream_error");
  EXPECT_NE(common::jsonString(*e, "message").value_or("").find("An error occurred"), std::string::npos);
  ASSERT_TRUE(run.failure.has_value());
  EXPECT_EQ(run.failure->status, 502);
}

TEST(ChatStreamMapper, ErrorEvent) {
  const auto run = runMapper("error_event.sse");
  ASSERT_EQ(run.chunks.size(), 1u);
  ASSERT_TRUE(run.failure.has_value());
  EXPECT_EQ(run.failure->status, 400);
  EXPECT_EQ(run.failure->code.value_or(""), "context_length_exceeded");
  EXPECT_EQ(run.failure->param.value_or(""), "input");
  EXPECT_EQ(
      canonical(run.chunks[0]),
      R"({"error":{"message":"Your input exceeds the context window of this model. Please adjust your input and try again.",)"
      R"("type":"invalid_request_error","param":"input","code":"context_length_exceeded"}})");
}

TEST(ChatStreamMapper, TruncatedStreamEndsWithOneError) {
  const auto events = cosp::test::parseSse(readFixture("responses/truncated.sse"));
  ChatStreamMapper mapper(streamOptions());
  std::vector<std::string> out;
  for (const auto& ev : events) mapper.onEvent(ev, out);
  EXPECT_FALSE(mapper.finished());
  EXPECT_EQ(deltaText(out, "content"), "The answer is being written");
  const std::size_t before = out.size();
  mapper.onUpstreamEnd(out);
  ASSERT_EQ(out.size(), before + 1);
  EXPECT_TRUE(mapper.finished());
  EXPECT_NE(out.back().find("\"code\":\"upstream_stream_truncated\""), std::string::npos) << out.back();
  ASSERT_TRUE(mapper.failure().has_value());
  EXPECT_EQ(mapper.failure()->status, 502);
  // Nothing after the end.
  mapper.onUpstreamEnd(out);
  mapper.onEvent(SseEvent{"", R"({"type":"response.output_text.delta","delta":"late"})", ""}, out);
  EXPECT_EQ(out.size(), before + 1);
}

TEST(ChatStreamMapper, IdleTimeoutReasonIsUsed) {
  ChatStreamMapper mapper(streamOptions());
  std::vector<std::string> out;
  mapper.onUpstreamEnd(out, upstreamIdleTimeoutError());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("upstream_idle_timeout"), std::string::npos);
}

// Found by fuzz_sse: without total_tokens, input + output tokens overflowed int64 (undefined
// behaviour) when the upstream sent huge counts; the sum now saturates.
TEST(ChatStreamMapper, HugeTokenCountsSaturate) {
  for (const char* counts : {R"("input_tokens":9223372036854775807,"output_tokens":5)",
                             R"("input_tokens":-9223372036854775807,"output_tokens":-5)"}) {
    ChatStreamMapper mapper(streamOptions());
    std::vector<std::string> out;
    mapper.onEvent(
        SseEvent{"", std::string(R"({"type":"response.completed","response":{"usage":{)") + counts + "}}}", ""}, out);
    ASSERT_TRUE(mapper.usage().has_value()) << counts;
    EXPECT_EQ(mapper.usage()->total_tokens, mapper.usage()->input_tokens > 0 ? INT64_MAX : INT64_MIN) << counts;
  }
}

TEST(ChatStreamMapper, IgnoresNoiseAndUsesSseEventNameWithoutType) {
  ChatStreamMapper mapper(streamOptions(ReasoningCompat::None, false));
  std::vector<std::string> out;
  mapper.onEvent(SseEvent{"", "not json", ""}, out);
  mapper.onEvent(SseEvent{"response.output_text.delta", R"({"delta":"hi"})", ""}, out);
  mapper.onEvent(SseEvent{"", R"({"type":"response.output_text.delta","delta":""})", ""}, out);
  mapper.onEvent(SseEvent{"", R"({"type":"response.something_new","x":1})", ""}, out);
  mapper.onEvent(SseEvent{"response.completed", R"({"response":{}})", ""}, out);
  ASSERT_EQ(out.size(), 4u);  // role, "hi", final, [DONE]
  EXPECT_EQ(deltaText(out, "content"), "hi");
  EXPECT_EQ(out.back(), "[DONE]");
}

TEST(ChatStreamMapper, MessageWithoutDeltasIsSentWhole) {
  ChatStreamMapper mapper(streamOptions(ReasoningCompat::None, false));
  std::vector<std::string> out;
  mapper.onEvent(
      SseEvent{"", R"({"type":"response.output_item.done","output_index":0,"item":{"id":"m1","type":"message",
      "content":[{"type":"output_text","text":"whole"},{"type":"refusal","refusal":"no"}]}})",
               ""},
      out);
  mapper.onEvent(SseEvent{"", R"({"type":"response.completed","response":{}})", ""}, out);
  EXPECT_EQ(deltaText(out, "content"), "whole");
  EXPECT_EQ(deltaText(out, "refusal"), "no");
}

TEST(ChatStreamMapper, NewIdsLookRight) {
  const std::string a = newChatCompletionId();
  const std::string b = newChatCompletionId();
  EXPECT_EQ(a.rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(a.size(), 33u);
  EXPECT_NE(a, b);
}

// ---------------------------------------------------------------- collector

struct Collected {
  ResponseCollector collector;
};

void collect(ResponseCollector& c, const std::string& fixture, const std::vector<std::size_t>& sizes = {1 << 20}) {
  for (const auto& ev : cosp::test::parseSseChunked(readFixture("responses/" + fixture), sizes)) c.onEvent(ev);
  c.onUpstreamEnd();
}

const char* const kCompleteFixtures[] = {
    "text",       "tool_call",         "parallel_tool_calls",      "reasoning_summary",
    "web_search", "incomplete_length", "incomplete_content_filter"};

TEST(ResponseCollector, GoldenOutputs) {
  for (const char* f : kCompleteFixtures) {
    ResponseCollector c;
    collect(c, std::string(f) + ".sse");
    ASSERT_TRUE(c.completed()) << f;
    EXPECT_FALSE(c.failure().has_value()) << f;
    expectGoldenJson(std::string("responses_object/") + f + ".json", c.responsesObjectJson());
    expectGoldenJson(std::string("chat_completion/") + f + ".json",
                     c.chatCompletionJson("chatcmpl-test", kCreated, "gpt-5.5", ReasoningCompat::None, false));
  }
  ResponseCollector c;
  collect(c, "reasoning_summary.sse");
  expectGoldenJson(
      "chat_completion/reasoning_summary.reasoning_content.json",
      c.chatCompletionJson("chatcmpl-test", kCreated, "gpt-5.5", ReasoningCompat::ReasoningContent, false));
  expectGoldenJson("chat_completion/reasoning_summary.think_tags.json",
                   c.chatCompletionJson("chatcmpl-test", kCreated, "gpt-5.5", ReasoningCompat::ThinkTags, false));
}

TEST(ResponseCollector, ChunkingDoesNotMatter) {
  for (const char* f : kCompleteFixtures) {
    ResponseCollector whole;
    collect(whole, std::string(f) + ".sse");
    for (unsigned seed = 1; seed <= 4; ++seed) {
      ResponseCollector chunked;
      collect(chunked, std::string(f) + ".sse", cosp::test::randomChunkSizes(seed, 50, 11));
      EXPECT_EQ(chunked.responsesObjectJson(), whole.responsesObjectJson()) << f;
    }
  }
}

TEST(ResponseCollector, ResponsesObjectFillsOutputFromItems) {
  ResponseCollector c;
  collect(c, "text.sse");
  const JsonValue obj = parsed(c.responsesObjectJson());
  EXPECT_EQ(common::jsonString(obj, "id").value_or(""), "resp_0a1b2c3d4e5f60718293a4b5c6d7e8f9");
  EXPECT_EQ(common::jsonString(obj, "status").value_or(""), "completed");
  const auto* output = common::jsonArray(obj, "output");
  ASSERT_NE(output, nullptr);
  ASSERT_EQ(output->size(), 2u);
  EXPECT_EQ(common::jsonString(output->at(0), "type").value_or(""), "reasoning");
  EXPECT_EQ(common::jsonString(output->at(1), "type").value_or(""), "message");
  EXPECT_EQ(common::jsonString(obj, "output_text").value_or(""),
            "Hello! The proxy works. \xC3\x87"
            "a marche \xF0\x9F\x9A\x80");
  EXPECT_EQ(common::jsonInt(*common::jsonObjectValue(obj, "usage"), "total_tokens"), std::optional<std::int64_t>(67));
  // Key order of the upstream object is kept; output_text comes last.
  EXPECT_EQ(obj.getObject()->front().key, "id");
  EXPECT_EQ(obj.getObject()->back().key, "output_text");
}

TEST(ResponseCollector, NonEmptyCompletedOutputIsUsedAsIs) {
  ResponseCollector c;
  c.onEvent(SseEvent{
      "",
      R"({"type":"response.output_item.done","output_index":0,"item":{"type":"message","content":[{"type":"output_text","text":"from item"}]}})",
      ""});
  c.onEvent(SseEvent{
      "",
      R"({"type":"response.completed","response":{"id":"r","output":[{"type":"message","content":[{"type":"output_text","text":"own"}]}]}})",
      ""});
  ASSERT_TRUE(c.completed());
  EXPECT_EQ(
      c.responsesObjectJson(),
      R"({"id":"r","output":[{"type":"message","content":[{"type":"output_text","text":"own"}]}],"output_text":"own"})");
}

TEST(ResponseCollector, ItemsAreOrderedByOutputIndex) {
  ResponseCollector c;
  c.onEvent(SseEvent{
      "",
      R"({"type":"response.output_item.done","output_index":1,"item":{"type":"message","content":[{"type":"output_text","text":"B"}]}})",
      ""});
  c.onEvent(SseEvent{
      "",
      R"({"type":"response.output_item.done","output_index":0,"item":{"type":"message","content":[{"type":"output_text","text":"A"}]}})",
      ""});
  c.onEvent(SseEvent{"", R"({"type":"response.completed","response":{"output":[]}})", ""});
  EXPECT_EQ(common::jsonString(parsed(c.responsesObjectJson()), "output_text").value_or(""), "AB");
}

TEST(ResponseCollector, ChatCompletionForText) {
  ResponseCollector c;
  collect(c, "text.sse");
  EXPECT_EQ(canonical(c.chatCompletionJson("chatcmpl-x", 5, "gpt-5.5-high", ReasoningCompat::None, false)),
            "{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion\",\"created\":5,\"model\":\"gpt-5.5-high\","
            "\"choices\":[{\"index\":0,"
            "\"message\":{\"role\":\"assistant\",\"content\":\"Hello! The proxy works. \xC3\x87"
            "a marche \xF0\x9F\x9A\x80\",\"refusal\":null},"
            "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":25,\"completion_tokens\":42,"
            "\"total_tokens\":67,\"prompt_tokens_details\":{\"cached_tokens\":8},\"completion_tokens_details\":{"
            "\"reasoning_tokens\":28}}}");
}

TEST(ResponseCollector, ChatCompletionForToolCalls) {
  ResponseCollector c;
  collect(c, "parallel_tool_calls.sse");
  const JsonValue v = parsed(c.chatCompletionJson("chatcmpl-x", 5, "gpt-5.5", ReasoningCompat::None, false));
  const JsonValue& choice = common::jsonArray(v, "choices")->at(0);
  EXPECT_EQ(common::jsonString(choice, "finish_reason").value_or(""), "tool_calls");
  const JsonValue* message = choice.find("message");
  EXPECT_TRUE(message->find("content")->isNull());
  const auto* calls = common::jsonArray(*message, "tool_calls");
  ASSERT_NE(calls, nullptr);
  ASSERT_EQ(calls->size(), 2u);
  EXPECT_EQ(
      canonical(common::toJson(calls->at(0))),
      R"({"id":"call_A1b2C3d4E5f6G7h8","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Tokyo\"}"}})");
  EXPECT_EQ(common::jsonString(*calls->at(1).find("function"), "name").value_or(""), "get_time");
}

TEST(ResponseCollector, ChatCompletionReasoningModes) {
  ResponseCollector c;
  collect(c, "reasoning_summary.sse");
  const std::string reasoning =
      "**Reading the question**\n\nThe user wants the sum of 17 and 25.\n\n**Computing**\n\n17 + 25 = 42.";
  auto message = [&](ReasoningCompat mode, bool json) {
    return *parsed(c.chatCompletionJson("id", 1, "m", mode, json)).find("choices")->getArray()->at(0).find("message");
  };
  EXPECT_EQ(message(ReasoningCompat::None, false).find("reasoning_content"), nullptr);
  EXPECT_EQ(common::jsonString(message(ReasoningCompat::ReasoningContent, false), "reasoning_content").value_or(""),
            reasoning);
  EXPECT_EQ(common::jsonString(message(ReasoningCompat::ThinkTags, false), "content").value_or(""),
            "<think>\n" + reasoning + "\n</think>\n\n17 + 25 = **42**.");
  EXPECT_EQ(common::jsonString(message(ReasoningCompat::ThinkTags, true), "content").value_or(""), "17 + 25 = **42**.");
  EXPECT_EQ(message(ReasoningCompat::ReasoningContent, true).find("reasoning_content"), nullptr);
}

TEST(ResponseCollector, ChatCompletionCarriesUrlCitations) {
  ResponseCollector c;
  collect(c, "web_search.sse");
  const JsonValue v = parsed(c.chatCompletionJson("id", 1, "m", ReasoningCompat::None, false));
  const JsonValue* message = common::jsonArray(v, "choices")->at(0).find("message");
  const std::string content(*common::jsonString(*message, "content"));
  const auto* anns = common::jsonArray(*message, "annotations");
  ASSERT_NE(anns, nullptr);
  ASSERT_EQ(anns->size(), 1u);
  const JsonValue* cite = anns->at(0).find("url_citation");
  EXPECT_EQ(common::jsonString(*cite, "url").value_or(""), "https://openai.com/news/?utm_source=openai");
  EXPECT_EQ(common::jsonString(*cite, "title").value_or(""), "OpenAI News");
  const auto start = *common::jsonInt(*cite, "start_index");
  const auto end = *common::jsonInt(*cite, "end_index");
  EXPECT_EQ(content.substr(start, end - start), "([openai.com](https://openai.com/news/?utm_source=openai))");
}

// Found by fuzz_sse: an annotation index near INT64_MAX plus the text before it (or the think-tag
// prefix) overflowed int64 (undefined behaviour); the offsets now saturate.
TEST(ResponseCollector, HugeAnnotationIndexesSaturate) {
  ResponseCollector c;
  c.onEvent(SseEvent{
      "",
      R"({"type":"response.output_item.done","output_index":0,"item":{"type":"reasoning","summary":[{"type":"summary_text","text":"why"}]}})",
      ""});
  c.onEvent(SseEvent{
      "",
      R"({"type":"response.output_item.done","output_index":1,"item":{"type":"message","content":[{"type":"output_text","text":"ab"},{"type":"output_text","text":"c","annotations":[{"type":"url_citation","start_index":9223372036854775807,"end_index":-9223372036854775808,"url":"u","title":"t"}]}]}})",
      ""});
  c.onEvent(SseEvent{"", R"({"type":"response.completed","response":{}})", ""});
  ASSERT_TRUE(c.completed());
  for (ReasoningCompat compat : {ReasoningCompat::None, ReasoningCompat::ThinkTags}) {
    const JsonValue chat = parsed(c.chatCompletionJson("chatcmpl-test", kCreated, "gpt-5.5", compat, false));
    const JsonValue& message = *common::jsonObjectValue(common::jsonArray(chat, "choices")->at(0), "message");
    const JsonValue& citation =
        *common::jsonObjectValue(common::jsonArray(message, "annotations")->at(0), "url_citation");
    EXPECT_EQ(common::jsonInt(citation, "start_index"), std::optional<std::int64_t>(INT64_MAX));
    // The negative end index moves by the text before it (2, plus the think tags) without wrapping.
    EXPECT_LT(*common::jsonInt(citation, "end_index"), INT64_MIN + 100);
  }
}

TEST(ResponseCollector, IncompleteFinishReasons) {
  ResponseCollector length;
  collect(length, "incomplete_length.sse");
  EXPECT_TRUE(length.completed());
  EXPECT_EQ(length.incompleteReason().value_or(""), "max_output_tokens");
  const JsonValue v = parsed(length.chatCompletionJson("id", 1, "m", ReasoningCompat::None, false));
  EXPECT_EQ(common::jsonString(common::jsonArray(v, "choices")->at(0), "finish_reason").value_or(""), "length");
  EXPECT_EQ(common::jsonString(parsed(length.responsesObjectJson()), "status").value_or(""), "incomplete");
  ResponseCollector filtered;
  collect(filtered, "incomplete_content_filter.sse");
  const JsonValue f = parsed(filtered.chatCompletionJson("id", 1, "m", ReasoningCompat::None, false));
  EXPECT_EQ(common::jsonString(common::jsonArray(f, "choices")->at(0), "finish_reason").value_or(""), "content_filter");
}

TEST(ResponseCollector, Failures) {
  ResponseCollector failed;
  collect(failed, "failed.sse");
  EXPECT_FALSE(failed.completed());
  ASSERT_TRUE(failed.failure().has_value());
  EXPECT_EQ(failed.failure()->status, 502);
  EXPECT_EQ(failed.failure()->code.value_or(""), "server_error");

  ResponseCollector error;
  collect(error, "error_event.sse");
  ASSERT_TRUE(error.failure().has_value());
  EXPECT_EQ(error.failure()->status, 400);
  EXPECT_EQ(error.failure()->code.value_or(""), "context_length_exceeded");

  ResponseCollector truncated;
  collect(truncated, "truncated.sse");
  EXPECT_FALSE(truncated.completed());
  ASSERT_TRUE(truncated.failure().has_value());
  EXPECT_EQ(truncated.failure()->code.value_or(""), "upstream_stream_truncated");
  EXPECT_EQ(truncated.failure()->status, 502);
}

}  // namespace
}  // namespace cosp::worker
