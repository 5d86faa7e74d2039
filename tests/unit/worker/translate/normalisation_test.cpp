// The body normalisation both routes apply (README.md, Model calls): session affinity, the
// system role, the backend's rejected fields, web_search_preview, empty encrypted reasoning,
// `include`, Responses-Lite and the catalog's efforts.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/harness/fixtures.h"
#include "worker/translate/chat_request.h"
#include "worker/translate/responses_request.h"

namespace cosp::worker {
namespace {

using common::JsonValue;
using cosp::test::parsed;

// A translated body, parsed, for member checks.
struct Sent {
  UpstreamRequest request;
  JsonValue body;
};

// The translation of `body`, which must be accepted.
Sent accepted(common::Result<UpstreamRequest> r, const std::string& body) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message) << " for " << body;
  if (!r.ok()) return {};
  JsonValue sent = parsed(r->body);
  return Sent{std::move(*r), std::move(sent)};
}

Sent responses(const std::string& body, const CallHints& hints = {}, const TranslateOptions& options = {}) {
  return accepted(normalizeResponsesRequest(body, options, hints), body);
}

Sent chat(const std::string& body, const CallHints& hints = {}, const TranslateOptions& options = {}) {
  return accepted(translateChatRequest(body, options, hints), body);
}

TranslateOptions strictOptions() {
  TranslateOptions o;
  o.strict = true;
  return o;
}

std::string member(const JsonValue& body, std::string_view key) {
  const JsonValue* v = body.find(key);
  return v == nullptr ? "<absent>" : common::toJson(*v);
}

// ---------------------------------------------------------------- session affinity

TEST(SessionAffinity, TheClientsHeaderWinsOverThePromptCacheKey) {
  CallHints hints;
  hints.client_session_id = "header-session";
  const Sent r = responses(R"({"model":"gpt-5.5","input":"x","prompt_cache_key":"body-key"})", hints);
  EXPECT_EQ(r.request.session_id, "header-session");
  EXPECT_EQ(member(r.body, "prompt_cache_key"), R"("body-key")");  // the client's own key is kept
  const Sent c =
      chat(R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"prompt_cache_key":"k"})", hints);
  EXPECT_EQ(c.request.session_id, "header-session");
  EXPECT_EQ(member(c.body, "prompt_cache_key"), R"("k")");
}

TEST(SessionAffinity, TheHeaderBecomesThePromptCacheKeyWhenTheBodyHasNone) {
  CallHints hints;
  hints.client_session_id = "019a-session";
  const Sent r = responses(R"({"model":"gpt-5.5","input":"x"})", hints);
  EXPECT_EQ(r.request.session_id, "019a-session");
  EXPECT_EQ(member(r.body, "prompt_cache_key"), R"("019a-session")");
  const Sent c = chat(R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}]})", hints);
  EXPECT_EQ(c.request.session_id, "019a-session");
  EXPECT_EQ(member(c.body, "prompt_cache_key"), R"("019a-session")");
}

TEST(SessionAffinity, ThePromptCacheKeyIsTheSessionIdWithoutAHeader) {
  const Sent r = responses(R"({"model":"gpt-5.5","prompt_cache_key":"conv-7","input":"x"})");
  EXPECT_EQ(r.request.session_id, "conv-7");
  EXPECT_EQ(member(r.body, "prompt_cache_key"), R"("conv-7")");
  const Sent c = chat(R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"prompt_cache_key":"conv-8"})");
  EXPECT_EQ(c.request.session_id, "conv-8");
}

TEST(SessionAffinity, OtherwiseTheStableHashIsSentAsPromptCacheKey) {
  const Sent a = responses(R"({"model":"gpt-5.5","instructions":"S","input":"Q1"})");
  const Sent b =
      chat(R"({"model":"gpt-5.5","messages":[{"role":"system","content":"S"},{"role":"user","content":"Q1"}]})");
  EXPECT_EQ(a.request.session_id.size(), 36u);
  EXPECT_EQ(a.request.session_id, b.request.session_id);
  EXPECT_EQ(member(a.body, "prompt_cache_key"), "\"" + a.request.session_id + "\"");
  EXPECT_EQ(member(b.body, "prompt_cache_key"), "\"" + b.request.session_id + "\"");
  // An empty or null key counts as none, in place or at the end.
  const Sent empty = responses(R"({"model":"gpt-5.5","instructions":"S","prompt_cache_key":"","input":"Q1"})");
  EXPECT_EQ(empty.request.session_id, a.request.session_id);
  EXPECT_EQ(member(empty.body, "prompt_cache_key"), "\"" + a.request.session_id + "\"");
  const Sent null = responses(R"({"model":"gpt-5.5","instructions":"S","prompt_cache_key":null,"input":"Q1"})");
  EXPECT_EQ(member(null.body, "prompt_cache_key"), "\"" + a.request.session_id + "\"");
  const Sent chat_empty =
      chat(R"({"model":"gpt-5.5","messages":[{"role":"system","content":"S"},{"role":"user","content":"Q1"}],
               "prompt_cache_key":""})");
  EXPECT_EQ(member(chat_empty.body, "prompt_cache_key"), "\"" + a.request.session_id + "\"");
}

TEST(SessionAffinity, APromptCacheKeyMustBeAString) {
  auto r = normalizeResponsesRequest(R"({"model":"gpt-5.5","input":"x","prompt_cache_key":7})", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().param.value_or(""), "prompt_cache_key");
}

// ---------------------------------------------------------------- system role

TEST(SystemRole, SystemInputItemsBecomeDeveloperWithoutBeingNamed) {
  const std::string body =
      R"({"model":"gpt-5.5","input":[{"type":"message","role":"system","content":"S1"},
          {"role":"system","content":[{"type":"input_text","text":"S2"}]},
          {"role":"user","content":"Q"},{"type":"function_call_output","call_id":"c","output":"system"}]})";
  for (const TranslateOptions& options : {TranslateOptions{}, strictOptions()}) {
    const Sent r = responses(body, {}, options);
    const auto& items = *r.body.find("input")->getArray();
    ASSERT_EQ(items.size(), 4u);
    EXPECT_EQ(common::jsonString(items[0], "role").value_or(""), "developer");
    EXPECT_EQ(common::jsonString(items[1], "role").value_or(""), "developer");
    EXPECT_EQ(common::jsonString(items[2], "role").value_or(""), "user");
    EXPECT_EQ(common::jsonString(items[3], "output").value_or(""), "system");
    EXPECT_TRUE(r.request.dropped.empty());
    EXPECT_EQ(r.request.body.find(R"("role":"system")"), std::string::npos) << r.request.body;
  }
  // Only message items have a role to rewrite.
  const Sent other = responses(R"({"model":"gpt-5.5","input":[{"type":"custom","role":"system"}]})");
  EXPECT_EQ(common::jsonString((*other.body.find("input")->getArray())[0], "role").value_or(""), "system");
}

// ---------------------------------------------------------------- rejected fields

TEST(RejectedFields, ContextManagementAndPromptCacheOptionsAreDropped) {
  const Sent r = responses(
      R"({"model":"gpt-5.5","input":"x","context_management":[{"type":"compaction"}],"prompt_cache_options":{}})");
  EXPECT_EQ(r.request.dropped, (std::vector<std::string>{"context_management", "prompt_cache_options"}));
  EXPECT_EQ(member(r.body, "context_management"), "<absent>");
  EXPECT_EQ(member(r.body, "prompt_cache_options"), "<absent>");
  auto strict =
      normalizeResponsesRequest(R"({"model":"gpt-5.5","input":"x","prompt_cache_options":{}})", strictOptions());
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error().param.value_or(""), "prompt_cache_options");
}

TEST(RejectedFields, PromptCacheBreakpointIsRemovedFromNestedPartsAndNamedOnce) {
  const Sent r = responses(
      R"({"model":"gpt-5.5","input":[
          {"role":"user","content":[{"type":"input_text","text":"a","prompt_cache_breakpoint":{"ttl":"5m"}},
                                    {"type":"input_text","text":"b","prompt_cache_breakpoint":{}}]},
          {"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"o","prompt_cache_breakpoint":{}}]}]})");
  EXPECT_EQ(r.request.dropped, std::vector<std::string>{"prompt_cache_breakpoint"});
  EXPECT_EQ(r.request.body.find("prompt_cache_breakpoint"), std::string::npos) << r.request.body;
  EXPECT_NE(r.request.body.find(R"({"type":"input_text","text":"a"})"), std::string::npos) << r.request.body;
  EXPECT_NE(r.request.body.find(R"("output":[{"type":"input_text","text":"o"}])"), std::string::npos);
}

TEST(RejectedFields, PromptCacheBreakpointUnderStrictIsA400NamingItsPath) {
  auto r = normalizeResponsesRequest(
      R"({"model":"gpt-5.5","input":[{"role":"user","content":"x"},
          {"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_text","text":"b","prompt_cache_breakpoint":{}}]}]})",
      strictOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().param.value_or(""), "input[1].content[1].prompt_cache_breakpoint");
  EXPECT_EQ(r.error().code.value_or(""), "unsupported_parameter");
  auto c = translateChatRequest(
      R"({"model":"gpt-5.5","messages":[{"role":"user","content":[{"type":"text","text":"a","prompt_cache_breakpoint":{}}]}]})",
      strictOptions());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().param.value_or(""), "messages[0].content[0].prompt_cache_breakpoint");
  // A null one asks for nothing: removed, not named, not refused.
  const Sent null = responses(
      R"({"model":"gpt-5.5","input":[{"role":"user","content":[{"type":"input_text","text":"a","prompt_cache_breakpoint":null}]}]})",
      {}, strictOptions());
  EXPECT_TRUE(null.request.dropped.empty());
  EXPECT_EQ(null.request.body.find("prompt_cache_breakpoint"), std::string::npos);
}

TEST(RejectedFields, ChatPartsLoseTheirPromptCacheBreakpoint) {
  const Sent c = chat(
      R"({"model":"gpt-5.5","messages":[{"role":"system","content":[{"type":"text","text":"S","prompt_cache_breakpoint":{}}]},
          {"role":"user","content":[{"type":"input_text","text":"a","prompt_cache_breakpoint":{}},
                                    {"type":"input_image","image_url":"https://x/y.png","prompt_cache_breakpoint":{}}]}]})");
  EXPECT_EQ(c.request.dropped, std::vector<std::string>{"prompt_cache_breakpoint"});
  EXPECT_EQ(c.request.body.find("prompt_cache_breakpoint"), std::string::npos) << c.request.body;
  EXPECT_NE(c.request.body.find(R"({"type":"input_image","image_url":"https://x/y.png"})"), std::string::npos);
}

// ---------------------------------------------------------------- web_search_preview

TEST(WebSearchPreview, ToolsAndToolChoiceBecomeWebSearch) {
  const Sent r = responses(
      R"({"model":"gpt-5.5","input":"x","tools":[{"type":"web_search_preview","search_context_size":"low"},
          {"type":"web_search_preview_2025_03_11","user_location":{"type":"approximate","city":"Oslo"}},
          {"type":"web_search"},{"type":"function","name":"web_search_preview"}],
          "tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"web_search_preview"},{"type":"function","name":"f"}]}})");
  EXPECT_EQ(member(r.body, "tools"),
            R"([{"type":"web_search","search_context_size":"low"},)"
            R"({"type":"web_search","user_location":{"type":"approximate","city":"Oslo"}},{"type":"web_search"},)"
            R"({"type":"function","name":"web_search_preview"}])");
  EXPECT_EQ(member(r.body, "tool_choice"),
            R"({"type":"allowed_tools","mode":"auto","tools":[{"type":"web_search"},{"type":"function","name":"f"}]})");
  EXPECT_TRUE(r.request.dropped.empty());
  const Sent named = responses(R"({"model":"gpt-5.5","input":"x","tool_choice":{"type":"web_search_preview"}})");
  EXPECT_EQ(member(named.body, "tool_choice"), R"({"type":"web_search"})");
  const Sent plain = responses(R"({"model":"gpt-5.5","input":"x","tool_choice":"auto"})");
  EXPECT_EQ(member(plain.body, "tool_choice"), R"("auto")");
}

TEST(WebSearchPreview, ChatToolsAndToolChoiceBecomeWebSearch) {
  const Sent c = chat(
      R"({"model":"gpt-5.5","messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_preview"}],
          "tool_choice":{"type":"web_search_preview_2025_03_11"}})");
  EXPECT_EQ(member(c.body, "tools"), R"([{"type":"web_search"}])");
  EXPECT_EQ(member(c.body, "tool_choice"), R"({"type":"web_search"})");
  EXPECT_TRUE(c.request.dropped.empty());
}

// ---------------------------------------------------------------- encrypted reasoning

TEST(EncryptedReasoning, NullOrEmptyEncryptedContentIsRemovedFromReasoningItems) {
  const Sent r = responses(
      R"({"model":"gpt-5.5","input":[{"type":"reasoning","summary":[],"encrypted_content":null},
          {"type":"reasoning","summary":[],"encrypted_content":""},
          {"type":"reasoning","summary":[],"encrypted_content":"gAAA"},
          {"type":"compaction","encrypted_content":""}]})",
      {}, strictOptions());
  EXPECT_EQ(
      member(r.body, "input"),
      R"([{"type":"reasoning","summary":[]},{"type":"reasoning","summary":[]},)"
      R"({"type":"reasoning","summary":[],"encrypted_content":"gAAA"},{"type":"compaction","encrypted_content":""}])");
  EXPECT_TRUE(r.request.dropped.empty());
}

TEST(EncryptedReasoning, IncludeAsksForItWhenTheModelReasons) {
  const std::string kInclude = R"(["reasoning.encrypted_content"])";
  // A reasoning object, an effort, or a model suffix.
  EXPECT_EQ(member(responses(R"({"model":"gpt-5.5","input":"x","reasoning":{"summary":"auto"}})").body, "include"),
            kInclude);
  EXPECT_EQ(member(responses(R"({"model":"gpt-5.5","input":"x","reasoning":{"effort":"low"}})").body, "include"),
            kInclude);
  EXPECT_EQ(member(responses(R"({"model":"gpt-5.5-high","input":"x"})").body, "include"), kInclude);
  // Not without reasoning, nor with effort none (from the object or the suffix).
  EXPECT_EQ(member(responses(R"({"model":"gpt-5.5","input":"x"})").body, "include"), "<absent>");
  EXPECT_EQ(member(responses(R"({"model":"gpt-5.5","input":"x","reasoning":{"effort":"none"}})").body, "include"),
            "<absent>");
  EXPECT_EQ(member(responses(R"({"model":"gpt-5.5-none","input":"x"})").body, "include"), "<absent>");
  // The client's entries are kept, in place, and the entry is never doubled.
  EXPECT_EQ(member(responses(R"({"model":"gpt-5.5-low","include":["file_search_call.results"],"input":"x"})").body,
                   "include"),
            R"(["file_search_call.results","reasoning.encrypted_content"])");
  EXPECT_EQ(member(responses(R"({"model":"gpt-5.5-low","include":["reasoning.encrypted_content"],"input":"x"})").body,
                   "include"),
            kInclude);
  const Sent untouched = responses(R"({"model":"gpt-5.5","include":["a"],"input":"x"})");
  EXPECT_EQ(member(untouched.body, "include"), R"(["a"])");
  auto bad = normalizeResponsesRequest(R"({"model":"gpt-5.5","input":"x","include":"all"})", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().param.value_or(""), "include");
}

TEST(EncryptedReasoning, ChatIncludesItWhenTheModelReasons) {
  const std::string kInclude = R"(["reasoning.encrypted_content"])";
  const std::string messages = R"("messages":[{"role":"user","content":"x"}])";
  EXPECT_EQ(member(chat(R"({"model":"gpt-5.5-high",)" + messages + "}").body, "include"), kInclude);
  EXPECT_EQ(member(chat(R"({"model":"gpt-5.5","reasoning_effort":"low",)" + messages + "}").body, "include"), kInclude);
  EXPECT_EQ(member(chat(R"({"model":"gpt-5.5",)" + messages + "}").body, "include"), "<absent>");
  EXPECT_EQ(member(chat(R"({"model":"gpt-5.5-high","reasoning_effort":"none",)" + messages + "}").body, "include"),
            "<absent>");
  // The summaries of REASONING_COMPAT turn reasoning on as well.
  TranslateOptions compat;
  compat.reasoning_compat = ReasoningCompat::ThinkTags;
  EXPECT_EQ(member(chat(R"({"model":"gpt-5.5",)" + messages + "}", {}, compat).body, "include"), kInclude);
}

// ---------------------------------------------------------------- Responses-Lite

TEST(ResponsesLite, TheBodyKeepsTheClientsShape) {
  CallHints lite;
  lite.responses_lite = true;
  lite.client_session_id = "019b-lite";
  const std::string body =
      R"({"model":"gpt-5.6-sol","instructions":null,"input":[{"type":"message","role":"developer","content":"D"},
          {"type":"message","role":"system","content":"S"},
          {"id":"msg_1","type":"message","role":"user","content":[{"type":"input_text","text":"Q","prompt_cache_breakpoint":{}}]},
          {"type":"item_reference","id":"rs_0"},{"type":"reasoning","summary":[],"encrypted_content":null}],
          "additional_tools":[{"type":"web_search_preview"}],"tools":[{"type":"web_search_preview"}],
          "tool_choice":{"type":"web_search_preview"},"reasoning":{"effort":"high","context":"all"},
          "include":[],"store":true,"stream":false,"context_management":[{"type":"compaction"}],
          "client_metadata":{"x":"y"}})";
  const Sent r = responses(body, lite);
  EXPECT_EQ(
      r.request.body,
      R"({"model":"gpt-5.6-sol","instructions":null,"input":[{"type":"message","role":"developer","content":"D"},)"
      R"({"type":"message","role":"developer","content":"S"},)"
      R"({"type":"message","role":"user","content":[{"type":"input_text","text":"Q"}]},)"
      R"({"type":"reasoning","summary":[]}],)"
      R"("additional_tools":[{"type":"web_search_preview"}],"tools":[{"type":"web_search_preview"}],)"
      R"("tool_choice":{"type":"web_search_preview"},"reasoning":{"effort":"high","context":"all"},)"
      R"("include":[],"store":false,"stream":true,"client_metadata":{"x":"y"},"prompt_cache_key":"019b-lite"})");
  EXPECT_EQ(r.request.dropped, (std::vector<std::string>{"prompt_cache_breakpoint", "store", "context_management"}));
  EXPECT_EQ(r.request.session_id, "019b-lite");
}

TEST(ResponsesLite, AbsentInstructionsAndIncludeStayAbsent) {
  CallHints lite;
  lite.responses_lite = true;
  const Sent r =
      responses(R"({"model":"gpt-5.6-sol","input":"x","reasoning":{"effort":"high"},"prompt_cache_key":"k"})", lite);
  EXPECT_EQ(member(r.body, "instructions"), "<absent>");
  EXPECT_EQ(member(r.body, "include"), "<absent>");
  EXPECT_EQ(member(r.body, "prompt_cache_key"), R"("k")");
  EXPECT_EQ(r.request.session_id, "k");
  // A string instructions stays where the client put it.
  const Sent s = responses(R"({"instructions":"I","model":"gpt-5.6-sol","input":"x"})", lite);
  EXPECT_TRUE(r.request.body.starts_with(R"({"model":)"));
  EXPECT_TRUE(s.request.body.starts_with(R"({"instructions":"I","model":"gpt-5.6-sol","input":)")) << s.request.body;
}

TEST(ResponsesLite, TheChatRouteIgnoresTheFlag) {
  CallHints lite;
  lite.responses_lite = true;
  const Sent c = chat(R"({"model":"gpt-5.5-high","messages":[{"role":"user","content":"x"}],
                          "tools":[{"type":"web_search_preview"}]})",
                      lite);
  EXPECT_EQ(member(c.body, "instructions"), R"("")");
  EXPECT_EQ(member(c.body, "include"), R"(["reasoning.encrypted_content"])");
  EXPECT_EQ(member(c.body, "tools"), R"([{"type":"web_search"}])");
}

// ---------------------------------------------------------------- catalog efforts

common::ModelCatalog testCatalog() {
  common::ModelCatalog c;
  common::CatalogModel sol;
  sol.slug = "gpt-5.6-sol";
  sol.efforts = {"low", "medium", "high", "xhigh", "max", "ultra"};
  common::CatalogModel mini;
  mini.slug = "gpt-5.4-mini";
  mini.efforts = {"low", "high"};
  common::CatalogModel maxed;
  maxed.slug = "codex-max";
  maxed.efforts = {"medium"};
  c.models = {sol, mini, maxed};
  return c;
}

TEST(CatalogEfforts, NewSuffixesReachTheBackend) {
  const auto catalog = testCatalog();
  CallHints hints;
  hints.catalog = &catalog;
  for (const char* effort : {"max", "ultra"}) {
    const Sent r = responses(R"({"model":"gpt-5.6-sol-)" + std::string(effort) + R"(","input":"x"})", hints);
    EXPECT_EQ(r.request.upstream_model, "gpt-5.6-sol");
    EXPECT_EQ(member(r.body, "reasoning"), R"({"effort":")" + std::string(effort) + R"("})");
    EXPECT_TRUE(r.request.dropped.empty());
  }
  // A slug of the catalog that ends like an effort is a model, not a suffix.
  const Sent whole = chat(R"({"model":"codex-max","messages":[{"role":"user","content":"x"}]})", hints);
  EXPECT_EQ(whole.request.upstream_model, "codex-max");
  EXPECT_EQ(member(whole.body, "reasoning"), "<absent>");
}

TEST(CatalogEfforts, AnUnsupportedEffortBecomesTheNearestAndIsNamed) {
  const auto catalog = testCatalog();
  CallHints hints;
  hints.catalog = &catalog;
  // From the suffix, reasoning.effort and reasoning_effort; ties go up.
  Sent r = responses(R"({"model":"gpt-5.4-mini-medium","input":"x"})", hints);
  EXPECT_EQ(member(r.body, "reasoning"), R"({"effort":"high"})");
  EXPECT_EQ(r.request.dropped, std::vector<std::string>{"reasoning.effort"});
  r = responses(R"({"model":"gpt-5.6-sol","input":"x","reasoning":{"summary":"auto","effort":"minimal"}})", hints);
  EXPECT_EQ(member(r.body, "reasoning"), R"({"summary":"auto","effort":"low"})");
  EXPECT_EQ(r.request.dropped, std::vector<std::string>{"reasoning.effort"});
  Sent c =
      chat(R"({"model":"gpt-5.4-mini","reasoning_effort":"ultra","messages":[{"role":"user","content":"x"}]})", hints);
  EXPECT_EQ(member(c.body, "reasoning"), R"({"effort":"high"})");
  EXPECT_EQ(c.request.dropped, std::vector<std::string>{"reasoning.effort"});
  // "none" mapped to a real effort turns reasoning on.
  r = responses(R"({"model":"gpt-5.6-sol-none","input":"x"})", hints);
  EXPECT_EQ(member(r.body, "reasoning"), R"({"effort":"low"})");
  EXPECT_EQ(member(r.body, "include"), R"(["reasoning.encrypted_content"])");
}

TEST(CatalogEfforts, StrictRefusesNamingTheSupportedEfforts) {
  const auto catalog = testCatalog();
  CallHints hints;
  hints.catalog = &catalog;
  struct Case {
    std::string body;
    bool chat;
    const char* param;
  };
  const Case cases[] = {
      {R"({"model":"gpt-5.4-mini-minimal","input":"x"})", false, "model"},
      {R"({"model":"gpt-5.4-mini","input":"x","reasoning":{"effort":"xhigh"}})", false, "reasoning.effort"},
      {R"({"model":"gpt-5.4-mini","reasoning_effort":"medium","messages":[{"role":"user","content":"x"}]})", true,
       "reasoning_effort"},
      {R"({"model":"gpt-5.4-mini","reasoning":{"effort":"medium"},"messages":[{"role":"user","content":"x"}]})", true,
       "reasoning.effort"},
      {R"({"model":"gpt-5.4-mini-max","messages":[{"role":"user","content":"x"}]})", true, "model"},
  };
  for (const Case& c : cases) {
    auto r = c.chat ? translateChatRequest(c.body, strictOptions(), hints)
                    : normalizeResponsesRequest(c.body, strictOptions(), hints);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().param.value_or(""), c.param) << c.body;
    EXPECT_EQ(r.error().code.value_or(""), "unsupported_value");
    EXPECT_NE(r.error().message.find("Supported efforts: low, high."), std::string::npos) << r.error().message;
  }
  // A supported effort passes under strict.
  auto ok = normalizeResponsesRequest(R"({"model":"gpt-5.4-mini-high","input":"x"})", strictOptions(), hints);
  EXPECT_TRUE(ok.ok());
}

TEST(CatalogEfforts, WithoutTheModelOrACatalogEffortsPassUnchecked) {
  const auto catalog = testCatalog();
  CallHints hints;
  hints.catalog = &catalog;
  Sent r = responses(R"({"model":"gpt-9-ultra","input":"x"})", hints);
  EXPECT_EQ(r.request.upstream_model, "gpt-9");
  EXPECT_EQ(member(r.body, "reasoning"), R"({"effort":"ultra"})");
  EXPECT_TRUE(r.request.dropped.empty());
  r = responses(R"({"model":"gpt-5.4-mini-minimal","input":"x"})");
  EXPECT_EQ(member(r.body, "reasoning"), R"({"effort":"minimal"})");
  EXPECT_TRUE(r.request.dropped.empty());
  auto bad = normalizeResponsesRequest(R"({"model":"gpt-5.5","input":"x","reasoning":{"effort":3}})", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().param.value_or(""), "reasoning.effort");
}

}  // namespace
}  // namespace cosp::worker
