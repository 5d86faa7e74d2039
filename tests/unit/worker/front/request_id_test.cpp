#include "worker/front/request_id.h"

#include <gtest/gtest.h>

using namespace cosp::worker;

TEST(RequestId, KeepsSaneClientIdsOnly) {
  EXPECT_EQ(chooseRequestId(std::string_view("abc-123_x.y:z")), "abc-123_x.y:z");
  auto generated = chooseRequestId(std::string_view("has space"));
  EXPECT_EQ(generated.rfind("req_", 0), 0u);
  EXPECT_EQ(generated.size(), 28u);
  EXPECT_NE(chooseRequestId(std::nullopt), chooseRequestId(std::nullopt));
  EXPECT_FALSE(isSaneRequestId(std::string(129, 'a')));
  EXPECT_FALSE(isSaneRequestId("a\"b"));
}
