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
  Files,  // /v1/files and below: 501
  Metrics,
  NotFound,
  MethodNotAllowed,
};

struct RouteMatch {
  Route route = Route::NotFound;
  std::string allow;     // for MethodNotAllowed: the Allow header value
  std::string model_id;  // for Model: the decoded id
  bool requiresAuth() const { return route != Route::Health && route != Route::Ready; }
};

// Pure: method + request target (query string allowed) -> route. HEAD is accepted wherever GET is.
RouteMatch matchRoute(std::string_view method, std::string_view target);

const char* routeName(Route route);

}  // namespace cosp::worker
