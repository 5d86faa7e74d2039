#include "worker/translate/error_json.h"

#include "common/json/json_writer.h"

namespace cosp::worker {
namespace {

void optionalString(common::JsonWriter& w, std::string_view key, const std::optional<std::string>& v) {
  w.key(key);
  if (v) {
    w.value(*v);
  } else {
    w.null();
  }
}

}  // namespace

std::string apiErrorJson(const common::ApiError& error) {
  common::JsonWriter w;
  w.beginObject().key("error").beginObject();
  w.key("message").value(error.message);
  w.key("type").value(error.type);
  optionalString(w, "param", error.param);
  optionalString(w, "code", error.code);
  w.endObject().endObject();
  return w.take();
}

std::string responsesErrorEventData(const common::ApiError& error) {
  common::JsonWriter w;
  w.beginObject().key("type").value("error");
  optionalString(w, "code", error.code ? error.code : std::optional<std::string>(error.type));
  w.key("message").value(error.message);
  optionalString(w, "param", error.param);
  w.endObject();
  return w.take();
}

}  // namespace cosp::worker
