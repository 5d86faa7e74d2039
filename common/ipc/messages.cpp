#include "common/ipc/messages.h"

#include "common/ipc/message_fields.h"
#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"

// Every message is written with its members in alphabetical order: the order the channel has
// always carried (the messages were once built as POCO objects, whose members are sorted), so
// the bytes on the wire stay what they were. Readers do not depend on the order.
namespace cosp::common {

namespace {

using message_fields::readInt;
using message_fields::readOptional;
using message_fields::readString;

bool readUpstream(const JsonValue& up, UpstreamObservation& out) {
  int64_t last_status = 0;
  if (!readInt(up, "last_status", last_status) || !readInt(up, "last_status_at", out.last_status_at) ||
      !readInt(up, "last_success_at", out.last_success_at) || !readInt(up, "rate_limits_at", out.rate_limits_at)) {
    return false;
  }
  if (last_status < INT32_MIN || last_status > INT32_MAX) return false;
  out.last_status = static_cast<int>(last_status);
  if (const JsonObject* limits = jsonObject(up, "rate_limits")) {
    for (const JsonMember& m : *limits) {
      auto value = m.value.stringView();
      if (!value) return false;
      out.rate_limits[m.key] = std::string(*value);
    }
  }
  return true;
}

}  // namespace

bool WorkerCredentials::usable(int64_t now_ms) const {
  if (access_token.empty()) return false;
  if (state == CredentialState::NeedsLogin || state == CredentialState::NoCredentials) return false;
  return expires_at_ms == 0 || expires_at_ms > now_ms;
}

std::string encodeCredentials(const WorkerCredentials& c) {
  JsonWriter w;
  w.beginObject()
      .member("access_token", c.access_token)
      .member("account_id", c.account_id)
      .member("expires_at_ms", c.expires_at_ms)
      .member("generation", c.generation)
      .member("state", credentialStateName(c.state))
      .member("type", msg::kCredentials)
      .endObject();
  return w.take();
}

std::optional<WorkerCredentials> decodeCredentials(const std::string& json) {
  auto o = parseJsonObject(json);
  if (!o) return std::nullopt;
  WorkerCredentials c;
  std::string state;
  if (!readOptional<uint64_t>(*o, "generation", 0, c.generation, [](const JsonValue& v) { return v.getUInt64(); }) ||
      !readString(*o, "state", credentialStateName(CredentialState::NoCredentials), state) ||
      !readString(*o, "access_token", "", c.access_token) || !readString(*o, "account_id", "", c.account_id) ||
      !readInt(*o, "expires_at_ms", c.expires_at_ms)) {
    return std::nullopt;
  }
  std::optional<CredentialState> known = parseCredentialState(state);
  if (!known) return std::nullopt;
  c.state = *known;
  return c;
}

std::string encodeHeartbeat(const WorkerCounters& counters, const UpstreamObservation& upstream) {
  JsonWriter w;
  w.beginObject().key("counters").beginObject();
  for (const auto& [name, value] : counters) w.member(name, value);  // a std::map: already sorted
  w.endObject().member("type", msg::kHeartbeat);
  w.key("upstream")
      .beginObject()
      .member("last_status", upstream.last_status)
      .member("last_status_at", upstream.last_status_at)
      .member("last_success_at", upstream.last_success_at)
      .key("rate_limits")
      .beginObject();
  for (const auto& [name, value] : upstream.rate_limits) w.member(name, value);
  w.endObject().member("rate_limits_at", upstream.rate_limits_at).endObject().endObject();
  return w.take();
}

std::optional<Heartbeat> decodeHeartbeat(const std::string& json) {
  auto o = parseJsonObject(json);
  if (!o) return std::nullopt;
  const JsonObject* values = jsonObject(*o, "counters");
  if (values == nullptr) return std::nullopt;
  Heartbeat beat;
  for (const JsonMember& m : *values) {
    auto value = m.value.getInt64();
    if (!value) return std::nullopt;
    beat.counters[m.key] = *value;
  }
  if (const JsonValue* up = jsonObjectValue(*o, "upstream"); up != nullptr && !readUpstream(*up, beat.upstream)) {
    return std::nullopt;
  }
  return beat;
}

std::string encodeMetrics(const std::string& prometheus_text) {
  JsonWriter w;
  w.beginObject().member("text", prometheus_text).member("type", msg::kMetrics).endObject();
  return w.take();
}

std::optional<std::string> decodeMetrics(const std::string& json) {
  auto o = parseJsonObject(json);
  if (!o) return std::nullopt;
  auto text = jsonString(*o, "text");
  if (!text) return std::nullopt;
  return std::string(*text);
}

std::string encodeDrain(int64_t grace_ms) {
  JsonWriter w;
  w.beginObject().member("grace_ms", grace_ms).member("type", msg::kDrain).endObject();
  return w.take();
}

std::string encodeSimple(const char* type) {
  JsonWriter w;
  w.beginObject().member("type", type).endObject();
  return w.take();
}

std::string encodeUnauthorized(uint64_t generation) {
  JsonWriter w;
  w.beginObject().member("generation", generation).member("type", msg::kUnauthorized).endObject();
  return w.take();
}

std::string encodeRefreshNeeded(uint64_t generation) {
  JsonWriter w;
  w.beginObject().member("generation", generation).member("type", msg::kRefreshNeeded).endObject();
  return w.take();
}

std::string messageType(const std::string& json) {
  auto o = parseJsonObject(json);
  if (!o) return {};
  return jsonStringOr(*o, "type");
}

std::optional<int64_t> messageInt(const std::string& json, const char* field) {
  auto o = parseJsonObject(json);
  if (!o) return std::nullopt;
  return jsonInt(*o, field);
}

}  // namespace cosp::common
