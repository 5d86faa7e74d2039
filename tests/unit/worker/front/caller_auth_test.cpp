#include "worker/front/caller_auth.h"

#include <gtest/gtest.h>

using namespace cosp::worker;

TEST(CallerAuth, AcceptsEitherHeaderAndAnyKey) {
  CallerAuth auth({"alpha", "beta"});
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.allows(std::string_view("Bearer alpha"), std::nullopt));
  EXPECT_TRUE(auth.allows(std::string_view("bearer   beta "), std::nullopt));
  EXPECT_TRUE(auth.allows(std::nullopt, std::string_view("beta")));
  EXPECT_FALSE(auth.allows(std::nullopt, std::nullopt));
  EXPECT_FALSE(auth.allows(std::string_view("Basic alpha"), std::nullopt));
  EXPECT_FALSE(auth.allows(std::string_view("Bearer alph"), std::nullopt));
  EXPECT_FALSE(auth.allows(std::string_view("Bearer alphaa"), std::nullopt));
  EXPECT_FALSE(auth.allows(std::string_view("Bearer "), std::string_view("")));
  CallerAuth off({});
  EXPECT_TRUE(off.allows(std::nullopt, std::nullopt));
}

TEST(CallerAuth, ConstantTimeEquals) {
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "ab"));
  EXPECT_FALSE(constantTimeEquals("", "a"));
  EXPECT_TRUE(constantTimeEquals("", ""));
}

TEST(CallerAuth, MatchIndexNamesTheEnvKey) {
  CallerAuth auth({"alpha", "beta"});
  EXPECT_EQ(auth.matchIndex(std::string_view("Bearer alpha"), std::nullopt), 0u);
  EXPECT_EQ(auth.matchIndex(std::nullopt, std::string_view("beta")), 1u);
  EXPECT_EQ(auth.matchIndex(std::string_view("Bearer gamma"), std::string_view("delta")), std::nullopt);
  EXPECT_EQ(bearerToken("Bearer  csp-x "), std::optional<std::string_view>("csp-x"));
  EXPECT_EQ(bearerToken("Basic csp-x"), std::nullopt);
}
