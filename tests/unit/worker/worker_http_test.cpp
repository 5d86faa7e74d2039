#include <gtest/gtest.h>

#include "worker/exchange.h"
#include "worker/front/caller_auth.h"
#include "worker/front/request_id.h"
#include "worker/front/router.h"
#include "worker/routes/models_routes.h"

using namespace cosp::worker;

TEST(Router, MatchesRoutesMethodsAndQueries) {
  EXPECT_EQ(matchRoute("GET", "/healthz").route, Route::Health);
  EXPECT_EQ(matchRoute("HEAD", "/healthz").route, Route::Health);
  EXPECT_EQ(matchRoute("GET", "/v1/models?x=1").route, Route::Models);
  EXPECT_EQ(matchRoute("GET", "/v1/models/").route, Route::Models);
  auto model = matchRoute("GET", "/v1/models/gpt%2D5.5");
  EXPECT_EQ(model.route, Route::Model);
  EXPECT_EQ(model.model_id, "gpt-5.5");
  EXPECT_EQ(matchRoute("POST", "/v1/chat/completions").route, Route::ChatCompletions);
  EXPECT_EQ(matchRoute("POST", "/v1/responses").route, Route::Responses);
  auto wrong = matchRoute("GET", "/v1/responses");
  EXPECT_EQ(wrong.route, Route::MethodNotAllowed);
  EXPECT_EQ(wrong.allow, "POST");
  EXPECT_EQ(matchRoute("POST", "/v1/models").allow, "GET, HEAD");
  EXPECT_EQ(matchRoute("DELETE", "/v1/files/file-1").route, Route::Files);
  EXPECT_EQ(matchRoute("GET", "/v1/embeddings").route, Route::NotFound);
  EXPECT_FALSE(matchRoute("GET", "/healthz").requiresAuth());
  EXPECT_FALSE(matchRoute("GET", "/readyz").requiresAuth());
  EXPECT_TRUE(matchRoute("GET", "/metrics").requiresAuth());
  EXPECT_TRUE(matchRoute("GET", "/v1/models").requiresAuth());
}

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

TEST(RequestId, KeepsSaneClientIdsOnly) {
  EXPECT_EQ(chooseRequestId(std::string_view("abc-123_x.y:z")), "abc-123_x.y:z");
  auto generated = chooseRequestId(std::string_view("has space"));
  EXPECT_EQ(generated.rfind("req_", 0), 0u);
  EXPECT_EQ(generated.size(), 28u);
  EXPECT_NE(chooseRequestId(std::nullopt), chooseRequestId(std::nullopt));
  EXPECT_FALSE(isSaneRequestId(std::string(129, 'a')));
  EXPECT_FALSE(isSaneRequestId("a\"b"));
}

TEST(ErrorJson, IsTheOpenAIEnvelope) {
  cosp::common::ApiError e = cosp::common::ApiError::invalidRequest("bad \"field\"", "messages");
  EXPECT_EQ(errorJson(e),
            R"({"error":{"message":"bad \"field\"","type":"invalid_request_error","param":"messages","code":null}})");
}

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
