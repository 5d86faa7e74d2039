#include "worker/calls/collect_sink.h"

#include "worker/translate/upstream_error.h"

namespace cosp::worker {

void CollectSink::finish(const std::optional<common::ApiError>& end_reason) {
  collector_.onUpstreamEnd(end_reason);
  if (!collector_.completed()) {
    sendError(ex_, collector_.failure().value_or(upstreamTruncatedError()));
    return;
  }
  const std::string json = api_ == CallApi::Chat ? collector_.chatCompletionJson(chat_.id, chat_.created, chat_.model,
                                                                                 chat_.reasoning, chat_.json_output)
                                                 : collector_.responsesObjectJson();
  sendJson(ex_, 200, json);
}

}  // namespace cosp::worker
