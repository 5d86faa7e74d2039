// Throughput of the translation hot paths (not run by ctest).
//
//   translate_bench --benchmark_filter=ChatRequest10MB
//
// The bar (performance issue): >= 150 MB/s for a 10 MB chat body, parse + write.
// Reference numbers on the project's 2-core machine are in the report of the
// change that introduced common/json; POCO's own parser alone manages ~60 MB/s
// on the same body, which is why the translation path does not use it.

#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include "common/json/json_parser.h"
#include "common/json/json_writer.h"
#include "worker/sse/sse_parser.h"
#include "worker/translate/chat_request.h"
#include "worker/translate/chat_stream_mapper.h"
#include "worker/translate/responses_request.h"

namespace {

// A long multi-turn conversation with tool calls (~1 MB) plus a ~9 MB base64 image.
std::string bigChatBody() {
  static const std::string body = [] {
    std::mt19937 rng(42);
    static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string image(9 * 1024 * 1024, 'A');
    for (char& c : image) c = kB64[rng() % 64];
    std::string b = R"({"model":"gpt-5.5","stream":true,"stream_options":{"include_usage":true},"messages":[)";
    b += R"({"role":"system","content":"You are a careful assistant. Use the tools when needed."},)";
    for (int i = 0; b.size() < 1024 * 1024; ++i) {
      const std::string n = std::to_string(i);
      b += R"({"role":"user","content":"Question )" + n +
           R"(: what is the weather in Paris today, and should I \"really\" take an umbrella?\nThanks."},)";
      b += R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_)" + n +
           R"(","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"celsius\"}"}}]},)";
      b += R"({"role":"tool","tool_call_id":"call_)" + n + R"(","content":"18C, light rain, wind 12 km/h"},)";
      b += R"({"role":"assistant","content":"It is 18\u00b0C with light rain in Paris \u2014 take the umbrella."},)";
    }
    b += R"({"role":"user","content":[{"type":"text","text":"And what is in this picture?"},)";
    b += R"({"type":"image_url","image_url":{"url":"data:image/png;base64,)" + image + R"(","detail":"high"}}]}],)";
    b += R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object",)";
    b += R"("properties":{"city":{"type":"string"},"unit":{"type":"string"}},"required":["city"]}}}],"temperature":0.2})";
    return b;
  }();
  return body;
}

void BM_ChatRequest10MB(benchmark::State& state) {
  const std::string body = bigChatBody();
  const cosp::worker::TranslateOptions options;
  for (auto _ : state) {
    auto r = cosp::worker::translateChatRequest(body, options);
    if (!r.ok()) state.SkipWithError("translation failed");
    benchmark::DoNotOptimize(r->body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ChatRequest10MB)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_JsonRoundTrip10MB(benchmark::State& state) {
  const std::string body = bigChatBody();
  for (auto _ : state) {
    auto v = cosp::common::parseJson(body);
    std::string out = cosp::common::toJson(v.value());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_JsonRoundTrip10MB)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_PocoParse10MB(benchmark::State& state) {
  const std::string body = bigChatBody();
  for (auto _ : state) {
    Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
    auto v = parser.parse(body);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_PocoParse10MB)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// SSE parse + chat chunk mapping of a long text stream (the per-token hot path).
void BM_StreamMapping(benchmark::State& state) {
  std::string sse;
  sse += "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n";
  for (int i = 0; i < 5000; ++i) {
    sse += "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":" +
           std::to_string(i) + ",\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\" token\",\"logprobs\":[]}\n\n";
  }
  sse += "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":1,\"output_tokens\":5000}}}\n\n";
  for (auto _ : state) {
    cosp::worker::SseParser parser;
    cosp::worker::ChatStreamMapper mapper({"chatcmpl-bench", 1, "gpt-5.5", true, cosp::worker::ReasoningCompat::None, false});
    std::vector<std::string> out;
    out.reserve(6000);
    for (std::size_t pos = 0; pos < sse.size(); pos += 1400) {  // network-sized reads
      parser.feed(std::string_view(sse).substr(pos, 1400), [&](cosp::worker::SseEvent&& ev) { mapper.onEvent(ev, out); });
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(sse.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 5002);
}
BENCHMARK(BM_StreamMapping)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
