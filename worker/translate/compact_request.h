#pragma once

#include <string_view>

#include "common/util/result.h"
#include "worker/translate/translate_types.h"

namespace cosp::worker {

// /v1/responses/compact body -> the backend's /responses/compact body (README.md, HTTP surface):
// the top-level fields the backend rejects (TranslateOptions::dropped_fields; service_tier kept
// for priority and flex) removed and named in `dropped`, or refused with 400 in strict mode;
// nothing else changed (no store/stream, no instructions: the answer is one JSON object). Only the
// last of duplicate keys is written. `model` is read for the log line. A body that is not a JSON
// object is a 400. `session_id`, `client_stream` and the other fields stay empty.
common::Result<UpstreamRequest> compactRequestBody(std::string_view body, const TranslateOptions& options);

}  // namespace cosp::worker
