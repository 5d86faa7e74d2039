#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/harness/fixtures.h"
#include "worker/translate/chat_request.h"
#include "worker/translate/request_common.h"
#include "worker/translate/responses_request.h"

namespace cosp::worker {
namespace {

using cosp::test::canonical;
using cosp::test::parsed;
using cosp::test::readFixture;

std::vector<std::string> goldenCases(const std::string& dir) {
  std::vector<std::string> names;
  const std::string suffix = ".request.json";
  for (const auto& entry : std::filesystem::directory_iterator(cosp::test::fixturePath(dir))) {
    const std::string file = entry.path().filename().string();
    if (file.size() > suffix.size() && file.ends_with(suffix))
      names.push_back(file.substr(0, file.size() - suffix.size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> stringList(const common::JsonValue& v) {
  std::vector<std::string> out;
  if (const auto* arr = v.getArray()) {
    for (const auto& s : *arr) out.emplace_back(*s.stringView());
  }
  return out;
}

void checkGolden(const std::string& dir, const std::string& name, bool chat) {
  SCOPED_TRACE(dir + "/" + name);
  const std::string request = readFixture(dir + "/" + name + ".request.json");
  const TranslateOptions options;
  auto result = chat ? translateChatRequest(request, options) : normalizeResponsesRequest(request, options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  const std::string upstream_file = dir + "/" + name + ".upstream.json";
  if (cosp::test::regenerateGoldens()) {
    cosp::test::writeFixture(upstream_file, common::toPrettyJson(parsed(result->body)) + "\n");
  }
  EXPECT_EQ(canonical(result->body), canonical(readFixture(upstream_file)));
  // The body is compact JSON (no pretty printing on the wire).
  EXPECT_EQ(result->body, canonical(result->body));
  // The session id: the client's prompt_cache_key, else the stable hash, which the body then carries.
  const common::JsonValue sent = parsed(result->body);
  const common::JsonValue client = parsed(request);  // outlives the string_view read from it
  if (const auto key = common::jsonString(client, "prompt_cache_key"); key && !key->empty()) {
    EXPECT_EQ(result->session_id, *key);
  } else {
    EXPECT_EQ(result->session_id.size(), 36u);
  }
  EXPECT_EQ(common::jsonString(sent, "prompt_cache_key").value_or("<none>"), result->session_id);
  const std::string expect_file = dir + "/" + name + ".expect.json";
  if (!cosp::test::fixtureExists(expect_file)) return;
  const common::JsonValue expect = parsed(readFixture(expect_file));
  if (const auto* d = expect.find("dropped")) {
    EXPECT_EQ(result->dropped, stringList(*d));
  }
  if (const auto b = common::jsonBool(expect, "client_stream")) {
    EXPECT_EQ(result->client_stream, *b);
  }
  if (const auto b = common::jsonBool(expect, "include_usage")) {
    EXPECT_EQ(result->include_usage, *b);
  }
  if (const auto b = common::jsonBool(expect, "json_output")) {
    EXPECT_EQ(result->json_output, *b);
  }
  if (const auto m = common::jsonString(expect, "model")) {
    EXPECT_EQ(result->model, *m);
  }
  if (const auto m = common::jsonString(expect, "upstream_model")) {
    EXPECT_EQ(result->upstream_model, *m);
  }
}

TEST(ChatRequestGolden, EveryMappingRow) {
  const auto cases = goldenCases("chat");
  ASSERT_GE(cases.size(), 14u);
  for (const auto& name : cases) checkGolden("chat", name, true);
}

TEST(ResponsesRequestGolden, EveryNormalisationRule) {
  const auto cases = goldenCases("responses_requests");
  ASSERT_GE(cases.size(), 7u);
  for (const auto& name : cases) checkGolden("responses_requests", name, false);
}

// ---------------------------------------------------------------- invalid input

struct BadCase {
  const char* body;
  const char* param;  // nullptr: param must be null
  const char* code;   // nullptr: not checked
};

void expectBad(const common::Result<UpstreamRequest>& r, const BadCase& c) {
  ASSERT_FALSE(r.ok()) << c.body;
  EXPECT_EQ(r.error().status, 400) << c.body;
  EXPECT_EQ(r.error().type, "invalid_request_error") << c.body;
  EXPECT_FALSE(r.error().message.empty());
  if (c.param == nullptr) {
    EXPECT_FALSE(r.error().param.has_value()) << c.body << " param=" << r.error().param.value_or("");
  } else {
    EXPECT_EQ(r.error().param.value_or("<none>"), c.param) << c.body << " : " << r.error().message;
  }
  if (c.code != nullptr) {
    EXPECT_EQ(r.error().code.value_or("<none>"), c.code) << c.body;
  }
}

TEST(ChatRequestInvalid, Returns400NamingTheField) {
  const BadCase cases[] = {
      {"{", nullptr, "invalid_json"},
      {"", nullptr, "invalid_json"},
      {"[]", nullptr, nullptr},
      {"null", nullptr, nullptr},
      {"\"text\"", nullptr, nullptr},
      {"42", nullptr, nullptr},
      {R"({"model":"m","messages":[]} trailing)", nullptr, "invalid_json"},
      {"{}", "model", "missing_required_parameter"},
      {R"({"model":5,"messages":[]})", "model", "invalid_type"},
      {R"({"model":"","messages":[]})", "model", nullptr},
      {R"({"model":"gpt-5.5"})", "messages", "missing_required_parameter"},
      {R"({"model":"gpt-5.5","messages":null})", "messages", nullptr},
      {R"({"model":"gpt-5.5","messages":{}})", "messages", "invalid_type"},
      {R"({"model":"gpt-5.5","messages":[]})", "messages", nullptr},
      {R"({"model":"gpt-5.5","messages":[1]})", "messages[0]", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"content":"x"}]})", "messages[0].role", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":7,"content":"x"}]})", "messages[0].role", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"robot","content":"x"}]})", "messages[0].role", "invalid_value"},
      {R"({"model":"gpt-5.5","messages":[{"role":"user"}]})", "messages[0].content", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":5}]})", "messages[0].content", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},
          {"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]})",
       "messages[2].content[0]", "unsupported_parameter"},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"video"}]}]})",
       "messages[0].content[1].type", "unsupported_parameter"},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":[{"text":"a"}]}]})", "messages[0].content[0].type",
       nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":["a"]}]})", "messages[0].content[0]", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":[{"type":"text","text":5}]}]})",
       "messages[0].content[0].text", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
       "messages[0].content[0].image_url.url", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":[{"type":"image_url"}]}]})",
       "messages[0].content[0].image_url", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":[{"type":"file","file":{}}]}]})",
       "messages[0].content[0].file.file_data", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"system","content":[{"type":"image_url","image_url":"x"}]},
          {"role":"user","content":"x"}]})",
       "messages[0].content[0]", "unsupported_parameter"},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"},{"role":"tool","content":"r"}]})",
       "messages[1].tool_call_id", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"},
          {"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]}]})",
       "messages[1].tool_calls[0].function.name", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"},
          {"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f"}}]}]})",
       "messages[1].tool_calls[0].id", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"assistant","tool_calls":{}}]})", "messages[0].tool_calls", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"function","content":"r"}]})", "messages[0].name", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"n":2})", "n", "unsupported_parameter"},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"n":"2"})", "n", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1}})",
       "stream_options.include_usage", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"tools":"x"})", "tools", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{}}]})",
       "tools[0].function.name", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"tools":[5]})", "tools[0]", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"functions":[{"description":"d"}]})",
       "functions[0].name", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"})", "tool_choice",
       nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function"}})",
       "tool_choice.function.name", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}})",
       "response_format.type", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{}}})",
       "response_format.json_schema.name", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"response_format":"json"})", "response_format",
       nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"parallel_tool_calls":"no"})",
       "parallel_tool_calls", nullptr},
      {R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"reasoning_effort":3})", "reasoning_effort",
       nullptr},
  };
  for (const BadCase& c : cases) expectBad(translateChatRequest(c.body, TranslateOptions{}), c);
}

TEST(ChatRequestInvalid, DeepNestingAndGarbageNeverThrow) {
  std::string deep = R"({"model":"gpt-5.5","messages":)";
  for (int i = 0; i < 5000; ++i) deep += "[";
  expectBad(translateChatRequest(deep, TranslateOptions{}), BadCase{deep.c_str(), nullptr, "invalid_json"});
  std::string garbage;
  std::mt19937 rng(7);
  for (int i = 0; i < 100000; ++i) garbage.push_back(static_cast<char>(rng() & 0xFF));
  EXPECT_FALSE(translateChatRequest(garbage, TranslateOptions{}).ok());
  EXPECT_FALSE(normalizeResponsesRequest(garbage, TranslateOptions{}).ok());
}

TEST(ChatRequestInvalid, MutatedGoldensNeverThrow) {
  // Random byte flips, truncations and type swaps of every golden request: the
  // result is either a translation or a 400 with a message, never an exception.
  std::mt19937 rng(12345);
  for (const std::string dir : {"chat", "responses_requests"}) {
    for (const auto& name : goldenCases(dir)) {
      const std::string original = readFixture(dir + "/" + name + ".request.json");
      for (int round = 0; round < 150; ++round) {
        std::string body = original;
        switch (rng() % 4) {
          case 0:
            body[rng() % body.size()] = static_cast<char>(rng() & 0xFF);
            break;
          case 1:
            body.resize(rng() % body.size());
            break;
          case 2: {
            const std::size_t pos = body.find('"', rng() % body.size());
            if (pos != std::string::npos) body.replace(pos, 1, "1,\"");
            break;
          }
          default: {
            const std::size_t pos = body.find(':', rng() % body.size());
            if (pos != std::string::npos) body.insert(pos + 1, rng() % 2 ? "null," : "[{}],");
            break;
          }
        }
        for (bool chat : {true, false}) {
          auto r = chat ? translateChatRequest(body, TranslateOptions{})
                        : normalizeResponsesRequest(body, TranslateOptions{});
          if (!r.ok()) {
            EXPECT_EQ(r.error().status, 400);
            EXPECT_FALSE(r.error().message.empty());
          } else {
            EXPECT_TRUE(common::parseJson(r->body).ok());
          }
        }
      }
    }
  }
}

// Every node of a document, for picking one at random.
void collectNodes(common::JsonValue& v, std::vector<common::JsonValue*>& out) {
  out.push_back(&v);
  if (auto* arr = v.getArray()) {
    for (auto& item : *arr) collectNodes(item, out);
  } else if (auto* obj = v.getObject()) {
    for (auto& m : *obj) collectNodes(m.value, out);
  }
}

TEST(ChatRequestInvalid, TypeConfusionNeverThrows) {
  // Structural mutations of the goldens: a random node becomes a value of another
  // kind, or an object gains a duplicated key with a wrong-typed value first.
  std::mt19937 rng(99);
  const common::JsonValue replacements[] = {
      common::JsonValue(),         common::JsonValue(1),           common::JsonValue(-1.5),
      common::JsonValue("s"),      common::JsonValue(true),        common::JsonValue::array(),
      common::JsonValue::object(), parsed(R"([{"type":"text"}])"), parsed(R"({"type":"function"})")};
  for (const std::string dir : {"chat", "responses_requests"}) {
    for (const auto& name : goldenCases(dir)) {
      const std::string original = readFixture(dir + "/" + name + ".request.json");
      for (int round = 0; round < 200; ++round) {
        common::JsonValue doc = parsed(original);
        std::vector<common::JsonValue*> nodes;
        collectNodes(doc, nodes);
        common::JsonValue* target = nodes[rng() % nodes.size()];
        const auto& replacement = replacements[rng() % std::size(replacements)];
        if (auto* obj = target->getObject(); obj != nullptr && !obj->empty() && rng() % 3 == 0) {
          const std::string key = (*obj)[rng() % obj->size()].key;
          obj->insert(obj->begin(), common::JsonMember{key, replacement});
        } else {
          *target = replacement;
        }
        const std::string body = common::toJson(doc);
        for (bool chat : {true, false}) {
          auto r = chat ? translateChatRequest(body, TranslateOptions{})
                        : normalizeResponsesRequest(body, TranslateOptions{});
          if (!r.ok()) {
            EXPECT_EQ(r.error().status, 400) << body;
            EXPECT_FALSE(r.error().message.empty());
          } else {
            EXPECT_TRUE(common::parseJson(r->body).ok()) << body;
          }
        }
      }
    }
  }
}

TEST(ChatRequestStrict, RefusesInsteadOfDropping) {
  TranslateOptions strict;
  strict.strict = true;
  auto r = translateChatRequest(R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"temperature":0.5})",
                                strict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().param.value_or(""), "temperature");
  EXPECT_EQ(r.error().code.value_or(""), "unsupported_parameter");
  // null counts as absent; handled fields (stream_options, n:1, store:false) are not refused.
  auto ok = translateChatRequest(
      R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"temperature":null,"n":1,"store":false,
          "stream":true,"stream_options":{"include_usage":true},"service_tier":"flex"})",
      strict);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_TRUE(ok->dropped.empty());
  auto tier = translateChatRequest(
      R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"service_tier":"auto"})", strict);
  ASSERT_FALSE(tier.ok());
  EXPECT_EQ(tier.error().param.value_or(""), "service_tier");
}

// ---------------------------------------------------------------- specific rules

TEST(ChatRequest, SessionIdIsStablePerConversation) {
  const std::string turn1 =
      R"({"model":"gpt-5.5","messages":[{"role":"system","content":"S"},{"role":"user","content":"Q1"}]})";
  const std::string turn2 =
      R"({"model":"gpt-5.5-high","messages":[{"role":"system","content":"S"},{"role":"user","content":"Q1"},
          {"role":"assistant","content":"A1"},{"role":"user","content":"Q2"}],"temperature":1})";
  const std::string other =
      R"({"model":"gpt-5.5","messages":[{"role":"system","content":"S"},{"role":"user","content":"Q9"}]})";
  const std::string other_system =
      R"({"model":"gpt-5.5","messages":[{"role":"system","content":"T"},{"role":"user","content":"Q1"}]})";
  const auto a = translateChatRequest(turn1, {});
  const auto b = translateChatRequest(turn2, {});
  const auto c = translateChatRequest(other, {});
  const auto d = translateChatRequest(other_system, {});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ(a->session_id, b->session_id);
  EXPECT_NE(a->session_id, c->session_id);
  EXPECT_NE(a->session_id, d->session_id);
  EXPECT_TRUE(std::regex_match(a->session_id,
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << a->session_id;
  // The same conversation through /v1/responses gets the same id.
  const auto r = normalizeResponsesRequest(R"({"model":"gpt-5.5","instructions":"S","input":"Q1"})", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->session_id, a->session_id);
}

TEST(ChatRequest, ReasoningCompatAsksForSummaries) {
  TranslateOptions opts;
  opts.reasoning_compat = ReasoningCompat::ReasoningContent;
  auto r = translateChatRequest(R"({"model":"gpt-5.5-low","messages":[{"role":"user","content":"x"}]})", opts);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->body.find(R"("reasoning":{"effort":"low","summary":"auto"})"), std::string::npos) << r->body;
  // Not when JSON output is requested, nor with effort none.
  r = translateChatRequest(
      R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})",
      opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body.find("\"reasoning\""), std::string::npos) << r->body;
  r = translateChatRequest(R"({"model":"gpt-5.5-none","messages":[{"role":"user","content":"x"}]})", opts);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->body.find(R"("reasoning":{"effort":"none"})"), std::string::npos) << r->body;
  // Without compat nothing is added.
  r = translateChatRequest(R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}]})", TranslateOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body.find("\"reasoning\""), std::string::npos);
}

TEST(ChatRequest, ExplicitEffortWinsOverModelSuffix) {
  auto r = translateChatRequest(
      R"({"model":"gpt-5.5-low","reasoning_effort":"high","messages":[{"role":"user","content":"x"}]})", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->model, "gpt-5.5-low");
  EXPECT_EQ(r->upstream_model, "gpt-5.5");
  EXPECT_NE(r->body.find(R"("model":"gpt-5.5","instructions")"), std::string::npos);
  EXPECT_NE(r->body.find(R"("reasoning":{"effort":"high"})"), std::string::npos) << r->body;
  r = translateChatRequest(
      R"({"model":"gpt-5.5","reasoning":{"effort":"medium","summary":"detailed"},"messages":[{"role":"user","content":"x"}]})",
      {});
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->body.find(R"("reasoning":{"effort":"medium","summary":"detailed"})"), std::string::npos) << r->body;
}

TEST(ChatRequest, Base64DataUrlNormalisation) {
  std::string url = "data:image/png;base64,ab-_cd";
  EXPECT_TRUE(detail::normalizeBase64DataUrl(url));
  EXPECT_EQ(url, "data:image/png;base64,ab+/cd==");
  url = "data:image/png;base64,abc";
  EXPECT_TRUE(detail::normalizeBase64DataUrl(url));
  EXPECT_EQ(url, "data:image/png;base64,abc=");
  url = "data:image/png;BASE64,abcd";
  EXPECT_FALSE(detail::normalizeBase64DataUrl(url));  // already standard and padded
  url = "data:image/svg+xml;charset=utf-8,<svg-x_y>";
  EXPECT_FALSE(detail::normalizeBase64DataUrl(url));  // not base64: untouched
  url = "https://example.com/a-b_c.png";
  EXPECT_FALSE(detail::normalizeBase64DataUrl(url));
}

TEST(ChatRequest, NonStringArgumentsAreSerialised) {
  auto r = translateChatRequest(
      R"({"model":"gpt-5.5","messages":[{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"f","arguments":{"a":[1,2]}}}]},
          {"role":"tool","tool_call_id":"c1","content":null}]})",
      {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->body.find(R"({"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":[1,2]}"})"),
            std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find(R"({"type":"function_call_output","call_id":"c1","output":""})"), std::string::npos)
      << r->body;
}

TEST(ChatRequest, NullFieldsAreNotReportedAndStoreTrueIs) {
  auto r = translateChatRequest(
      R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"temperature":null,"user":null,"store":true,"previous_response_id":"resp_1"})",
      {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dropped, (std::vector<std::string>{"store", "previous_response_id"}));
  EXPECT_NE(r->body.find(R"("store":false,"stream":true})"), std::string::npos);
}

TEST(ChatRequest, DuplicateKeysUseTheLastValueSafely) {
  auto r = translateChatRequest(
      R"({"model":5,"model":"gpt-5.5","store":"x","store":false,"messages":[{"role":"user","content":"a"}],
          "messages":[{"role":"user","content":"b"}],"stream":"no","stream":true})",
      {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->client_stream);
  EXPECT_EQ(r->dropped, std::vector<std::string>{"store"});  // the non-boolean duplicate was removed
  EXPECT_NE(r->body.find(R"("text":"b")"), std::string::npos);
  EXPECT_EQ(r->body.find(R"("text":"a")"), std::string::npos);
}

TEST(ChatRequest, LargeImageBodyIsTranslatedIntact) {
  // ~9 MB URL-safe unpadded base64 image plus a long conversation.
  std::string payload(9 * 1024 * 1024 + 2, 'A');
  for (std::size_t i = 0; i < payload.size(); i += 997) payload[i] = (i % 2) ? '-' : '_';
  std::string body = R"({"model":"gpt-5.5","messages":[)";
  for (int i = 0; i < 200; ++i) {
    body += R"({"role":"user","content":"turn )" + std::to_string(i) + R"("},{"role":"assistant","content":"ok"},)";
  }
  body += R"({"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,)" + payload +
          R"("}}]}]})";
  auto r = translateChatRequest(body, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string expected = payload;
  std::replace(expected.begin(), expected.end(), '-', '+');
  std::replace(expected.begin(), expected.end(), '_', '/');
  expected += "==";  // 9 MiB + 2 is 2 mod 4
  EXPECT_NE(r->body.find("\"data:image/png;base64," + expected + "\""), std::string::npos);
  const auto back = parsed(r->body);
  EXPECT_EQ(back.find("input")->getArray()->size(), 401u);
}

// ---------------------------------------------------------------- responses route

TEST(ResponsesRequestInvalid, Returns400NamingTheField) {
  const BadCase cases[] = {
      {"{", nullptr, "invalid_json"},
      {"[1]", nullptr, nullptr},
      {R"({"input":"x"})", "model", "missing_required_parameter"},
      {R"({"model":1,"input":"x"})", "model", nullptr},
      {R"({"model":"gpt-5.5"})", "input", "missing_required_parameter"},
      {R"({"model":"gpt-5.5","input":5})", "input", "invalid_type"},
      {R"({"model":"gpt-5.5","input":[5]})", "input[0]", nullptr},
      {R"({"model":"gpt-5.5","input":[{"role":"user","content":"x"},"y"]})", "input[1]", nullptr},
      {R"({"model":"gpt-5.5","input":"x","instructions":5})", "instructions", nullptr},
      {R"({"model":"gpt-5.5","input":"x","stream":"true"})", "stream", nullptr},
      {R"({"model":"gpt-5.5","input":"x","store":"no"})", "store", nullptr},
      {R"({"model":"gpt-5.5","input":"x","reasoning":"high"})", "reasoning", nullptr},
      {R"({"model":"gpt-5.5","input":"x","text":"json"})", "text", nullptr},
  };
  for (const BadCase& c : cases) expectBad(normalizeResponsesRequest(c.body, TranslateOptions{}), c);
}

TEST(ResponsesRequest, PreviousResponseIdIsRefusedWithAnExplanation) {
  auto r = normalizeResponsesRequest(R"({"model":"gpt-5.5","input":"x","previous_response_id":"resp_123"})", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().param.value_or(""), "previous_response_id");
  EXPECT_NE(r.error().message.find("stateless"), std::string::npos);
}

TEST(ResponsesRequest, StrictModeAndConfigurableList) {
  TranslateOptions strict;
  strict.strict = true;
  auto r = normalizeResponsesRequest(R"({"model":"gpt-5.5","input":"x","truncation":"auto"})", strict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().param.value_or(""), "truncation");
  // Tools, include, text etc. are never refused.
  r = normalizeResponsesRequest(R"({"model":"gpt-5.5","input":"x","tools":[{"type":"local_shell"}],"include":[]})",
                                strict);
  ASSERT_TRUE(r.ok());
  // An operator can shorten the list: temperature then passes through.
  TranslateOptions custom;
  custom.dropped_fields = {"max_output_tokens"};
  r = normalizeResponsesRequest(
      R"({"model":"gpt-5.5","input":"x","temperature":0.3,"max_output_tokens":9,"service_tier":"auto"})", custom);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dropped, std::vector<std::string>{"max_output_tokens"});
  EXPECT_NE(r->body.find(R"("temperature":0.3)"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find(R"("service_tier":"auto")"), std::string::npos) << r->body;
}

TEST(ResponsesRequest, DuplicateKeysAreWrittenOnce) {
  auto r = normalizeResponsesRequest(R"({"model":"a","store":true,"input":"x","model":"gpt-5.5","store":false})", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, R"({"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"x"}]}],)"
                     R"("model":"gpt-5.5","instructions":"","store":false,"prompt_cache_key":")" +
                         r->session_id + R"(","stream":true})");
  EXPECT_TRUE(r->dropped.empty());
}

TEST(ResponsesRequest, FirstUserMessageOfItemsFeedsTheSessionId) {
  auto a = normalizeResponsesRequest(
      R"({"model":"gpt-5.5","instructions":"S","input":[{"type":"message","role":"developer","content":"D"},
          {"type":"message","role":"user","content":[{"type":"input_text","text":"Q1"}]}]})",
      {});
  auto b = normalizeResponsesRequest(R"({"model":"gpt-5.5","instructions":"S","input":[{"role":"user","content":"Q1"},
          {"role":"assistant","content":"A"},{"role":"user","content":"Q2"}]})",
                                     {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->session_id, b->session_id);
}

TEST(TranslateOptions, DefaultDroppedFieldsMatchSpec) {
  const auto list = TranslateOptions::defaultDroppedFields();
  for (const char* f : {"max_output_tokens",
                        "max_tokens",
                        "max_completion_tokens",
                        "temperature",
                        "top_p",
                        "metadata",
                        "user",
                        "safety_identifier",
                        "prompt_cache_retention",
                        "truncation",
                        "stream_options",
                        "frequency_penalty",
                        "presence_penalty",
                        "seed",
                        "logprobs",
                        "top_logprobs",
                        "logit_bias",
                        "context_management",
                        "prompt_cache_options",
                        "service_tier"}) {
    EXPECT_NE(std::find(list.begin(), list.end(), f), list.end()) << f;
  }
  EXPECT_EQ(list.size(), 20u);
  EXPECT_EQ(parseReasoningCompat("think-tags"), ReasoningCompat::ThinkTags);
  EXPECT_EQ(parseReasoningCompat("REASONING_CONTENT"), ReasoningCompat::ReasoningContent);
  EXPECT_EQ(parseReasoningCompat("none"), ReasoningCompat::None);
  EXPECT_FALSE(parseReasoningCompat("bogus").has_value());
  EXPECT_EQ(reasoningCompatName(ReasoningCompat::ThinkTags), "think-tags");
}

}  // namespace
}  // namespace cosp::worker
