#include "common/config/config_codec.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>

#include "common/ipc/messages.h"

namespace cosp::common {

namespace {

Poco::JSON::Array::Ptr toArray(const std::vector<std::string>& items) {
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
  for (const auto& item : items) array->add(item);
  return array;
}

std::vector<std::string> fromArray(const Poco::JSON::Array::Ptr& array) {
  std::vector<std::string> out;
  if (!array) return out;
  for (size_t i = 0; i < array->size(); ++i) out.push_back(array->getElement<std::string>(static_cast<unsigned>(i)));
  return out;
}

}  // namespace

std::string encodeWorkerConfig(const Config& c) {
  Poco::JSON::Object o;
  o.set("type", msg::kConfig);
  o.set("host", c.host);
  o.set("port", static_cast<int>(c.port));
  o.set("api_keys", toArray(c.api_keys));
  o.set("allow_unauthenticated", c.allow_unauthenticated);
  o.set("account_id", c.account_id);
  o.set("codex_base_url", c.codex_base_url);
  o.set("codex_responses_path", c.codex_responses_path);
  o.set("models", toArray(c.models));
  o.set("upstream_connect_timeout_ms", static_cast<Poco::Int64>(c.upstream_connect_timeout.count()));
  o.set("upstream_idle_timeout_ms", static_cast<Poco::Int64>(c.upstream_idle_timeout.count()));
  o.set("https_proxy", c.https_proxy);
  o.set("no_proxy", c.no_proxy);
  o.set("upstream_ca_file", c.upstream_ca_file);
  o.set("originator", c.originator);
  o.set("strict_params", c.strict_params);
  o.set("dropped_params", toArray(c.dropped_params));
  o.set("reasoning_compat", c.reasoning_compat);
  o.set("state_dir", c.state_dir);
  o.set("control_socket", c.control_socket);
  o.set("workers", c.workers);
  o.set("worker_threads", c.worker_threads);
  o.set("max_body_bytes", static_cast<Poco::UInt64>(c.max_body_bytes));
  o.set("shutdown_grace_ms", static_cast<Poco::Int64>(c.shutdown_grace.count()));
  o.set("request_head_timeout_ms", static_cast<Poco::Int64>(c.request_head_timeout.count()));
  o.set("keep_alive_timeout_ms", static_cast<Poco::Int64>(c.keep_alive_timeout.count()));
  o.set("request_body_timeout_ms", static_cast<Poco::Int64>(c.request_body_timeout.count()));
  o.set("request_body_min_rate", static_cast<Poco::UInt64>(c.request_body_min_rate));
  o.set("max_header_bytes", static_cast<Poco::UInt64>(c.max_header_bytes));
  o.set("max_connections", c.max_connections);
  o.set("max_connections_per_client", c.max_connections_per_client);
  o.set("send_timeout_ms", static_cast<Poco::Int64>(c.send_timeout.count()));
  o.set("request_timeout_ms", static_cast<Poco::Int64>(c.request_timeout.count()));
  o.set("max_event_bytes", static_cast<Poco::UInt64>(c.max_event_bytes));
  o.set("log_level", static_cast<int>(c.log_level));
  o.set("log_format", static_cast<int>(c.log_format));
  std::ostringstream out;
  o.stringify(out);
  return out.str();
}

std::optional<Config> decodeWorkerConfig(const std::string& json) {
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
    if (!o || o->optValue<std::string>("type", "") != msg::kConfig) return std::nullopt;
    Config c;
    c.host = o->getValue<std::string>("host");
    c.port = static_cast<uint16_t>(o->getValue<int>("port"));
    c.api_keys = fromArray(o->getArray("api_keys"));
    c.allow_unauthenticated = o->getValue<bool>("allow_unauthenticated");
    c.account_id = o->getValue<std::string>("account_id");
    c.codex_base_url = o->getValue<std::string>("codex_base_url");
    c.codex_responses_path = o->getValue<std::string>("codex_responses_path");
    c.models = fromArray(o->getArray("models"));
    c.upstream_connect_timeout = std::chrono::milliseconds(o->getValue<Poco::Int64>("upstream_connect_timeout_ms"));
    c.upstream_idle_timeout = std::chrono::milliseconds(o->getValue<Poco::Int64>("upstream_idle_timeout_ms"));
    c.https_proxy = o->getValue<std::string>("https_proxy");
    c.no_proxy = o->getValue<std::string>("no_proxy");
    c.upstream_ca_file = o->getValue<std::string>("upstream_ca_file");
    c.originator = o->getValue<std::string>("originator");
    c.strict_params = o->getValue<bool>("strict_params");
    c.dropped_params = fromArray(o->getArray("dropped_params"));
    c.reasoning_compat = o->getValue<std::string>("reasoning_compat");
    c.state_dir = o->getValue<std::string>("state_dir");
    c.control_socket = o->getValue<std::string>("control_socket");
    c.workers = o->getValue<int>("workers");
    c.worker_threads = o->getValue<int>("worker_threads");
    c.max_body_bytes = o->getValue<Poco::UInt64>("max_body_bytes");
    c.shutdown_grace = std::chrono::milliseconds(o->getValue<Poco::Int64>("shutdown_grace_ms"));
    c.request_head_timeout = std::chrono::milliseconds(o->getValue<Poco::Int64>("request_head_timeout_ms"));
    c.keep_alive_timeout = std::chrono::milliseconds(o->getValue<Poco::Int64>("keep_alive_timeout_ms"));
    c.request_body_timeout = std::chrono::milliseconds(o->getValue<Poco::Int64>("request_body_timeout_ms"));
    c.request_body_min_rate = o->getValue<Poco::UInt64>("request_body_min_rate");
    c.max_header_bytes = o->getValue<Poco::UInt64>("max_header_bytes");
    c.max_connections = o->getValue<int>("max_connections");
    c.max_connections_per_client = o->getValue<int>("max_connections_per_client");
    c.send_timeout = std::chrono::milliseconds(o->getValue<Poco::Int64>("send_timeout_ms"));
    c.request_timeout = std::chrono::milliseconds(o->getValue<Poco::Int64>("request_timeout_ms"));
    c.max_event_bytes = o->getValue<Poco::UInt64>("max_event_bytes");
    c.log_level = static_cast<LogLevel>(o->getValue<int>("log_level"));
    c.log_format = static_cast<LogFormat>(o->getValue<int>("log_format"));
    return c;
  } catch (const std::exception&) {  // Poco::Exception derives from std::exception
    return std::nullopt;
  }
}

}  // namespace cosp::common
