#pragma once

#include <cstdint>
#include <string>

#include "common/util/result.h"
#include "worker/http/http_request.h"

namespace cosp::worker {

// Reads the whole request body, at most `max_bytes` (413 beyond, decided from Content-Length
// before reading a byte when there is one). A body that ends early is a 400, one that arrives
// too slowly a 408 (http_request.h).
common::Result<std::string> readRequestBody(HttpRequest& request, uint64_t max_bytes);

}  // namespace cosp::worker
