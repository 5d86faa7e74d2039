#include "common/ipc/messages.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>

namespace cosp::common {

namespace {

Poco::JSON::Object::Ptr parseObject(const std::string& json) {
  try {
    Poco::JSON::Parser parser;
    auto value = parser.parse(json);
    if (value.type() == typeid(Poco::JSON::Object::Ptr)) return value.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {  // Poco::Exception derives from std::exception
  }
  return nullptr;
}

std::string stringify(const Poco::JSON::Object& object) {
  std::ostringstream out;
  object.stringify(out);
  return out.str();
}

}  // namespace

bool WorkerCredentials::usable(int64_t now_ms) const {
  if (access_token.empty()) return false;
  if (state == "needs_login" || state == "no_credentials") return false;
  return expires_at_ms == 0 || expires_at_ms > now_ms;
}

std::string encodeCredentials(const WorkerCredentials& c) {
  Poco::JSON::Object o;
  o.set("type", msg::kCredentials);
  o.set("generation", static_cast<Poco::UInt64>(c.generation));
  o.set("state", c.state);
  o.set("access_token", c.access_token);
  o.set("account_id", c.account_id);
  o.set("expires_at_ms", static_cast<Poco::Int64>(c.expires_at_ms));
  return stringify(o);
}

std::optional<WorkerCredentials> decodeCredentials(const std::string& json) {
  auto o = parseObject(json);
  if (!o) return std::nullopt;
  try {
    WorkerCredentials c;
    c.generation = o->optValue<Poco::UInt64>("generation", 0);
    c.state = o->optValue<std::string>("state", "no_credentials");
    c.access_token = o->optValue<std::string>("access_token", "");
    c.account_id = o->optValue<std::string>("account_id", "");
    c.expires_at_ms = o->optValue<Poco::Int64>("expires_at_ms", 0);
    return c;
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
}

std::string encodeHeartbeat(const WorkerCounters& counters, const UpstreamObservation& upstream) {
  Poco::JSON::Object o;
  o.set("type", msg::kHeartbeat);
  Poco::JSON::Object::Ptr values = new Poco::JSON::Object;
  for (const auto& [name, value] : counters) values->set(name, static_cast<Poco::Int64>(value));
  o.set("counters", values);
  Poco::JSON::Object::Ptr up = new Poco::JSON::Object;
  up->set("last_status", upstream.last_status);
  up->set("last_status_at", static_cast<Poco::Int64>(upstream.last_status_at));
  up->set("last_success_at", static_cast<Poco::Int64>(upstream.last_success_at));
  up->set("rate_limits_at", static_cast<Poco::Int64>(upstream.rate_limits_at));
  Poco::JSON::Object::Ptr limits = new Poco::JSON::Object;
  for (const auto& [name, value] : upstream.rate_limits) limits->set(name, value);
  up->set("rate_limits", limits);
  o.set("upstream", up);
  return stringify(o);
}

std::optional<Heartbeat> decodeHeartbeat(const std::string& json) {
  auto o = parseObject(json);
  if (!o) return std::nullopt;
  auto values = o->getObject("counters");
  if (!values) return std::nullopt;
  Heartbeat beat;
  try {
    for (const auto& [name, value] : *values) beat.counters[name] = value.convert<Poco::Int64>();
    if (auto up = o->getObject("upstream")) {
      beat.upstream.last_status = up->optValue<int>("last_status", 0);
      beat.upstream.last_status_at = up->optValue<Poco::Int64>("last_status_at", 0);
      beat.upstream.last_success_at = up->optValue<Poco::Int64>("last_success_at", 0);
      beat.upstream.rate_limits_at = up->optValue<Poco::Int64>("rate_limits_at", 0);
      if (auto limits = up->getObject("rate_limits")) {
        for (const auto& [name, value] : *limits) beat.upstream.rate_limits[name] = value.convert<std::string>();
      }
    }
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
  return beat;
}

std::string encodeMetrics(const std::string& prometheus_text) {
  Poco::JSON::Object o;
  o.set("type", msg::kMetrics);
  o.set("text", prometheus_text);
  return stringify(o);
}

std::optional<std::string> decodeMetrics(const std::string& json) {
  auto o = parseObject(json);
  if (!o || !o->has("text")) return std::nullopt;
  try {
    return o->getValue<std::string>("text");
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
}

std::string encodeDrain(int64_t grace_ms) {
  Poco::JSON::Object o;
  o.set("type", msg::kDrain);
  o.set("grace_ms", static_cast<Poco::Int64>(grace_ms));
  return stringify(o);
}

std::string encodeSimple(const char* type) {
  Poco::JSON::Object o;
  o.set("type", type);
  return stringify(o);
}

std::string encodeUnauthorized(uint64_t generation) {
  Poco::JSON::Object o;
  o.set("type", msg::kUnauthorized);
  o.set("generation", static_cast<Poco::UInt64>(generation));
  return stringify(o);
}

std::string messageType(const std::string& json) {
  auto o = parseObject(json);
  if (!o) return {};
  try {
    return o->optValue<std::string>("type", "");
  } catch (const Poco::Exception&) {
    return {};
  }
}

std::optional<int64_t> messageInt(const std::string& json, const char* field) {
  auto o = parseObject(json);
  if (!o || !o->has(field)) return std::nullopt;
  try {
    return o->get(field).convert<Poco::Int64>();
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
}

}  // namespace cosp::common
