// The backend's model catalog as the proxy reads it, the built-in list and CODEX_MODELS.
#include "common/catalog/catalog_parse.h"

#include <gtest/gtest.h>

#include "common/catalog/served_catalog.h"
#include "common/ipc/catalog_message.h"
#include "common/ipc/channel.h"
#include "common/json/json_parser.h"

using namespace cosp::common;

namespace {

// Shaped like the backend's answer (BACKEND.md, Catalog and quota endpoints), with members the
// proxy does not know.
const char* kBackendCatalog = R"({"models":[
  {"slug":"gpt-5.6-sol","display_name":"GPT-5.6 Sol","supported_reasoning_levels":[
     {"effort":"low","description":"Fast"},{"effort":"medium","description":"Balanced"},
     {"effort":"high","description":"Deep"},{"effort":"xhigh","description":"Deeper"},
     {"effort":"max","description":"Max"},{"effort":"ultra","description":"Ultra"}],
   "default_reasoning_level":"medium","visibility":"list","supported_in_api":true,"context_window":400000,
   "priority":1,"service_tiers":["default","priority"],"base_instructions":"You are Codex.\n",
   "truncation_policy":{"mode":"tokens","limit":10000}},
  {"slug":"gpt-5.4-mini","display_name":"GPT-5.4 mini","supported_reasoning_levels":[
     {"effort":"low","description":"x"},{"effort":"medium","description":"x"},{"effort":"high","description":"x"},
     {"effort":"xhigh","description":"x"}],"default_reasoning_level":"medium","visibility":"list"},
  {"slug":"codex-auto-review","display_name":"Auto review","supported_reasoning_levels":[],"visibility":"hide"}
],"etag_hint":"ignored"})";

}  // namespace

TEST(CatalogParse, ReadsSlugsEffortsVisibilityAndKeepsEachEntry) {
  auto parsed = parseBackendCatalog(kBackendCatalog);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const std::vector<CatalogModel>& models = parsed->models;
  ASSERT_EQ(models.size(), 3u);
  EXPECT_EQ(parsed->skipped, 0u);
  EXPECT_EQ(models[0].slug, "gpt-5.6-sol");
  EXPECT_EQ(models[0].display_name, "GPT-5.6 Sol");
  EXPECT_EQ(models[0].efforts, (std::vector<std::string>{"low", "medium", "high", "xhigh", "max", "ultra"}));
  EXPECT_EQ(models[0].default_effort, std::optional<std::string>("medium"));
  EXPECT_TRUE(models[0].listed);
  EXPECT_EQ(models[1].efforts, (std::vector<std::string>{"low", "medium", "high", "xhigh"}));
  EXPECT_FALSE(models[2].listed);
  EXPECT_TRUE(models[2].efforts.empty());
  EXPECT_EQ(models[2].default_effort, std::nullopt);
  // The entry whole, every member the proxy does not read included, for the Codex-shaped relay.
  auto raw = parseJsonObject(models[0].raw_json);
  ASSERT_TRUE(raw);
  EXPECT_EQ(jsonInt(*raw, "context_window"), 400000);
  EXPECT_EQ(jsonString(*raw, "base_instructions"), "You are Codex.\n");
  ASSERT_NE(jsonObjectValue(*raw, "truncation_policy"), nullptr);
}

TEST(CatalogParse, ToleratesOddMembersButSkipsUnservableSlugs) {
  auto parsed = parseBackendCatalog(R"({"models":[
    {"slug":"a","supported_reasoning_levels":["low",{"effort":"HIGH"},{"effort":7},{"description":"no effort"},
      {"effort":"high"},{"effort":"high"}],"default_reasoning_level":7,"visibility":null,"display_name":5},
    {"slug":"has space"},{"slug":"a"},{"slug":""},{"slug":"b/c"},
    {"slug":"b","supported_reasoning_levels":"not a list","visibility":"list"}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  ASSERT_EQ(parsed->models.size(), 2u);
  EXPECT_EQ(parsed->skipped, 4u);  // "has space", the second "a", "", "b/c"
  const CatalogModel& a = parsed->models[0];
  EXPECT_EQ(a.display_name, "a");                                   // not a string: the slug
  EXPECT_EQ(a.efforts, (std::vector<std::string>{"low", "high"}));  // usable names, once each
  EXPECT_EQ(a.default_effort, std::nullopt);
  EXPECT_FALSE(a.listed);  // a visibility other than "list"
  EXPECT_TRUE(parsed->models[1].efforts.empty());
  EXPECT_TRUE(parsed->models[1].listed);

  // No visibility at all: served like a catalog from before the field.
  auto bare = parseBackendCatalog(R"({"models":[{"slug":"x"}]})");
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->models[0].listed);
}

TEST(CatalogParse, RefusesWhatIsNotACatalog) {
  for (const char* body :
       {"", "<html>Just a moment...</html>", "[]", R"({"data":[]})", R"({"models":{}})", R"({"models":[]})",
        R"({"models":[1]})", R"({"models":[{"display_name":"x"}]})", R"({"models":[{"slug":7}]})",
        R"({"models":[{"slug":"bad slug"}]})", R"({"models":[{"slug":"a"}])"}) {
    auto parsed = parseBackendCatalog(body);
    EXPECT_FALSE(parsed.ok()) << body;
    if (!parsed.ok()) {
      EXPECT_FALSE(parsed.error().empty());
    }
  }
  std::string many = R"({"models":[)";
  for (size_t i = 0; i <= kMaxCatalogModels; ++i)
    many += (i ? "," : "") + std::string(R"({"slug":"m)") + std::to_string(i) + "\"}";
  many += "]}";
  EXPECT_FALSE(parseBackendCatalog(many).ok());
  // The bounds keep the largest catalog within one channel message even with hostile members.
  std::string big = R"({"models":[)";
  for (size_t i = 0; i < kMaxCatalogModels; ++i) {
    big += (i ? "," : "") + std::string(R"({"slug":")") + std::string(kMaxModelIdBytes - 4, 'm') +
           std::to_string(1000 + i) + R"(","display_name":")" + std::string(100000, 'd') +
           R"(","supported_reasoning_levels":[)";
    for (int e = 0; e < 100; ++e)
      big +=
          (e ? "," : "") + std::string("\"") + std::string(kMaxEffortBytes - 3, 'e') + std::to_string(100 + e) + "\"";
    big += "]}";
  }
  big += "]}";
  auto bounded = parseBackendCatalog(big);
  ASSERT_TRUE(bounded.ok()) << bounded.error();
  EXPECT_EQ(bounded->models[0].efforts.size(), kMaxEfforts);
  EXPECT_EQ(bounded->models[0].display_name, bounded->models[0].slug);
  ModelCatalog c;
  c.models = bounded->models;
  for (CatalogModel& m : c.models) m.raw_json.clear();
  EXPECT_LE(encodeCatalog(c).size(), Channel::kMaxMessageBytes);

  // The error never quotes the answer.
  auto html = parseBackendCatalog("<html>secret-ish page</html>");
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.error().find("secret"), std::string::npos);
}

TEST(CatalogParse, ModelIdAndEffortNames) {
  EXPECT_TRUE(isServableModelId("gpt-5.4-mini"));
  EXPECT_TRUE(isServableModelId("ft:gpt-5@x+y_z"));
  EXPECT_FALSE(isServableModelId(""));
  EXPECT_FALSE(isServableModelId(std::string(kMaxModelIdBytes + 1, 'a')));
  EXPECT_FALSE(isServableModelId("a/b"));
  EXPECT_FALSE(isServableModelId("a\nb"));
  EXPECT_TRUE(isEffortName("xhigh"));
  EXPECT_FALSE(isEffortName("High"));
  EXPECT_FALSE(isEffortName(""));
}

TEST(BuiltInCatalog, ModelsEveryPlanIsServed) {
  ModelCatalog c = builtInCatalog();
  EXPECT_EQ(c.source, ModelCatalog::Source::BuiltIn);
  ASSERT_EQ(c.models.size(), 3u);
  EXPECT_EQ(c.models[0].slug, "gpt-5.5");
  EXPECT_EQ(c.models[1].slug, "gpt-5.4");
  EXPECT_EQ(c.models[2].slug, "gpt-5.4-mini");
  EXPECT_EQ(c.find("gpt-5.5-pro"), nullptr);  // retired: the backend refuses it
  for (const CatalogModel& m : c.models) {
    EXPECT_EQ(m.efforts, (std::vector<std::string>{"low", "medium", "high", "xhigh"})) << m.slug;
    EXPECT_TRUE(m.listed);
  }
  EXPECT_EQ(c.fetched_at_ms, 0);
}

TEST(ServedCatalog, UnsetServesTheDiscoveredCatalog) {
  ModelCatalog discovered;
  discovered.source = ModelCatalog::Source::Backend;
  discovered.models = parseBackendCatalog(kBackendCatalog)->models;
  discovered.etag = "W/\"1\"";
  ModelCatalog served = servedCatalog({}, discovered);
  EXPECT_EQ(served.source, ModelCatalog::Source::Backend);
  ASSERT_EQ(served.models.size(), 3u);
  EXPECT_FALSE(served.models[2].listed);
}

TEST(ServedCatalog, ConfiguredListWinsWithTheCatalogsEfforts) {
  ModelCatalog discovered;
  discovered.source = ModelCatalog::Source::Backend;
  discovered.models = parseBackendCatalog(kBackendCatalog)->models;
  ModelCatalog served = servedCatalog({"gpt-5.4-mini", "my-model", "codex-auto-review", "my-model"}, discovered);
  EXPECT_EQ(served.source, ModelCatalog::Source::Configured);
  ASSERT_EQ(served.models.size(), 3u);
  EXPECT_EQ(served.models[0].slug, "gpt-5.4-mini");
  EXPECT_EQ(served.models[0].efforts, (std::vector<std::string>{"low", "medium", "high", "xhigh"}));
  EXPECT_FALSE(served.models[0].raw_json.empty());
  EXPECT_EQ(served.models[1].slug, "my-model");  // unknown to the catalog: the old six suffixes
  EXPECT_EQ(served.models[1].efforts, (std::vector<std::string>{"none", "minimal", "low", "medium", "high", "xhigh"}));
  EXPECT_TRUE(served.models[1].raw_json.empty());
  EXPECT_TRUE(served.models[2].listed);  // named by the operator: listed although hidden upstream
  EXPECT_EQ(served.find("gpt-5.6-sol"), nullptr);
}

TEST(ServedCatalog, SourceNamesRoundTrip) {
  for (auto s : {ModelCatalog::Source::BuiltIn, ModelCatalog::Source::Backend, ModelCatalog::Source::Configured}) {
    ModelCatalog::Source back = ModelCatalog::Source::Backend;
    ASSERT_TRUE(parseCatalogSource(catalogSourceName(s), back));
    EXPECT_EQ(back, s);
  }
  ModelCatalog::Source out;
  EXPECT_FALSE(parseCatalogSource("discovered", out));
  EXPECT_EQ(catalogSourceName(ModelCatalog::Source::BuiltIn), "built-in");
}
