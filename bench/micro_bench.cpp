// cosp-microbench: the cost of each pure layer of the proxy (no sockets).
//
//   cosp-microbench [--benchmark_filter=ChatRequest/10MB] [Google Benchmark flags]
//
// Request side: Chat -> Responses translation and /v1/responses normalisation of 1 KB, 100 KB
// and 10 MB bodies (bench/corpus.cpp), the same on text-heavy 100 KB and 1 MB bodies with no image
// (*RequestText, issue 17: >= 1 GB/s), and the JSON layer alone (parse + write). Stream side:
// SSE parsing, Responses -> chat.completion.chunk mapping and both together, per event; the
// non-streaming collapse of a whole stream into one chat.completion / response object.
// The bar (performance issue): ChatRequest/10MB >= 150 MB/s.

#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/corpus.h"
#include "common/json/json_parser.h"
#include "common/json/json_writer.h"
#include "worker/sse/sse_parser.h"
#include "worker/translate/chat_request.h"
#include "worker/translate/chat_stream_mapper.h"
#include "worker/translate/response_collector.h"
#include "worker/translate/responses_request.h"

namespace cosp::bench {
namespace {

constexpr std::size_t kSizes[] = {1024, 100 * 1024, 10 * 1024 * 1024};

const std::string& chatBody(std::size_t size) {
  static std::string bodies[3];
  for (int i = 0; i < 3; ++i) {
    if (kSizes[i] == size) {
      if (bodies[i].empty()) bodies[i] = chatRequestBody(size);
      return bodies[i];
    }
  }
  static std::string other;
  other = chatRequestBody(size);
  return other;
}

const std::string& responsesBody(std::size_t size) {
  static std::string bodies[3];
  for (int i = 0; i < 3; ++i) {
    if (kSizes[i] == size) {
      if (bodies[i].empty()) bodies[i] = responsesRequestBody(size);
      return bodies[i];
    }
  }
  static std::string other;
  other = responsesRequestBody(size);
  return other;
}

// The size label used in names: 1KB, 100KB, 10MB.
std::string sizeLabel(std::size_t s) {
  if (s >= 1024 * 1024) return std::to_string(s / (1024 * 1024)) + "MB";
  return std::to_string(s / 1024) + "KB";
}

// Translates `body` with `translate` (chat or responses) every iteration, in bytes per second.
template <typename Translate>
void translateLoop(benchmark::State& state, const std::string& body, Translate translate) {
  const worker::TranslateOptions options;
  for (auto _ : state) {
    auto r = translate(body, options);
    if (!r.ok()) {
      state.SkipWithError("translation failed");
      break;
    }
    benchmark::DoNotOptimize(r->body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
  state.SetLabel(std::to_string(body.size()) + " bytes");
}

auto translateChat = [](const std::string& body, const worker::TranslateOptions& options) {
  return worker::translateChatRequest(body, options);
};
auto normalizeResponses = [](const std::string& body, const worker::TranslateOptions& options) {
  return worker::normalizeResponsesRequest(body, options);
};

void BM_ChatRequest(benchmark::State& state, std::size_t size) { translateLoop(state, chatBody(size), translateChat); }

// A hostile body: `keys` distinct unknown top-level fields (~11 bytes each, 100,000 make 1.1 MB),
// every one dropped and named in x-codex-sub-proxy-dropped. Guards against bookkeeping that is
// quadratic in the number of dropped fields (it once cost 11.5 s of CPU for this body).
void BM_ChatRequestManyUnknownKeys(benchmark::State& state) {
  const auto keys = static_cast<std::size_t>(state.range(0));
  std::string body = R"({"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}])";
  for (std::size_t i = 0; i < keys; ++i) body += ",\"k" + std::to_string(i) + "\":0";
  body += "}";
  const worker::TranslateOptions options;
  for (auto _ : state) {
    auto r = worker::translateChatRequest(body, options);
    if (!r.ok()) {
      state.SkipWithError("translation failed");
      break;
    }
    benchmark::DoNotOptimize(r->body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
  state.SetLabel(std::to_string(keys) + " keys, " + std::to_string(body.size()) + " bytes");
}

void BM_ResponsesRequest(benchmark::State& state, std::size_t size) {
  translateLoop(state, responsesBody(size), normalizeResponses);
}

// Text-heavy bodies (issue 17): no image to borrow, every byte is conversation text.
const std::string& textBody(bool chat, std::size_t size) {
  static std::string bodies[2][2];
  std::string& b = bodies[chat ? 0 : 1][size >= 1024 * 1024 ? 1 : 0];
  if (b.empty()) b = chat ? chatRequestTextBody(size) : responsesRequestTextBody(size);
  return b;
}

void BM_RequestText(benchmark::State& state, bool chat, std::size_t size) {
  if (chat) {
    translateLoop(state, textBody(true, size), translateChat);
  } else {
    translateLoop(state, textBody(false, size), normalizeResponses);
  }
}

// The JSON layer alone on the 10 MB chat body: the floor under the translation.
// Parses and writes `body` back per iteration: the JSON layer alone.
void parseWriteLoop(benchmark::State& state, const std::string& body, const common::JsonParseOptions& options) {
  for (auto _ : state) {
    auto v = common::parseJson(body, options);
    if (!v.ok()) {
      state.SkipWithError("parse failed");
      break;
    }
    std::string out = common::toJson(v.value());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}

void BM_JsonParseWrite(benchmark::State& state, std::size_t size) {
  parseWriteLoop(state, chatBody(size), common::JsonParseOptions{});
}

// The JSON layer alone on the text-heavy 1 MB chat body, as the translation uses it (strings
// viewed, escaped ones written back as they came): the floor under BM_ChatRequestText/1MB.
void BM_JsonParseWriteText(benchmark::State& state) {
  common::JsonParseOptions options;
  options.borrow_strings = true;
  parseWriteLoop(state, textBody(true, 1024 * 1024), options);
}

// For reference: POCO's JSON parser (ordered keys) on the same body; why common/json exists.
void BM_PocoJsonParse(benchmark::State& state, std::size_t size) {
  const std::string& body = chatBody(size);
  for (auto _ : state) {
    Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
    auto v = parser.parse(body);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}

// A long answer: 2000 text deltas, then 4 tool calls of 50 argument fragments each.
const std::string& transcript() {
  static const std::string t = responsesTranscript(2000, 4, 50);
  return t;
}

std::vector<worker::SseEvent> parsedEvents() {
  std::vector<worker::SseEvent> events;
  worker::SseParser parser;
  parser.feed(transcript(), [&](worker::SseEvent&& e) { events.push_back(std::move(e)); });
  parser.finish([&](worker::SseEvent&& e) { events.push_back(std::move(e)); });
  return events;
}

worker::ChatStreamOptions chatOptions() {
  return {"chatcmpl-bench", 1761300000, "gpt-5.5", true, worker::ReasoningCompat::None, false};
}

// SSE parsing alone, fed in 16 KiB reads (the upstream client's read size).
void BM_SseParse(benchmark::State& state) {
  const std::string& sse = transcript();
  std::size_t events = 0;
  for (auto _ : state) {
    worker::SseParser parser;
    events = 0;
    for (std::size_t pos = 0; pos < sse.size(); pos += 16 * 1024) {
      parser.feed(std::string_view(sse).substr(pos, 16 * 1024), [&](worker::SseEvent&& e) {
        ++events;
        benchmark::DoNotOptimize(e.data.data());
      });
    }
    parser.finish([&](worker::SseEvent&&) { ++events; });
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(sse.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(events));
}

// Responses -> chat.completion.chunk mapping alone, on parsed events.
void BM_ChatChunkMapping(benchmark::State& state) {
  const std::vector<worker::SseEvent> events = parsedEvents();
  std::vector<std::string> out;
  out.reserve(8);
  for (auto _ : state) {
    worker::ChatStreamMapper mapper(chatOptions());
    for (const auto& e : events) {
      mapper.onEvent(e, out);
      benchmark::DoNotOptimize(out.data());
      out.clear();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(events.size()));
}

// The chat streaming hot path per event: parse + map + the "data: ...\n\n" framing.
void BM_SseParseAndMap(benchmark::State& state) {
  const std::string& sse = transcript();
  std::vector<std::string> out;
  std::string wire;
  std::size_t events = 0;
  for (auto _ : state) {
    worker::SseParser parser;
    worker::ChatStreamMapper mapper(chatOptions());
    events = 0;
    auto on = [&](worker::SseEvent&& e) {
      ++events;
      mapper.onEvent(e, out);
      for (const auto& c : out) {
        wire += "data: ";
        wire += c;
        wire += "\n\n";
      }
      out.clear();
      benchmark::DoNotOptimize(wire.data());
      wire.clear();
    };
    for (std::size_t pos = 0; pos < sse.size(); pos += 16 * 1024) {
      parser.feed(std::string_view(sse).substr(pos, 16 * 1024), on);
    }
    parser.finish(on);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(sse.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(events));
}

// Non-streaming collapse: every event of a whole stream into one chat.completion or response
// object, including the SSE parse, as the handler does it.
void BM_Collapse(benchmark::State& state, bool chat) {
  const std::string& sse = transcript();
  std::size_t events = 0;
  for (auto _ : state) {
    worker::SseParser parser;
    worker::ResponseCollector collector;
    events = 0;
    auto on = [&](worker::SseEvent&& e) {
      ++events;
      collector.onEvent(e);
    };
    for (std::size_t pos = 0; pos < sse.size(); pos += 16 * 1024) {
      parser.feed(std::string_view(sse).substr(pos, 16 * 1024), on);
    }
    parser.finish(on);
    collector.onUpstreamEnd();
    std::string json = chat ? collector.chatCompletionJson("chatcmpl-bench", 1761300000, "gpt-5.5",
                                                           worker::ReasoningCompat::None, false)
                            : collector.responsesObjectJson();
    benchmark::DoNotOptimize(json.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(sse.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(events));
}

// The same collapse for the short answer of the load tests (12 events, ~6 KB).
void BM_CollapseShort(benchmark::State& state) {
  static const std::string sse = responsesTranscript(8, 0, 0);
  for (auto _ : state) {
    worker::SseParser parser;
    worker::ResponseCollector collector;
    auto on = [&](worker::SseEvent&& e) { collector.onEvent(e); };
    parser.feed(sse, on);
    parser.finish(on);
    collector.onUpstreamEnd();
    std::string json =
        collector.chatCompletionJson("chatcmpl-bench", 1761300000, "gpt-5.5", worker::ReasoningCompat::None, false);
    benchmark::DoNotOptimize(json.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(sse.size()));
}

void registerAll() {
  for (std::size_t s : kSizes) {
    const bool big = s >= 1024 * 1024;
    auto* c = benchmark::RegisterBenchmark(("BM_ChatRequest/" + sizeLabel(s)).c_str(), BM_ChatRequest, s);
    auto* r = benchmark::RegisterBenchmark(("BM_ResponsesRequest/" + sizeLabel(s)).c_str(), BM_ResponsesRequest, s);
    for (auto* b : {c, r}) b->Unit(big ? benchmark::kMillisecond : benchmark::kMicrosecond);
  }
  for (std::size_t s : {std::size_t{100 * 1024}, std::size_t{1024 * 1024}}) {
    const auto unit = s >= 1024 * 1024 ? benchmark::kMillisecond : benchmark::kMicrosecond;
    benchmark::RegisterBenchmark(("BM_ChatRequestText/" + sizeLabel(s)).c_str(), BM_RequestText, true, s)->Unit(unit);
    benchmark::RegisterBenchmark(("BM_ResponsesRequestText/" + sizeLabel(s)).c_str(), BM_RequestText, false, s)
        ->Unit(unit);
  }
  benchmark::RegisterBenchmark("BM_ChatRequestManyUnknownKeys", BM_ChatRequestManyUnknownKeys)
      ->Arg(1000)
      ->Arg(10000)
      ->Arg(100000)
      ->Unit(benchmark::kMillisecond);
  const std::size_t ten = 10 * 1024 * 1024;
  benchmark::RegisterBenchmark("BM_JsonParseWrite/10MB", BM_JsonParseWrite, ten)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_JsonParseWriteText/1MB", BM_JsonParseWriteText)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_PocoJsonParse/10MB", BM_PocoJsonParse, ten)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_SseParse", BM_SseParse)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_ChatChunkMapping", BM_ChatChunkMapping)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_SseParseAndMap", BM_SseParseAndMap)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Collapse/chat", BM_Collapse, true)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Collapse/responses", BM_Collapse, false)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_CollapseShort/chat", BM_CollapseShort)->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace cosp::bench

int main(int argc, char** argv) {
  cosp::bench::registerAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
