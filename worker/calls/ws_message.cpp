#include "worker/calls/ws_message.h"

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "worker/translate/responses_request.h"

namespace cosp::worker {

common::Result<WsClientMessage> prepareClientMessage(std::string_view text, const TranslateOptions& options,
                                                     const CallHints& hints) {
  WsClientMessage out;
  auto parsed = common::parseJsonObject(text);
  if (parsed) out.type = std::string(common::jsonString(*parsed, "type").value_or(""));
  if (out.type != "response.create") {
    out.forward = std::string(text);
    return out;
  }
  out.model = std::string(common::jsonString(*parsed, "model").value_or(""));
  CallHints create_hints = hints;
  create_hints.keep_previous_response_id = true;
  auto normalised = normalizeResponsesRequest(text, options, create_hints);
  if (!normalised) return normalised.error();
  out.forward = std::move(normalised->body);
  return out;
}

}  // namespace cosp::worker
