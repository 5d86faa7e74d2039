#include "worker/translate/compact_request.h"

#include <gtest/gtest.h>

using namespace cosp::worker;

TEST(CompactRequest, OnlyTheRejectedFieldsAreRemoved) {
  const std::string body =
      R"({"model":"gpt-5.4","input":[{"type":"message","role":"user","content":"hi","id":"msg_1"}],)"
      R"("instructions":"be brief","temperature":0.2,"max_output_tokens":9,"service_tier":"auto",)"
      R"("tools":[{"type":"web_search_preview"}],"parallel_tool_calls":true})";
  auto out = compactRequestBody(body, TranslateOptions{});
  ASSERT_TRUE(out) << out.error().message;
  // No store/stream, ids and tool types untouched: the body with the removals only.
  EXPECT_EQ(out->body,
            R"({"model":"gpt-5.4","input":[{"type":"message","role":"user","content":"hi","id":"msg_1"}],)"
            R"("instructions":"be brief","tools":[{"type":"web_search_preview"}],"parallel_tool_calls":true})");
  EXPECT_EQ(out->model, "gpt-5.4");
  EXPECT_EQ(out->dropped, (std::vector<std::string>{"temperature", "max_output_tokens", "service_tier"}));
}

TEST(CompactRequest, PriorityIsKeptDuplicatesCollapseAndStrictRefuses) {
  auto kept = compactRequestBody(R"({"model":"a","model":"b","service_tier":"priority"})", TranslateOptions{});
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->body, R"({"model":"b","service_tier":"priority"})");
  EXPECT_TRUE(kept->dropped.empty());
  TranslateOptions strict;
  strict.strict = true;
  auto refused = compactRequestBody(R"({"model":"a","top_p":1})", strict);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 400);
  EXPECT_EQ(refused.error().param, "top_p");
  for (const char* bad : {"", "[]", "{", "\"x\""}) {
    auto r = compactRequestBody(bad, TranslateOptions{});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 400);
  }
}
