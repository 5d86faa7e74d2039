#pragma once

#include <string>
#include <string_view>

namespace cosp::worker {

enum class Route {
  Health,
  Ready,
  Models,
  Model,  // /v1/models/{id}
  ChatCompletions,
  Responses,
  // GET /v1/responses asking for a WebSocket (ws::asksForWebSocket): Responses over WebSocket, as
  // the Codex CLI uses it. Decided by the front controller, which sees the headers.
  ResponsesWebSocket,
  ResponsesCompact,  // POST /v1/responses/compact: forwarded as JSON (older Codex CLIs)
  Usage,             // GET /api/codex/usage, /backend-api/wham/usage: the account's quota
  Files,             // /v1/files and below: 501
  Metrics,
  NotFound,
  // Any other /backend-api/wham/* path: 404 before the key check. The Codex CLI logged in to
  // ChatGPT calls wham/accounts/check and wham/settings/user without the provider's headers; it
  // ignores a 404 but answers a 401 by refreshing its own login (README.md, HTTP surface).
  WhamNotFound,
  MethodNotAllowed,
};

struct RouteMatch {
  Route route = Route::NotFound;
  std::string allow;     // for MethodNotAllowed: the Allow header value
  std::string model_id;  // for Model: the decoded id
  bool requiresAuth() const {
    return route != Route::Health && route != Route::Ready && route != Route::NotFound && route != Route::WhamNotFound;
  }
};

// Pure: method + request target (query string allowed) -> route. HEAD is accepted wherever GET is.
RouteMatch matchRoute(std::string_view method, std::string_view target);

const char* routeName(Route route);

// The route of a request that asks for a WebSocket upgrade: ResponsesWebSocket on /v1/responses
// for any method but POST (ws::checkUpgrade then answers a method other than GET with 405), else
// what matchRoute says (a POST stays a model call; other paths serve no WebSocket).
RouteMatch matchWebSocketRoute(std::string_view method, std::string_view target);

}  // namespace cosp::worker
