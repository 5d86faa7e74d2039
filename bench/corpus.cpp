#include "bench/corpus.h"

#include <cstdint>
#include <random>

namespace cosp::bench {

namespace {

std::size_t imageBytesFor(std::size_t target) {
  if (target >= 1024 * 1024) return target / 10 * 9;
  if (target >= 64 * 1024) return target / 10 * 4;
  return target / 5;
}

std::string base64Payload(std::size_t n) {
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::mt19937 rng(42);
  std::string s(n / 4 * 4, 'A');
  for (char& c : s) c = kB64[rng() % 64];
  return s;
}

// One turn of the conversation, in each API's shape.
std::string chatTurn(int i) {
  const std::string n = std::to_string(i);
  std::string t;
  t +=
      R"({"role":"user","content":"Step )" + n +
      R"(: the test \"parse_utf8_surrogates\" fails on CI with exit code 1.\nCan you look at src/decoder.cpp and fix it? Merci — c'est urgent."},)";
  t += R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_)" + n +
       R"(","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"src/decoder.cpp\",\"offset\":)" +
       n + R"(,\"limit\":200}"}}]},)";
  t +=
      R"({"role":"tool","tool_call_id":"call_)" + n +
      R"(","content":"  if (cp >= 0xD800 && cp <= 0xDFFF) {\n    return Error::kSurrogate;  // lone surrogate\n  }\n\tout.push_back(cp);"},)";
  t +=
      R"({"role":"assistant","content":"The decoder rejects a valid surrogate pair \u2014 it checks each half alone. Combine them first: cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)."},)";
  return t;
}

std::string responsesTurn(int i) {
  const std::string n = std::to_string(i);
  std::string t;
  t +=
      R"({"type":"message","role":"user","content":[{"type":"input_text","text":"Step )" + n +
      R"(: the test \"parse_utf8_surrogates\" fails on CI with exit code 1.\nCan you look at src/decoder.cpp and fix it? Merci — c'est urgent."}]},)";
  t += R"({"type":"function_call","id":"fc_)" + n + R"(","call_id":"call_)" + n +
       R"(","name":"read_file","arguments":"{\"path\":\"src/decoder.cpp\",\"offset\":)" + n + R"(,\"limit\":200}"},)";
  t +=
      R"({"type":"function_call_output","call_id":"call_)" + n +
      R"(","output":"  if (cp >= 0xD800 && cp <= 0xDFFF) {\n    return Error::kSurrogate;  // lone surrogate\n  }\n\tout.push_back(cp);"},)";
  t +=
      R"({"type":"message","role":"assistant","id":"msg_)" + n +
      R"(","content":[{"type":"output_text","text":"The decoder rejects a valid surrogate pair \u2014 it checks each half alone. Combine them first: cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00).","annotations":[]}]},)";
  return t;
}

constexpr const char* kParameters =
    R"({"type":"object","properties":{"path":{"type":"string","description":"Path from the repository root"},)"
    R"("offset":{"type":"integer","minimum":0},"limit":{"type":"integer","maximum":2000}},"required":["path"],"additionalProperties":false})";

}  // namespace

std::string chatRequestBody(std::size_t target_bytes) {
  const std::size_t image = imageBytesFor(target_bytes);
  std::string b = R"({"model":"gpt-5.5-high","stream":true,"stream_options":{"include_usage":true},"messages":[)";
  b +=
      R"({"role":"system","content":"You are a careful coding agent working in a C++ repository. Use the tools to read files before you answer."},)";
  const std::size_t conversation = target_bytes > image + 1200 ? target_bytes - image - 1200 : 0;
  for (int i = 0; b.size() < conversation; ++i) b += chatTurn(i);
  b += R"({"role":"user","content":[{"type":"text","text":"And what does this screenshot of the CI log show?"},)";
  b += R"({"type":"image_url","image_url":{"url":"data:image/png;base64,)" + base64Payload(image) +
       R"(","detail":"high"}}]}],)";
  b +=
      R"("tools":[{"type":"function","function":{"name":"read_file","description":"Read part of a file","parameters":)";
  b += kParameters;
  b +=
      R"(}},{"type":"function","function":{"name":"run_tests","description":"Run the test suite","parameters":{"type":"object","properties":{"filter":{"type":"string"}}},"strict":true}}],)";
  b += R"("tool_choice":"auto","parallel_tool_calls":true,"temperature":0.2,"max_tokens":4096,"user":"bench"})";
  return b;
}

std::string responsesRequestBody(std::size_t target_bytes) {
  const std::size_t image = imageBytesFor(target_bytes);
  std::string b =
      R"({"model":"gpt-5.5","instructions":"You are a careful coding agent working in a C++ repository. Use the tools to read files before you answer.","input":[)";
  const std::size_t conversation = target_bytes > image + 1200 ? target_bytes - image - 1200 : 0;
  for (int i = 0; b.size() < conversation; ++i) b += responsesTurn(i);
  b += R"({"type":"item_reference","id":"rs_previous"},)";
  b +=
      R"({"type":"message","role":"user","content":[{"type":"input_text","text":"And what does this screenshot of the CI log show?"},)";
  b += R"({"type":"input_image","image_url":"data:image/png;base64,)" + base64Payload(image) +
       R"(","detail":"high"}]}],)";
  b += R"("tools":[{"type":"function","name":"read_file","description":"Read part of a file","parameters":)";
  b += kParameters;
  b += R"(,"strict":false},{"type":"custom","name":"apply_patch","description":"Apply a patch"}],)";
  b += R"("tool_choice":"auto","parallel_tool_calls":true,"reasoning":{"effort":"high","summary":"auto"},)";
  b +=
      R"("include":["reasoning.encrypted_content"],"prompt_cache_key":"bench-session","store":false,"stream":true,"temperature":0.2,"max_output_tokens":4096})";
  return b;
}

std::string responsesTranscript(int text_deltas, int tool_calls, int arg_deltas) {
  const std::string response =
      R"({"id":"resp_bench","object":"response","created_at":1761300000,"status":"in_progress","background":false,"error":null,)"
      R"("incomplete_details":null,"instructions":"You are a helpful assistant.","max_output_tokens":null,"model":"gpt-5.5","output":[],)"
      R"("parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":"medium","summary":null},"store":false,)"
      R"("temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_p":1.0,)"
      R"("truncation":"disabled","usage":null,"user":null,"metadata":{}})";
  int seq = 0;
  std::string s;
  auto ev = [&](const std::string& type, const std::string& rest) {
    s += "event: " + type + "\ndata: {\"type\":\"" + type + "\",\"sequence_number\":" + std::to_string(seq++) + rest +
         "}\n\n";
  };
  ev("response.created", ",\"response\":" + response);
  ev("response.in_progress", ",\"response\":" + response);
  ev("response.output_item.added",
     R"(,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[],"encrypted_content":null})");
  ev("response.output_item.done",
     R"(,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[],"encrypted_content":"gAAAAABo-fake-encrypted-reasoning=="})");
  ev("response.output_item.added",
     R"(,"output_index":1,"item":{"id":"msg_1","type":"message","status":"in_progress","content":[],"role":"assistant"})");
  ev("response.content_part.added",
     R"(,"item_id":"msg_1","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""})");
  std::string text;
  for (int i = 0; i < text_deltas; ++i) {
    const std::string d = i % 7 == 3 ? " caf\\u00e9 \\\"quoted\\\"" : " token" + std::to_string(i);
    text += d;
    ev("response.output_text.delta",
       R"(,"item_id":"msg_1","output_index":1,"content_index":0,"delta":")" + d + R"(","logprobs":[])");
  }
  ev("response.output_text.done",
     R"(,"item_id":"msg_1","output_index":1,"content_index":0,"text":")" + text + R"(","logprobs":[])");
  const std::string part = R"({"type":"output_text","annotations":[],"logprobs":[],"text":")" + text + "\"}";
  ev("response.content_part.done", R"(,"item_id":"msg_1","output_index":1,"content_index":0,"part":)" + part);
  ev("response.output_item.done",
     R"(,"output_index":1,"item":{"id":"msg_1","type":"message","status":"completed","content":[)" + part +
         R"(],"role":"assistant"})");
  for (int c = 0; c < tool_calls; ++c) {
    const std::string idx = std::to_string(2 + c);
    const std::string id = "fc_" + std::to_string(c);
    const std::string call = "call_" + std::to_string(c);
    ev("response.output_item.added",
       ",\"output_index\":" + idx + R"(,"item":{"id":")" + id +
           R"(","type":"function_call","status":"in_progress","arguments":"","call_id":")" + call +
           R"(","name":"read_file"})");
    std::string args;
    for (int a = 0; a < arg_deltas; ++a) {
      const std::string frag = a == 0 ? "{\\\"path\\\":\\\"src/file" + std::to_string(a) : std::to_string(a);
      args += frag;
      ev("response.function_call_arguments.delta",
         R"(,"item_id":")" + id + "\",\"output_index\":" + idx + R"(,"delta":")" + frag + "\"");
    }
    args += ".cpp\\\"}";
    ev("response.function_call_arguments.done",
       R"(,"item_id":")" + id + "\",\"output_index\":" + idx + R"(,"arguments":")" + args + "\"");
    ev("response.output_item.done", ",\"output_index\":" + idx + R"(,"item":{"id":")" + id +
                                        R"(","type":"function_call","status":"completed","arguments":")" + args +
                                        R"(","call_id":")" + call + R"(","name":"read_file"})");
  }
  std::string completed = response;
  completed.replace(completed.find("\"in_progress\""), 13, "\"completed\"");
  completed.replace(completed.find("\"usage\":null"), 12,
                    R"("usage":{"input_tokens":2500,"input_tokens_details":{"cached_tokens":2048},"output_tokens":)" +
                        std::to_string(text_deltas + tool_calls * arg_deltas) +
                        R"(,"output_tokens_details":{"reasoning_tokens":128},"total_tokens":4000})");
  ev("response.completed", ",\"response\":" + completed);
  return s;
}

}  // namespace cosp::bench

namespace cosp::bench {
namespace {

// Pieces of prose and code, already JSON-escaped (they go between quotes as they are).
constexpr const char* kProse[] = {
    "The decoder rejects a valid surrogate pair because it checks each half alone. ",
    "Merci \\u2014 c'est urgent: the nightly build on the ARM runners fails again. ",
    "Die Prüfung schlägt fehl, wenn die Eingabe größer als 16 MiB ist. ",
    "日本語のテキストも正しく処理される必要があります。 ",
    "Can you run \\\"ctest -R json\\\" and tell me which case fails?\\n",
    "I tried `git bisect` between v1.4 and v1.5; the culprit touches src/parser.cpp.\\n\\n",
    "- keep the strictness (RFC 8259)\\n- validate UTF-8\\n- cap the depth\\n",
    "Le résultat attendu est « 42 », pas « 41 ». ",
    "Path on Windows: C:\\\\Users\\\\dev\\\\project\\\\build\\\\Release. ",
    "Emoji in logs 🚀 should survive the round trip unchanged. ",
};

constexpr const char* kCode[] = {
    "  if (cp >= 0xD800 && cp <= 0xDFFF) {\\n    return Error::kSurrogate;  // lone surrogate\\n  }\\n",
    "\\tout.push_back(static_cast<char>(0xC0 | (cp >> 6)));\\n",
    "  std::string msg = \\\"unexpected token \\\\\\\"\\\" + tok + \\\"\\\\\\\"\\\";\\n",
    "def parse(s):\\n\\treturn json.loads(s, strict=True)  # raises on control chars\\n",
    "  for (std::size_t i = 0; i < n; ++i) total += weights[i] * values[i];\\n",
    "// TODO(dev): handle \\\\r\\\\n line endings — see issue #1234\\n",
    "$ ctest -R json --output-on-failure\\n100% tests passed, 0 tests failed out of 42\\n",
    "    assert_eq!(decode(\\\"\\\\u00e9\\\"), \\\"é\\\");\\n",
};

template <std::size_t N>
std::string textOf(std::mt19937& rng, const char* const (&pieces)[N], std::size_t min_bytes, std::size_t max_bytes) {
  const std::size_t want = min_bytes + rng() % (max_bytes - min_bytes + 1);
  std::string t;
  while (t.size() < want) t += pieces[rng() % N];
  return t;
}

std::string toolArguments(std::mt19937& rng, int i) {
  // JSON inside a JSON string: every quote of the inner document is escaped.
  const std::string n = std::to_string(i);
  switch (rng() % 3) {
    case 0:
      return R"({\"path\":\"src/module_)" + n + R"(.cpp\",\"offset\":)" + n + R"(,\"limit\":200})";
    case 1:
      return R"({\"command\":[\"bash\",\"-lc\",\"rg -n \\\"TODO\\\" src | head -50\"],\"timeout_ms\":120000})";
    default:
      return R"({\"patch\":\"*** Begin Patch\\n*** Update File: src/parser.cpp\\n@@\\n-  return false;\\n+  return ok;\\n*** End Patch\\n\"})";
  }
}

}  // namespace

std::string chatRequestTextBody(std::size_t target_bytes) {
  std::mt19937 rng(17);
  std::string b = R"({"model":"gpt-5.5-high","stream":true,"stream_options":{"include_usage":true},"messages":[)";
  b += R"({"role":"system","content":")" + textOf(rng, kProse, 2000, 4000) + R"("},)";
  const std::size_t conversation = target_bytes > 1000 ? target_bytes - 1000 : 0;
  for (int i = 0; b.size() < conversation; ++i) {
    const std::string n = std::to_string(i);
    b += R"({"role":"user","content":")" + textOf(rng, kProse, 1000, 4000) + R"("},)";
    b += R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_)" + n +
         R"(","type":"function","function":{"name":"shell","arguments":")" + toolArguments(rng, i) + R"("}}]},)";
    b += R"({"role":"tool","tool_call_id":"call_)" + n + R"(","content":")" + textOf(rng, kCode, 1000, 4000) + R"("},)";
    b += R"({"role":"assistant","content":")" + textOf(rng, kProse, 500, 2000) + R"("},)";
  }
  b += R"({"role":"user","content":"Now summarise what we changed."}],)";
  b += R"("tools":[{"type":"function","function":{"name":"shell","description":"Run a command","parameters":)";
  b += kParameters;
  b += R"(}}],"tool_choice":"auto","parallel_tool_calls":true,"temperature":0.2,"max_tokens":4096,"user":"bench"})";
  return b;
}

std::string responsesRequestTextBody(std::size_t target_bytes) {
  std::mt19937 rng(17);
  std::string b = R"({"model":"gpt-5.5","instructions":")" + textOf(rng, kProse, 2000, 4000) + R"(","input":[)";
  const std::size_t conversation = target_bytes > 1000 ? target_bytes - 1000 : 0;
  for (int i = 0; b.size() < conversation; ++i) {
    const std::string n = std::to_string(i);
    b += R"({"type":"message","role":"user","content":[{"type":"input_text","text":")" +
         textOf(rng, kProse, 1000, 4000) + R"("}]},)";
    b += R"({"type":"reasoning","id":"rs_)" + n + R"(","summary":[{"type":"summary_text","text":")" +
         textOf(rng, kProse, 200, 800) + R"("}],"encrypted_content":"gAAAAABo)" + base64Payload(400 + rng() % 800) +
         R"("},)";
    b += R"({"type":"function_call","id":"fc_)" + n + R"(","call_id":"call_)" + n +
         R"(","name":"shell","arguments":")" + toolArguments(rng, i) + R"("},)";
    b += R"({"type":"function_call_output","call_id":"call_)" + n + R"(","output":")" + textOf(rng, kCode, 1000, 4000) +
         R"("},)";
    b += R"({"type":"message","role":"assistant","id":"msg_)" + n + R"(","content":[{"type":"output_text","text":")" +
         textOf(rng, kProse, 500, 2000) + R"(","annotations":[]}]},)";
  }
  b += R"({"type":"message","role":"user","content":[{"type":"input_text","text":"Now summarise."}]}],)";
  b += R"("tools":[{"type":"function","name":"shell","description":"Run a command","parameters":)";
  b += kParameters;
  b +=
      R"(,"strict":false}],"tool_choice":"auto","parallel_tool_calls":true,"reasoning":{"effort":"high","summary":"auto"},)";
  b +=
      R"("include":["reasoning.encrypted_content"],"prompt_cache_key":"bench-session","store":false,"stream":true,"max_output_tokens":4096})";
  return b;
}

}  // namespace cosp::bench
