#pragma once

#include <string>

#include "common/error/api_error.h"

namespace cosp::worker {

// {"error":{"message":…,"type":…,"param":…|null,"code":…|null}}: the body of an
// error reply, and the payload of the single error event of a failed chat stream.
std::string apiErrorJson(const common::ApiError& error);

// Data of a Responses-API "error" event, for a /v1/responses stream whose
// upstream vanished: {"type":"error","code":…,"message":…,"param":…}.
// The handler writes "event: error\ndata: " + this + "\n\n".
std::string responsesErrorEventData(const common::ApiError& error);

}  // namespace cosp::worker
