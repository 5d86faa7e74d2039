#pragma once

#include <Poco/Net/HTTPServerRequest.h>

#include <cstdint>
#include <string>

#include "common/util/result.h"

namespace cosp::worker {

// Reads the whole request body, at most `max_bytes` (413 beyond). With Content-Length the exact
// length is read; a chunked body is read once, to its end, counting bytes as they arrive. It is
// never read a second time: in POCO 1.11 reading a chunked stream again after its terminating
// chunk blocks on the socket (GH #3147, ARCHITECTURE §5 #15). A body shorter than its
// Content-Length (client gave up) is a 400.
common::Result<std::string> readRequestBody(Poco::Net::HTTPServerRequest& request, uint64_t max_bytes);

}  // namespace cosp::worker
