#include "worker/calls/ws_turns.h"

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "common/util/strings.h"
#include "worker/calls/hold_back.h"
#include "worker/sse/event_kind.h"
#include "worker/translate/upstream_error.h"

namespace cosp::worker {

namespace {

// The error object of a failure event: response.error of response.failed, `error` of an error
// event, else the event itself (an error event may carry code and message at its top level).
const common::JsonValue* errorObjectOf(const common::JsonValue& event) {
  if (const common::JsonValue* response = common::jsonObjectValue(event, "response")) {
    if (const common::JsonValue* error = common::jsonObjectValue(*response, "error")) return error;
  }
  if (const common::JsonValue* error = common::jsonObjectValue(event, "error")) return error;
  return &event;
}

void writeOptional(common::JsonWriter& w, std::string_view key, const std::optional<std::string>& value) {
  w.key(key);
  if (value) {
    w.value(*value);
  } else {
    w.null();
  }
}

}  // namespace

std::string wrappedErrorEvent(const common::ApiError& error, std::string_view upstream_event,
                              const std::vector<std::pair<std::string, std::string>>& headers) {
  common::JsonWriter w;
  w.beginObject().member("type", "error").member("status", error.status);
  w.key("error").beginObject().member("type", error.type);
  writeOptional(w, "code", error.code);
  w.member("message", error.message);
  writeOptional(w, "param", error.param);
  if (!upstream_event.empty()) {
    if (auto parsed = common::parseJsonObject(upstream_event)) {
      const common::JsonValue* upstream_error = errorObjectOf(*parsed);
      // The CLI prints when a usage limit resets and for which plan from these.
      for (std::string_view field : {"resets_at", "resets_in_seconds", "plan_type"}) {
        const common::JsonValue* value = common::jsonMember(*upstream_error, field);
        if (value != nullptr && (value->isString() || value->isNumber())) w.key(field).value(*value);
      }
    }
  }
  w.endObject();
  if (error.header || !headers.empty()) {
    w.key("headers").beginObject();
    if (error.header) w.member(common::toLower(error.header->first), error.header->second);
    for (const auto& [name, value] : headers) w.member(common::toLower(name), value);
    w.endObject();
  }
  w.endObject();
  return w.take();
}

void WsTurns::onClientMessage(std::string_view type) {
  if (type != "response.create") return;
  if (pending_calls_ == 0) output_seen_ = false;
  ++pending_calls_;
  ++calls_begun_;
}

WsTurns::Verdict WsTurns::onBackendMessage(std::string_view payload, std::int64_t now_unix_seconds) {
  Verdict verdict;
  if (!inCall()) return verdict;  // between calls: nothing to map
  const std::string_view type = dataType(payload);
  switch (holdBackRoleOfType(type)) {
    case HoldBackRole::Hold:
      return verdict;
    case HoldBackRole::Output:
      output_seen_ = true;
      break;
    case HoldBackRole::Failure:
      if (!output_seen_) {
        const common::ApiError mapped = mapStreamFailure(payload, now_unix_seconds);
        verdict.replaced = true;
        verdict.status = mapped.status;
        verdict.text = wrappedErrorEvent(mapped, payload);
      }
      break;
  }
  if (isTerminalType(type)) {
    verdict.call_ended = true;
    --pending_calls_;
    output_seen_ = false;
  }
  return verdict;
}

}  // namespace cosp::worker
