#include "worker/front/router.h"

#include <gtest/gtest.h>

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

TEST(Router, CodexCliRoutes) {
  EXPECT_EQ(matchRoute("POST", "/v1/responses/compact").route, Route::ResponsesCompact);
  EXPECT_EQ(matchRoute("GET", "/v1/responses/compact").allow, "POST");
  EXPECT_TRUE(matchRoute("POST", "/v1/responses/compact").requiresAuth());
  EXPECT_EQ(matchRoute("GET", "/api/codex/usage").route, Route::Usage);
  EXPECT_EQ(matchRoute("GET", "/backend-api/wham/usage?x=1").route, Route::Usage);
  EXPECT_EQ(matchRoute("POST", "/backend-api/wham/usage").allow, "GET, HEAD");
  EXPECT_TRUE(matchRoute("GET", "/backend-api/wham/usage").requiresAuth());
  // Every other wham path is a 404 that asks for no key: a 401 makes a ChatGPT-mode CLI log in again.
  for (const char* target : {"/backend-api/wham/accounts/check", "/backend-api/wham/settings/user?a=b"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(matchRoute("GET", target).route, Route::WhamNotFound);
    EXPECT_FALSE(matchRoute("GET", target).requiresAuth());
    EXPECT_FALSE(matchRoute("POST", target).requiresAuth());
  }
  EXPECT_FALSE(matchRoute("GET", "/v1/embeddings").requiresAuth());
}

TEST(Router, AWebSocketUpgradeOnResponsesIsItsOwnRoute) {
  EXPECT_EQ(matchWebSocketRoute("GET", "/v1/responses").route, Route::ResponsesWebSocket);
  EXPECT_EQ(matchWebSocketRoute("GET", "/v1/responses/?x=1").route, Route::ResponsesWebSocket);
  // Any other method is judged by the upgrade check (405 naming GET); a POST stays a model call.
  EXPECT_EQ(matchWebSocketRoute("PUT", "/v1/responses").route, Route::ResponsesWebSocket);
  EXPECT_EQ(matchWebSocketRoute("POST", "/v1/responses").route, Route::Responses);
  // Other paths serve no WebSocket: what matchRoute says.
  EXPECT_EQ(matchWebSocketRoute("GET", "/v1/models").route, Route::Models);
  EXPECT_EQ(matchWebSocketRoute("GET", "/v1/responses/compact").route, Route::MethodNotAllowed);
  EXPECT_STREQ(routeName(Route::ResponsesWebSocket), "responses_websocket");
  EXPECT_TRUE(matchWebSocketRoute("GET", "/v1/responses").requiresAuth());
}
