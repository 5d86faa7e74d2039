#include "worker/front/router.h"

#include <cctype>

namespace cosp::worker {

namespace {

std::string percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

RouteMatch only(std::string_view method, std::string_view allowed, Route route) {
  bool get_like = allowed == "GET" && (method == "GET" || method == "HEAD");
  if (method == allowed || get_like) return RouteMatch{route, {}, {}};
  return RouteMatch{Route::MethodNotAllowed, allowed == "GET" ? "GET, HEAD" : std::string(allowed), {}};
}

}  // namespace

RouteMatch matchRoute(std::string_view method, std::string_view target) {
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);

  if (path == "/healthz") return only(method, "GET", Route::Health);
  if (path == "/readyz") return only(method, "GET", Route::Ready);
  if (path == "/metrics") return only(method, "GET", Route::Metrics);
  if (path == "/v1/models") return only(method, "GET", Route::Models);
  if (path.rfind("/v1/models/", 0) == 0) {
    RouteMatch m = only(method, "GET", Route::Model);
    m.model_id = percentDecode(path.substr(11));
    return m;
  }
  if (path == "/v1/chat/completions") return only(method, "POST", Route::ChatCompletions);
  if (path == "/v1/responses") return only(method, "POST", Route::Responses);
  if (path == "/v1/responses/compact") return only(method, "POST", Route::ResponsesCompact);
  if (path == "/api/codex/usage" || path == "/backend-api/wham/usage") return only(method, "GET", Route::Usage);
  if (path.rfind("/backend-api/wham/", 0) == 0) return RouteMatch{Route::WhamNotFound, {}, {}};
  if (path == "/v1/files" || path.rfind("/v1/files/", 0) == 0) return RouteMatch{Route::Files, {}, {}};
  return RouteMatch{Route::NotFound, {}, {}};
}

RouteMatch matchWebSocketRoute(std::string_view method, std::string_view target) {
  RouteMatch m = matchRoute(method, target);
  if (method == "POST") return m;
  if (m.route == Route::Responses || (m.route == Route::MethodNotAllowed && m.allow == "POST")) {
    std::string_view path = target.substr(0, target.find_first_of("?#"));
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (path == "/v1/responses") return RouteMatch{Route::ResponsesWebSocket, {}, {}};
  }
  return m;
}

const char* routeName(Route route) {
  switch (route) {
    case Route::Health:
      return "healthz";
    case Route::Ready:
      return "readyz";
    case Route::Models:
      return "models";
    case Route::Model:
      return "model";
    case Route::ChatCompletions:
      return "chat_completions";
    case Route::Responses:
      return "responses";
    case Route::ResponsesWebSocket:
      return "responses_websocket";
    case Route::ResponsesCompact:
      return "responses_compact";
    case Route::Usage:
      return "usage";
    case Route::WhamNotFound:
      return "wham_not_found";
    case Route::Files:
      return "files";
    case Route::Metrics:
      return "metrics";
    case Route::NotFound:
      return "not_found";
    case Route::MethodNotAllowed:
      return "method_not_allowed";
  }
  return "unknown";
}

}  // namespace cosp::worker
