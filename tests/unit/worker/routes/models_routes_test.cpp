#include "worker/routes/models_routes.h"

#include <gtest/gtest.h>

#include "common/catalog/served_catalog.h"

using namespace cosp::worker;
using cosp::common::CatalogModel;
using cosp::common::ModelCatalog;

namespace {

ModelCatalog backendCatalog() {
  ModelCatalog c;
  c.source = ModelCatalog::Source::Backend;
  c.models = {CatalogModel{"gpt-5.6-sol", "Sol", {"low", "max"}, "low", true, ""},
              CatalogModel{"gpt-5.4", "5.4", {"high"}, std::nullopt, true, ""},
              CatalogModel{"gpt-5.4-mini", "mini", {"low", "xhigh"}, std::nullopt, true, ""},
              CatalogModel{"codex-auto-review", "review", {"low"}, std::nullopt, false, ""}};
  return c;
}

}  // namespace

TEST(Models, ListShape) {
  EXPECT_EQ(modelsJson({"gpt-5.5", "gpt-5.4-mini"}),
            R"({"object":"list","data":[{"id":"gpt-5.5","object":"model","created":1735689600,"owned_by":"openai"},)"
            R"({"id":"gpt-5.4-mini","object":"model","created":1735689600,"owned_by":"openai"}]})");
}

TEST(Models, ListsTheListedSlugs) {
  EXPECT_EQ(listedModelIds(backendCatalog()), (std::vector<std::string>{"gpt-5.6-sol", "gpt-5.4", "gpt-5.4-mini"}));
  EXPECT_EQ(listedModelIds(cosp::common::builtInCatalog()),
            (std::vector<std::string>{"gpt-5.5", "gpt-5.4", "gpt-5.4-mini"}));
}

TEST(Models, ResolvesSupportedEffortsOnly) {
  const ModelCatalog c = backendCatalog();
  EXPECT_EQ(resolveModelId(c, "gpt-5.6-sol"), "gpt-5.6-sol");
  EXPECT_EQ(resolveModelId(c, "gpt-5.6-sol-max"), "gpt-5.6-sol-max");
  EXPECT_EQ(resolveModelId(c, "gpt-5.6-sol-xhigh"), "");  // not an effort of that model
  EXPECT_EQ(resolveModelId(c, "gpt-5.4-high"), "gpt-5.4-high");
  EXPECT_EQ(resolveModelId(c, "gpt-5.4-low"), "");
  // gpt-5.4-mini-low is gpt-5.4-mini at low, though gpt-5.4 is a prefix too.
  EXPECT_EQ(resolveModelId(c, "gpt-5.4-mini-low"), "gpt-5.4-mini-low");
  EXPECT_EQ(resolveModelId(c, "gpt-5.4-mini-high"), "");
  EXPECT_EQ(resolveModelId(c, "codex-auto-review"), "codex-auto-review");  // hidden, still callable
  EXPECT_EQ(resolveModelId(c, "gpt-5.5"), "");
  EXPECT_EQ(resolveModelId(c, "gpt-5.4-"), "");
  EXPECT_EQ(resolveModelId(c, "gpt-5.4-mini-"), "");
  EXPECT_EQ(resolveModelId(c, ""), "");
}

TEST(Models, ConfiguredModelsWithoutACatalogEntryTakeTheOldSuffixes) {
  const ModelCatalog c = cosp::common::servedCatalog({"my-model"}, backendCatalog());
  EXPECT_EQ(resolveModelId(c, "my-model-minimal"), "my-model-minimal");
  EXPECT_EQ(resolveModelId(c, "my-model-max"), "");
  EXPECT_EQ(listedModelIds(c), (std::vector<std::string>{"my-model"}));
}
