#pragma once

#include <optional>
#include <string>
#include <utility>

namespace cosp::common {

// An error as the client sees it: an HTTP status plus the OpenAI error envelope
// {"error":{"message","type","param","code"}}. Produced by pure code (validation,
// translation) and rendered at the HTTP edge, so nothing below the handler needs
// to know about sockets or POCO responses.
struct ApiError {
  int status = 500;
  std::string type;     // "invalid_request_error", "authentication_error", ...
  std::string message;  // human readable; never contains secrets or prompt text
  std::optional<std::string> param;
  std::optional<std::string> code;

  // Extra response headers that belong to this error (Retry-After, Allow, ...).
  std::optional<std::pair<std::string, std::string>> header;

  static ApiError invalidRequest(std::string message, std::optional<std::string> param = std::nullopt,
                                 std::optional<std::string> code = std::nullopt) {
    return ApiError{400, "invalid_request_error", std::move(message), std::move(param), std::move(code), {}};
  }
  static ApiError unsupported(std::string message, std::string param) {
    return ApiError{400, "invalid_request_error", std::move(message), std::move(param), "unsupported_parameter", {}};
  }
  static ApiError notFound(std::string message, std::optional<std::string> code = std::nullopt) {
    return ApiError{404, "invalid_request_error", std::move(message), std::nullopt, std::move(code), {}};
  }
  static ApiError unauthorized(std::string message) {
    return ApiError{401, "authentication_error", std::move(message), std::nullopt, "invalid_api_key", {}};
  }
  static ApiError internal(std::string message) {
    return ApiError{500, "server_error", std::move(message), std::nullopt, std::nullopt, {}};
  }
};

}  // namespace cosp::common
