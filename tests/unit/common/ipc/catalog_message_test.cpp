// The catalog message of the worker channel.
#include "common/ipc/catalog_message.h"

#include <gtest/gtest.h>

#include "common/catalog/served_catalog.h"
#include "common/ipc/channel.h"
#include "common/ipc/messages.h"

using namespace cosp::common;

namespace {

ModelCatalog sample() {
  ModelCatalog c;
  c.source = ModelCatalog::Source::Backend;
  c.etag = "W/\"abc\"";
  c.fetched_at_ms = 1'750'000'000'123;
  CatalogModel sol{
      "gpt-5.6-sol", "GPT-5.6 Sol", {"low", "max", "ultra"},
      "low",         true,          R"({"slug":"gpt-5.6-sol","context_window":400000,"nested":{"a":[1,2]}})"};
  CatalogModel hidden{"codex-auto-review", "Auto review", {}, std::nullopt, false, ""};
  c.models = {sol, hidden};
  return c;
}

void expectSame(const ModelCatalog& a, const ModelCatalog& b) {
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.etag, b.etag);
  EXPECT_EQ(a.fetched_at_ms, b.fetched_at_ms);
  ASSERT_EQ(a.models.size(), b.models.size());
  for (size_t i = 0; i < a.models.size(); ++i) {
    EXPECT_EQ(a.models[i].slug, b.models[i].slug);
    EXPECT_EQ(a.models[i].display_name, b.models[i].display_name);
    EXPECT_EQ(a.models[i].efforts, b.models[i].efforts);
    EXPECT_EQ(a.models[i].default_effort, b.models[i].default_effort);
    EXPECT_EQ(a.models[i].listed, b.models[i].listed);
    EXPECT_EQ(a.models[i].raw_json, b.models[i].raw_json);
  }
}

}  // namespace

TEST(CatalogMessage, RoundTrip) {
  const ModelCatalog c = sample();
  bool dropped = true;
  const std::string message = encodeCatalog(c, &dropped);
  EXPECT_FALSE(dropped);
  EXPECT_EQ(messageType(message), msg::kCatalog);
  auto back = decodeCatalog(message);
  ASSERT_TRUE(back);
  expectSame(*back, c);

  auto built_in = decodeCatalog(encodeCatalog(builtInCatalog()));
  ASSERT_TRUE(built_in);
  expectSame(*built_in, builtInCatalog());
}

TEST(CatalogMessage, RawEntriesGoOnlyWhenTheyFitOneChannelMessage) {
  ModelCatalog c = sample();
  // Like the real catalog: every entry carries long instructions.
  const std::string instructions(Channel::kMaxMessageBytes / 4, 'x');
  for (int i = 0; i < 6; ++i) {
    CatalogModel m{
        "m" + std::to_string(i), "M", {"low", "high"}, "low", true, R"({"base_instructions":")" + instructions + "\"}"};
    c.models.push_back(m);
  }
  bool dropped = false;
  const std::string message = encodeCatalog(c, &dropped);
  EXPECT_TRUE(dropped);
  EXPECT_LE(message.size(), Channel::kMaxMessageBytes);
  auto back = decodeCatalog(message);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->models.size(), c.models.size());
  for (const CatalogModel& m : back->models) EXPECT_TRUE(m.raw_json.empty()) << m.slug;
  EXPECT_EQ(back->models[2].efforts, (std::vector<std::string>{"low", "high"}));
}

TEST(CatalogMessage, RefusesMalformed) {
  for (const char* bad : {
           "",
           "[]",
           R"({"type":"catalog"})",
           R"({"type":"catalog","source":"elsewhere","models":[]})",
           R"({"type":"catalog","source":"backend","models":{}})",
           R"({"type":"catalog","source":"backend","models":[{"efforts":[]}]})",
           R"({"type":"catalog","source":"backend","models":[{"slug":"a","efforts":[1]}]})",
           R"({"type":"catalog","source":"backend","models":[{"slug":"a","listed":"yes"}]})",
           R"({"type":"catalog","source":"backend","models":[{"slug":"a","raw":"{}"}]})",
           R"({"type":"catalog","source":"backend","etag":5,"models":[]})",
           R"({"type":"catalog","source":"backend","fetched_at_ms":"1","models":[]})",
           R"({"type":"catalog","source":"backend","models":[{"slug":"a","display_name":7}]})",
       }) {
    EXPECT_FALSE(decodeCatalog(bad)) << bad;
  }
  auto minimal = decodeCatalog(R"({"type":"catalog","source":"configured","models":[{"slug":"a"}]})");
  ASSERT_TRUE(minimal);
  EXPECT_EQ(minimal->models[0].display_name, "a");
  EXPECT_TRUE(minimal->models[0].listed);
}
