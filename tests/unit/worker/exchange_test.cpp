#include "worker/exchange.h"

#include <gtest/gtest.h>

using namespace cosp::worker;

TEST(ErrorJson, IsTheOpenAIEnvelope) {
  cosp::common::ApiError e = cosp::common::ApiError::invalidRequest("bad \"field\"", "messages");
  EXPECT_EQ(errorJson(e),
            R"({"error":{"message":"bad \"field\"","type":"invalid_request_error","param":"messages","code":null}})");
}
