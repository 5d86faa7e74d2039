#include "worker/routes/models_routes.h"

#include <gtest/gtest.h>

using namespace cosp::worker;

TEST(Models, ListAndSuffixResolution) {
  std::vector<std::string> models = {"gpt-5.5", "gpt-5.4-mini"};
  EXPECT_EQ(modelsJson(models),
            R"({"object":"list","data":[{"id":"gpt-5.5","object":"model","created":1735689600,"owned_by":"openai"},)"
            R"({"id":"gpt-5.4-mini","object":"model","created":1735689600,"owned_by":"openai"}]})");
  EXPECT_EQ(resolveModelId(models, "gpt-5.5"), "gpt-5.5");
  EXPECT_EQ(resolveModelId(models, "gpt-5.5-xhigh"), "gpt-5.5-xhigh");
  EXPECT_EQ(resolveModelId(models, "gpt-5.4-mini-low"), "gpt-5.4-mini-low");
  EXPECT_EQ(resolveModelId(models, "gpt-5.4"), "");
  EXPECT_EQ(resolveModelId(models, "gpt-5.5-turbo"), "");
}
