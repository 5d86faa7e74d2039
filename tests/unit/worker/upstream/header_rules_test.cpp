// header_rules: which header names and values may cross the proxy (the backend's x-codex-*
// headers as they come off the wire, a bare CR or a NUL: upstream_raw_server_test.cpp).
#include "worker/upstream/header_rules.h"

#include <gtest/gtest.h>

#include <string>

namespace cosp::worker {
namespace {

TEST(HeaderRules, TokensAreRfc9110Tchars) {
  EXPECT_TRUE(isHeaderToken("x-codex-primary-used-percent"));
  EXPECT_TRUE(isHeaderToken("!#$%&'*+-.^_`|~09azAZ"));
  EXPECT_FALSE(isHeaderToken(""));
  EXPECT_FALSE(isHeaderToken("a b"));
  EXPECT_FALSE(isHeaderToken("a:b"));
  EXPECT_FALSE(isHeaderToken("a\r"));
  EXPECT_FALSE(isHeaderToken(std::string("a\0", 2)));
  EXPECT_FALSE(isHeaderToken("a\"b"));
  EXPECT_FALSE(isHeaderToken("\xc3\xa9"));
}

TEST(HeaderRules, SafeValuesAreVisibleTextSpaceTabAndObsText) {
  EXPECT_TRUE(isSafeHeaderValue(""));
  EXPECT_TRUE(isSafeHeaderValue("97"));
  EXPECT_TRUE(isSafeHeaderValue("a b\tc ~!\"{}"));
  EXPECT_TRUE(isSafeHeaderValue("\x80\xff \xc3\xa9"));
  EXPECT_FALSE(isSafeHeaderValue("a\rb"));
  EXPECT_FALSE(isSafeHeaderValue("a\nb"));
  EXPECT_FALSE(isSafeHeaderValue("a\r\nSet-Cookie: x"));
  EXPECT_FALSE(isSafeHeaderValue(std::string("a\0b", 3)));
  EXPECT_FALSE(isSafeHeaderValue("\x01"));
  EXPECT_FALSE(isSafeHeaderValue("\x1f"));
  EXPECT_FALSE(isSafeHeaderValue("\x7f"));
}

TEST(HeaderRules, CodexNamesNeedTheirPrefixAndSomethingAfterIt) {
  EXPECT_TRUE(isCodexHeaderName("x-codex-a"));
  EXPECT_TRUE(isCodexHeaderName("X-Codex-Primary-Used-Percent"));
  EXPECT_FALSE(isCodexHeaderName("x-codex-"));
  EXPECT_FALSE(isCodexHeaderName("x-codexa"));
  EXPECT_FALSE(isCodexHeaderName("content-type"));
}

TEST(HeaderRules, ForwardedRequestHeadersAreTheCodexOnesNeverCredentialsOrCookies) {
  for (const char* name :
       {"x-codex-turn-state", "X-Codex-Window-Id", "x-openai-internal-codex-responses-lite", "x-openai-subagent",
        "thread-id", "Thread-Id", "x-client-request-id", "x-responsesapi-include-timing-metrics"}) {
    EXPECT_TRUE(isForwardedRequestHeader(name)) << name;
  }
  for (const char* name : {"Authorization", "x-api-key", "ChatGPT-Account-ID", "chatgpt-account-id", "Cookie",
                           "Connection", "Transfer-Encoding", "Host", "User-Agent", "session-id", "x-openai-",
                           "x-codex-", "thread-ids", "x-forwarded-for"}) {
    EXPECT_FALSE(isForwardedRequestHeader(name)) << name;
  }
}

TEST(HeaderRules, OnlyWellFormedCodexHeadersAreSelected) {
  const HeaderList upstream = {{"Content-Type", "text/event-stream"},
                               {"x-codex-primary-used-percent", "7"},
                               {"X-Codex-Bad-Cr", "a\rb"},
                               {"x-codex-nul", std::string("1\0", 2)},
                               {"x-codex-ctl", "\x1b[31m"},
                               {"x-codex-long", std::string(1025, 'a')},
                               {"x-codex-" + std::string(121, 'n'), "1"},
                               {"x-codex-bad name", "1"},
                               {"x-codex-primary-window-minutes", "300"},
                               {"set-cookie", "a\rb"}};
  const CodexHeaderSelection s = selectCodexHeaders(upstream);
  EXPECT_EQ(s.headers, (HeaderList{{"x-codex-primary-used-percent", "7"}, {"x-codex-primary-window-minutes", "300"}}));
  EXPECT_EQ(s.dropped, 6u);  // non-codex headers are neither kept nor counted
  // At the limits exactly: kept.
  const HeaderList edge = {{"x-codex-" + std::string(120, 'n'), std::string(1024, 'v')}};
  EXPECT_EQ(selectCodexHeaders(edge).headers.size(), 1u);
}

TEST(HeaderRules, AtMostMaxCountCodexHeadersAreSelected) {
  HeaderList upstream;
  for (int i = 0; i < 40; ++i) upstream.emplace_back("x-codex-h" + std::to_string(i), "1");
  const CodexHeaderSelection s = selectCodexHeaders(upstream);
  ASSERT_EQ(s.headers.size(), 32u);
  EXPECT_EQ(s.headers.front().first, "x-codex-h0");
  EXPECT_EQ(s.headers.back().first, "x-codex-h31");
  EXPECT_EQ(s.dropped, 8u);
  const CodexHeaderSelection three = selectCodexHeaders(upstream, CodexHeaderLimits{3, 128, 1024});
  EXPECT_EQ(three.headers.size(), 3u);
  EXPECT_EQ(three.dropped, 37u);
}

TEST(HeaderRules, TheNamedResponseHeadersAreForwardedAndTheRequestIdRenamed) {
  const HeaderList upstream = {{"Content-Type", "text/event-stream"},
                               {"X-Request-Id", "req_8f3a"},
                               {"x-codex-primary-used-percent", "7"},
                               {"Set-Cookie", "__cf_bm=abc; path=/"},
                               {"OpenAI-Model", "gpt-5.5-2026-08-01"},
                               {"x-reasoning-included", "true"},
                               {"x-models-etag", "W/\"c0ffee\""},
                               {"openai-model", "second-one-ignored"},
                               {"x-openai-other", "1"},
                               {"Transfer-Encoding", "chunked"}};
  const ForwardedHeaderSelection s = selectForwardedHeaders(upstream);
  EXPECT_EQ(s.headers, (HeaderList{{"x-codex-primary-used-percent", "7"},
                                   {"x-reasoning-included", "true"},
                                   {"openai-model", "gpt-5.5-2026-08-01"},
                                   {"x-models-etag", "W/\"c0ffee\""},
                                   {"x-upstream-request-id", "req_8f3a"}}));
  EXPECT_EQ(s.upstream_request_id, "req_8f3a");
  EXPECT_EQ(s.dropped, 0u);
}

TEST(HeaderRules, IllFormedOrOverlongNamedResponseHeadersAreDropped) {
  const HeaderList upstream = {{"x-request-id", "a\rInjected: 1"},
                               {"openai-model", std::string(kMaxNamedResponseHeaderBytes + 1, 'm')},
                               {"x-models-etag", ""},
                               {"x-reasoning-included", std::string(kMaxNamedResponseHeaderBytes, 't')}};
  const ForwardedHeaderSelection s = selectForwardedHeaders(upstream);
  EXPECT_EQ(s.headers, (HeaderList{{"x-reasoning-included", std::string(kMaxNamedResponseHeaderBytes, 't')}}));
  EXPECT_EQ(s.upstream_request_id, "");
  EXPECT_EQ(s.dropped, 3u);
}

TEST(HeaderRules, AForwardedClientHeaderWithAControlCharacterIsA400NamingIt) {
  EXPECT_FALSE(checkForwardedHeader("session_id", "3f1c-abc"));
  EXPECT_FALSE(checkForwardedHeader("x-codex-beta", "a b\tc \xc3\xa9"));
  for (const auto& [name, value] : HeaderList{{"session_id", std::string("a\0b", 3)},
                                              {"session-id", "a\rb"},
                                              {"x-session-id", "a\x01"},
                                              {"x-codex-beta", "a\r\nInjected: 1"},
                                              {"x-client-request-id", "\x7f"},
                                              {"x-codex-a b", "1"}}) {
    const auto error = checkForwardedHeader(name, value);
    ASSERT_TRUE(error.has_value()) << name;
    EXPECT_EQ(error->status, 400);
    EXPECT_EQ(error->type, "invalid_request_error");
    EXPECT_EQ(error->param, name);
    EXPECT_EQ(error->code, "invalid_header_value");
    EXPECT_NE(error->message.find("'" + name + "'"), std::string::npos);
  }
}

TEST(HeaderRules, TheBackendsTurnStateReachesTheClient) {
  // The Codex CLI echoes x-codex-turn-state on the thread's next turn (sticky routing).
  const ForwardedHeaderSelection s = selectForwardedHeaders({{"X-Codex-Turn-State", "ts_9a8b"}});
  EXPECT_EQ(s.headers, (HeaderList{{"X-Codex-Turn-State", "ts_9a8b"}}));
  EXPECT_TRUE(isForwardedRequestHeader("x-codex-turn-state"));
}

TEST(HeaderRules, TheCatalogEtagStandsInForAMissingModelsEtag) {
  HeaderList none = {{"openai-model", "gpt-5.4"}};
  addCatalogModelsEtag(none, "\"cat-1\"");
  EXPECT_EQ(none, (HeaderList{{"openai-model", "gpt-5.4"}, {"x-models-etag", "\"cat-1\""}}));
  HeaderList backends = {{"X-Models-Etag", "W/\"b\""}};
  addCatalogModelsEtag(backends, "\"cat-1\"");
  EXPECT_EQ(backends, (HeaderList{{"X-Models-Etag", "W/\"b\""}}));  // the backend's wins
  for (const std::string& bad : {std::string(), std::string("a\r\nx: y"), std::string(300, 'e')}) {
    HeaderList headers;
    addCatalogModelsEtag(headers, bad);
    EXPECT_TRUE(headers.empty());  // no catalog ETag (built-in list), or one no header may carry
  }
}

}  // namespace
}  // namespace cosp::worker
