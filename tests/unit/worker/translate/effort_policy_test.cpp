#include "worker/translate/effort_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cosp::worker {
namespace {

common::CatalogModel model(std::string slug, std::vector<std::string> efforts,
                           std::optional<std::string> default_effort = std::nullopt) {
  common::CatalogModel m;
  m.slug = std::move(slug);
  m.efforts = std::move(efforts);
  m.default_effort = std::move(default_effort);
  return m;
}

common::ModelCatalog catalog() {
  common::ModelCatalog c;
  c.models = {model("gpt-5.6-sol", {"low", "medium", "high", "xhigh", "max", "ultra"}, "medium"),
              model("gpt-5.5", {"low", "medium", "high", "xhigh"}), model("gpt-5.4-mini", {"low", "high"}),
              model("codex-max", {"medium"}), model("plain", {})};
  return c;
}

// An effort newer than kEffortOrder is a suffix only of a model the catalog gives it to.
TEST(EffortPolicy, AnEffortOnlyTheCatalogKnowsIsASuffixOfItsModel) {
  common::ModelCatalog c = catalog();
  c.models.push_back(model("gpt-6", {"low", "turbo"}));
  const ModelSplit split = splitModelSuffix("gpt-6-turbo", &c);
  EXPECT_EQ(split.base, "gpt-6");
  EXPECT_EQ(split.effort.value_or("<none>"), "turbo");
  EXPECT_FALSE(splitModelSuffix("gpt-6-turbo").effort.has_value());        // no catalog
  EXPECT_FALSE(splitModelSuffix("gpt-5.5-turbo", &c).effort.has_value());  // not gpt-5.5's
  EXPECT_EQ(splitModelSuffix("gpt-5.5-turbo", &c).base, "gpt-5.5-turbo");
}

TEST(EffortPolicy, EveryEffortOfTheOrderIsASuffix) {
  for (std::string_view base : {"gpt-5.6-sol", "gpt-5.4-mini"}) {
    for (std::string_view effort : common::kEffortOrder) {
      const ModelSplit split = splitModelSuffix(std::string(base) + "-" + std::string(effort));
      EXPECT_EQ(split.base, base);
      EXPECT_EQ(split.effort.value_or("<none>"), effort);
    }
    EXPECT_FALSE(splitModelSuffix(base).effort.has_value());
  }
  // An effort alone, or without its dash, is no suffix.
  for (std::string_view model : {"max", "high", "-ultra", "-high", "gpt-5.5ultra", "gpt-5.5high"}) {
    EXPECT_FALSE(splitModelSuffix(model).effort.has_value()) << model;
  }
  // "mini" is no effort, and "-minimal" must match whole.
  EXPECT_EQ(splitModelSuffix("gpt-5.4-mini").base, "gpt-5.4-mini");
  EXPECT_EQ(splitModelSuffix("gpt-5.4-mini-minimal").base, "gpt-5.4-mini");
}

TEST(EffortPolicy, ASlugTheCatalogKnowsIsNeverSplit) {
  const auto c = catalog();
  const ModelSplit whole = splitModelSuffix("codex-max", &c);
  EXPECT_EQ(whole.base, "codex-max");
  EXPECT_FALSE(whole.effort.has_value());
  // Its own suffixes still split, and without a catalog the slug splits like any other.
  const ModelSplit suffixed = splitModelSuffix("codex-max-medium", &c);
  EXPECT_EQ(suffixed.base, "codex-max");
  EXPECT_EQ(suffixed.effort.value_or(""), "medium");
  EXPECT_EQ(splitModelSuffix("codex-max").base, "codex");
  // A model the catalog lacks is split all the same (the backend decides about it).
  EXPECT_EQ(splitModelSuffix("gpt-9-ultra", &c).base, "gpt-9");
}

TEST(EffortPolicy, EffortRankFollowsTheCatalogOrder) {
  EXPECT_EQ(effortRank("none"), 0u);
  EXPECT_EQ(effortRank("medium"), 3u);
  EXPECT_EQ(effortRank("ultra"), 7u);
  EXPECT_FALSE(effortRank("turbo").has_value());
  EXPECT_FALSE(effortRank("").has_value());
}

TEST(EffortPolicy, OnlyAModelTheCatalogListsWithEffortsIsChecked) {
  const auto c = catalog();
  EXPECT_EQ(modelLackingEffort(nullptr, "gpt-5.5", "minimal"), nullptr);  // no catalog
  EXPECT_EQ(modelLackingEffort(&c, "gpt-9", "minimal"), nullptr);         // unknown model
  EXPECT_EQ(modelLackingEffort(&c, "plain", "minimal"), nullptr);         // no efforts listed
  EXPECT_EQ(modelLackingEffort(&c, "gpt-5.5", "xhigh"), nullptr);         // supported
  const common::CatalogModel* lacking = modelLackingEffort(&c, "gpt-5.5", "minimal");
  ASSERT_NE(lacking, nullptr);
  EXPECT_EQ(lacking->slug, "gpt-5.5");
  EXPECT_NE(modelLackingEffort(&c, "gpt-5.5", "ultra"), nullptr);
}

TEST(EffortPolicy, NearestSupportedEffortTiesGoUp) {
  const auto c = catalog();
  const common::CatalogModel& gpt55 = *c.find("gpt-5.5");
  EXPECT_EQ(nearestSupportedEffort(gpt55, "none"), "low");
  EXPECT_EQ(nearestSupportedEffort(gpt55, "minimal"), "low");
  EXPECT_EQ(nearestSupportedEffort(gpt55, "max"), "xhigh");
  EXPECT_EQ(nearestSupportedEffort(gpt55, "ultra"), "xhigh");
  const common::CatalogModel& mini = *c.find("gpt-5.4-mini");
  EXPECT_EQ(nearestSupportedEffort(mini, "medium"), "high");  // low and high are both one step away
  EXPECT_EQ(nearestSupportedEffort(mini, "minimal"), "low");
  EXPECT_EQ(nearestSupportedEffort(mini, "xhigh"), "high");
  EXPECT_EQ(nearestSupportedEffort(*c.find("codex-max"), "none"), "medium");
}

TEST(EffortPolicy, AnEffortOutsideTheOrderGetsTheDefault) {
  const auto c = catalog();
  EXPECT_EQ(nearestSupportedEffort(*c.find("gpt-5.6-sol"), "turbo"), "medium");  // the default
  // Without a default: the supported effort nearest to "medium".
  EXPECT_EQ(nearestSupportedEffort(*c.find("gpt-5.4-mini"), "turbo"), "high");
  // A default the model does not list is no answer either.
  EXPECT_EQ(nearestSupportedEffort(model("m", {"low", "xhigh"}, "medium"), "turbo"), "low");
  // Efforts the order does not know are never "nearest", unless there is nothing else.
  EXPECT_EQ(nearestSupportedEffort(model("m", {"hyper", "high"}), "low"), "high");
  EXPECT_EQ(nearestSupportedEffort(model("m", {"hyper"}), "low"), "hyper");
  EXPECT_EQ(nearestSupportedEffort(model("m", {}), "low"), "");
}

TEST(EffortPolicy, SupportedEffortsText) {
  const auto c = catalog();
  EXPECT_EQ(supportedEffortsText(*c.find("gpt-5.5")), "low, medium, high, xhigh");
  EXPECT_EQ(supportedEffortsText(*c.find("plain")), "");
}

}  // namespace
}  // namespace cosp::worker
