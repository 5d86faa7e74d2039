#include "worker/routes/codex_catalog.h"

#include <gtest/gtest.h>

using namespace cosp::worker;
using namespace std::chrono_literals;

namespace {

const char* kBackend =
    R"({"models":[{"slug":"gpt-5.5","display_name":"GPT-5.5","supported_reasoning_levels":[{"effort":"low","description":"a"}],)"
    R"("visibility":"list","model_messages":{"instructions_template":"You are Codex."},"experimental_supported_tools":[]},)"
    R"({"slug":"gpt-5.4","visibility":"hide","priority":3}]})";

}  // namespace

TEST(CodexCatalog, ClientVersionComesFromTheQuery) {
  EXPECT_EQ(clientVersionParam("/v1/models"), std::nullopt);
  EXPECT_EQ(clientVersionParam("/v1/models?x=1"), std::nullopt);
  EXPECT_EQ(clientVersionParam("/v1/models?client_version=0.169.0"), "0.169.0");
  EXPECT_EQ(clientVersionParam("/v1/models?a=b&client_version=0.1%2E2&c"), "0.1.2");
  EXPECT_EQ(clientVersionParam("/v1/models?client_version"), "");
  EXPECT_TRUE(isClientVersion("0.170.1-alpha.2+build_3"));
  for (const std::string& bad :
       std::vector<std::string>{"", "a b", "0.1/../x", "0.1&x=1", std::string(65, '1'), std::string("a\0b", 3)}) {
    EXPECT_FALSE(isClientVersion(bad)) << bad;
  }
}

TEST(CodexCatalog, EntriesAreRelayedWholeAndFilteredToCodexModels) {
  auto all = codexCatalogJson(kBackend, {});
  ASSERT_TRUE(all);
  EXPECT_NE(all->find(R"("instructions_template":"You are Codex.")"), std::string::npos) << *all;
  EXPECT_NE(all->find(R"("priority":3)"), std::string::npos) << *all;
  auto only = codexCatalogJson(kBackend, {"gpt-5.4", "unknown-model"});
  ASSERT_TRUE(only);
  EXPECT_EQ(*only, R"({"models":[{"slug":"gpt-5.4","visibility":"hide","priority":3}]})");
  EXPECT_EQ(codexCatalogJson("not json", {}), std::nullopt);
  EXPECT_EQ(codexCatalogJson(R"({"data":[]})", {}), std::nullopt);
}

TEST(CodexCatalog, TheHeldCatalogAnswersOnlyWithRawEntries) {
  cosp::common::ModelCatalog held;
  held.models.push_back({"gpt-5.4", "GPT-5.4", {"low"}, std::nullopt, true, ""});
  EXPECT_EQ(codexCatalogJson(held), std::nullopt);  // the built-in list: nothing the CLI could decode
  held.models.push_back({"gpt-5.5", "GPT-5.5", {"low"}, std::nullopt, true, R"({"slug":"gpt-5.5"})"});
  EXPECT_EQ(codexCatalogJson(held), R"({"models":[{"slug":"gpt-5.5"}]})");
}

TEST(CodexCatalog, CacheIsFreshForItsTtlAndBounded) {
  CodexCatalogCache cache(1h, 2);
  const auto t0 = CodexCatalogCache::Clock::now();
  cache.put("0.1.0", {"a", "e1", t0});
  EXPECT_EQ(cache.fresh("0.1.0", t0 + 59min)->body, "a");
  EXPECT_EQ(cache.fresh("0.1.0", t0 + 1h), std::nullopt);
  EXPECT_EQ(cache.any("0.1.0")->etag, "e1");  // stale, still there for a failing backend
  cache.put("0.2.0", {"b", "", t0 + 1min});
  cache.put("0.3.0", {"c", "", t0 + 2min});
  EXPECT_EQ(cache.any("0.1.0"), std::nullopt);  // the oldest fetch went
  EXPECT_EQ(cache.any("0.3.0")->body, "c");
}
