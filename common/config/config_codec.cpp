#include "common/config/config_codec.h"

#include <cstdint>

#include "common/ipc/messages.h"
#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"

namespace cosp::common {

namespace {

void writeList(JsonWriter& w, std::string_view key, const std::vector<std::string>& items) {
  w.key(key).beginArray();
  for (const auto& item : items) w.value(item);
  w.endArray();
}

// Reads the members of a config message. Every scalar member is required and must have the kind
// the encoder writes; a list that is absent is empty. The first problem makes ok() false.
class ConfigReader {
 public:
  explicit ConfigReader(const JsonValue& object) : object_(object) {}
  bool ok() const { return ok_; }

  std::string text(std::string_view key) {
    auto v = jsonString(object_, key);
    if (!v) ok_ = false;
    return v ? std::string(*v) : std::string();
  }
  bool flag(std::string_view key) {
    auto v = jsonBool(object_, key);
    if (!v) ok_ = false;
    return v.value_or(false);
  }
  int64_t int64(std::string_view key) {
    auto v = jsonInt(object_, key);
    if (!v) ok_ = false;
    return v.value_or(0);
  }
  uint64_t uint64(std::string_view key) {
    auto v = jsonUInt(object_, key);
    if (!v) ok_ = false;
    return v.value_or(0);
  }
  int int32(std::string_view key) { return static_cast<int>(ranged(key, INT32_MIN, INT32_MAX)); }
  uint16_t port(std::string_view key) { return static_cast<uint16_t>(ranged(key, 0, UINT16_MAX)); }
  std::chrono::milliseconds millis(std::string_view key) { return std::chrono::milliseconds(int64(key)); }
  std::vector<std::string> list(std::string_view key) {
    std::vector<std::string> out;
    const JsonValue* v = object_.find(key);
    if (v == nullptr || v->isNull()) return out;
    const JsonArray* items = v->getArray();
    if (items == nullptr) {
      ok_ = false;
      return out;
    }
    for (const JsonValue& item : *items) {
      auto s = item.stringView();
      if (!s) ok_ = false;
      if (s) out.emplace_back(*s);
    }
    return out;
  }

 private:
  int64_t ranged(std::string_view key, int64_t min, int64_t max) {
    const int64_t v = int64(key);
    if (v < min || v > max) ok_ = false;
    return v;
  }

  const JsonValue& object_;
  bool ok_ = true;
};

}  // namespace

// Members in alphabetical order: the bytes the channel has always carried (see messages.cpp).
std::string encodeWorkerConfig(const Config& c) {
  JsonWriter w;
  w.beginObject().member("account_id", c.account_id).member("allow_unauthenticated", c.allow_unauthenticated);
  writeList(w, "api_keys", c.api_keys);
  w.member("api_keys_file", c.api_keys_file);
  w.member("codex_base_url", c.codex_base_url)
      .member("codex_client_version", c.codex_client_version)
      .member("codex_responses_path", c.codex_responses_path)
      .member("codex_usage_url", c.codex_usage_url)
      .member("control_socket", c.control_socket)
      .member("credentials_wait_ms", static_cast<int64_t>(c.credentials_wait.count()));
  writeList(w, "dropped_params", c.dropped_params);
  w.member("forward_quota_headers", c.forward_quota_headers)
      .member("host", c.host)
      .member("https_proxy", c.https_proxy)
      .member("keep_alive_timeout_ms", static_cast<int64_t>(c.keep_alive_timeout.count()))
      .member("log_format", static_cast<int>(c.log_format))
      .member("log_level", static_cast<int>(c.log_level))
      .member("max_body_bytes", c.max_body_bytes)
      .member("max_connections", c.max_connections)
      .member("max_connections_per_client", c.max_connections_per_client)
      .member("max_event_bytes", c.max_event_bytes)
      .member("max_header_bytes", c.max_header_bytes);
  writeList(w, "models", c.models);
  w.member("no_proxy", c.no_proxy)
      .member("originator", c.originator)
      .member("port", static_cast<int>(c.port))
      .member("reasoning_compat", c.reasoning_compat)
      .member("request_body_min_rate", c.request_body_min_rate)
      .member("request_body_timeout_ms", static_cast<int64_t>(c.request_body_timeout.count()))
      .member("request_head_timeout_ms", static_cast<int64_t>(c.request_head_timeout.count()))
      .member("request_timeout_ms", static_cast<int64_t>(c.request_timeout.count()))
      .member("send_timeout_ms", static_cast<int64_t>(c.send_timeout.count()))
      .member("shutdown_grace_ms", static_cast<int64_t>(c.shutdown_grace.count()))
      .member("state_dir", c.state_dir)
      .member("strict_params", c.strict_params)
      .member("type", msg::kConfig)
      .member("upstream_ca_file", c.upstream_ca_file)
      .member("upstream_connect_timeout_ms", static_cast<int64_t>(c.upstream_connect_timeout.count()))
      .member("upstream_idle_timeout_ms", static_cast<int64_t>(c.upstream_idle_timeout.count()))
      .member("worker_threads", c.worker_threads)
      .member("workers", c.workers)
      .endObject();
  return w.take();
}

std::optional<Config> decodeWorkerConfig(const std::string& json) {
  auto parsed = parseJsonObject(json);
  if (!parsed || jsonStringOr(*parsed, "type") != msg::kConfig) return std::nullopt;
  ConfigReader r(*parsed);
  Config c;
  c.host = r.text("host");
  c.port = r.port("port");
  c.api_keys = r.list("api_keys");
  c.allow_unauthenticated = r.flag("allow_unauthenticated");
  c.forward_quota_headers = r.flag("forward_quota_headers");
  c.api_keys_file = r.text("api_keys_file");
  c.account_id = r.text("account_id");
  c.codex_base_url = r.text("codex_base_url");
  c.codex_responses_path = r.text("codex_responses_path");
  c.codex_usage_url = r.text("codex_usage_url");
  c.codex_client_version = r.text("codex_client_version");
  c.credentials_wait = r.millis("credentials_wait_ms");
  c.models = r.list("models");
  c.upstream_connect_timeout = r.millis("upstream_connect_timeout_ms");
  c.upstream_idle_timeout = r.millis("upstream_idle_timeout_ms");
  c.https_proxy = r.text("https_proxy");
  c.no_proxy = r.text("no_proxy");
  c.upstream_ca_file = r.text("upstream_ca_file");
  c.originator = r.text("originator");
  c.strict_params = r.flag("strict_params");
  c.dropped_params = r.list("dropped_params");
  c.reasoning_compat = r.text("reasoning_compat");
  c.state_dir = r.text("state_dir");
  c.control_socket = r.text("control_socket");
  c.workers = r.int32("workers");
  c.worker_threads = r.int32("worker_threads");
  c.max_body_bytes = r.uint64("max_body_bytes");
  c.shutdown_grace = r.millis("shutdown_grace_ms");
  c.request_head_timeout = r.millis("request_head_timeout_ms");
  c.keep_alive_timeout = r.millis("keep_alive_timeout_ms");
  c.request_body_timeout = r.millis("request_body_timeout_ms");
  c.request_body_min_rate = r.uint64("request_body_min_rate");
  c.max_header_bytes = r.uint64("max_header_bytes");
  c.max_connections = r.int32("max_connections");
  c.max_connections_per_client = r.int32("max_connections_per_client");
  c.send_timeout = r.millis("send_timeout_ms");
  c.request_timeout = r.millis("request_timeout_ms");
  c.max_event_bytes = r.uint64("max_event_bytes");
  c.log_level = static_cast<LogLevel>(r.int32("log_level"));
  c.log_format = static_cast<LogFormat>(r.int32("log_format"));
  if (!r.ok()) return std::nullopt;
  return c;
}

}  // namespace cosp::common
