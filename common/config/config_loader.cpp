#include "common/config/config_loader.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/codex/fingerprint.h"
#include "common/config/config_sources.h"
#include "common/util/http_syntax.h"
#include "common/util/strings.h"

namespace cosp::common {

namespace {

std::optional<int64_t> parseInteger(const std::string& text) {
  int64_t value = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

// "30", "30s", "500ms", "5m", "1h"; a bare number is seconds.
std::optional<std::chrono::milliseconds> parseDuration(const std::string& text) {
  std::string t = toLower(trim(text));
  size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  auto number = parseInteger(t.substr(0, digits));
  if (!number) return std::nullopt;
  std::string unit = trim(t.substr(digits));
  int64_t factor;
  if (unit.empty() || unit == "s")
    factor = 1000;
  else if (unit == "ms")
    factor = 1;
  else if (unit == "m" || unit == "min")
    factor = 60000;
  else if (unit == "h")
    factor = 3600000;
  else
    return std::nullopt;
  if (*number > INT64_MAX / factor) return std::nullopt;
  return std::chrono::milliseconds(*number * factor);
}

// "16777216", "16MiB", "16M", "512KiB", "1GiB" (binary units).
std::optional<uint64_t> parseBytes(const std::string& text) {
  std::string t = toLower(trim(text));
  size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  auto number = parseInteger(t.substr(0, digits));
  if (!number || *number < 0) return std::nullopt;
  std::string unit = trim(t.substr(digits));
  uint64_t factor;
  if (unit.empty() || unit == "b")
    factor = 1;
  else if (unit == "k" || unit == "kib" || unit == "kb")
    factor = 1024;
  else if (unit == "m" || unit == "mib" || unit == "mb")
    factor = 1024 * 1024;
  else if (unit == "g" || unit == "gib" || unit == "gb")
    factor = 1024ull * 1024 * 1024;
  else
    return std::nullopt;
  return static_cast<uint64_t>(*number) * factor;
}

std::optional<bool> parseBool(const std::string& text) {
  std::string t = toLower(trim(text));
  if (t == "1" || t == "true" || t == "yes" || t == "on") return true;
  if (t == "0" || t == "false" || t == "no" || t == "off" || t.empty()) return false;
  return std::nullopt;
}

bool isHttpUrl(const std::string& url) {
  return (url.rfind("http://", 0) == 0 && url.size() > 7) || (url.rfind("https://", 0) == 0 && url.size() > 8);
}

std::string firstPathOf(const std::string& list) {  // systemd passes colon-separated lists
  auto colon = list.find(':');
  return colon == std::string::npos ? list : list.substr(0, colon);
}

ConfigError invalid(const OptionSpec& spec, const RawValue& raw, const std::string& why, bool show_value = true) {
  std::string message = std::string("invalid ") + spec.env + " (--" + spec.flag + ")";
  if (show_value) message += " = '" + raw.value + "'";
  message += " from " + raw.source + ": " + why;
  return ConfigError{message};
}

// The typed value of every option, parsed and range-checked into a Config. The first invalid value
// ends the load, so the steps keep one fixed order: with several bad values, the same one is named.
class ConfigReader {
 public:
  ConfigReader(const ValueSource& values, const EnvLookup& env, Config& config)
      : values_(values), env_(env), c_(config) {}

  std::optional<ConfigError> read() {
    using Step = std::optional<ConfigError> (ConfigReader::*)();
    for (Step step : {&ConfigReader::checkUtf8, &ConfigReader::readListener, &ConfigReader::readCredentialSeeds,
                      &ConfigReader::readUpstreamEndpoint, &ConfigReader::readTimeouts,
                      &ConfigReader::readUpstreamTransport, &ConfigReader::readTranslation, &ConfigReader::readPaths,
                      &ConfigReader::readLimits, &ConfigReader::readLogging}) {
      if (auto e = (this->*step)()) return e;
    }
    return std::nullopt;
  }

 private:
  std::optional<RawValue> get(const char* flag) const { return values_.get(optionSpec(flag)); }

  static ConfigError invalidValue(const char* flag, const RawValue& raw, const std::string& why,
                                  bool show_value = true) {
    return invalid(optionSpec(flag), raw, why, show_value);
  }

  // The configuration reaches the workers as JSON (config_codec), which carries UTF-8 text only: a
  // value that is not would pass here and then leave every worker unable to read its config.
  std::optional<ConfigError> checkUtf8() {
    for (const auto& s : optionTable()) {
      if (auto v = values_.get(s); v && !isValidUtf8(v->value)) return invalid(s, *v, "not valid UTF-8 text", false);
    }
    return std::nullopt;
  }

  std::optional<ConfigError> readListener() {
    if (auto v = get("host")) {
      c_.host = trim(v->value);
      if (c_.host.empty()) return invalidValue("host", *v, "must not be empty");
    }
    if (auto v = get("port")) {
      auto n = parseInteger(trim(v->value));
      if (!n || *n < 1 || *n > 65535) return invalidValue("port", *v, "not a port number (1-65535)");
      c_.port = static_cast<uint16_t>(*n);
    }
    if (auto v = get("api-key")) c_.api_keys = splitList(v->value);
    if (auto v = get("api-keys-file")) c_.api_keys_file = trim(v->value);
    if (auto e = boolOption("forward-quota-headers", c_.forward_quota_headers)) return e;
    return boolOption("allow-unauthenticated", c_.allow_unauthenticated);
  }

  std::optional<ConfigError> readCredentialSeeds() {
    if (auto v = get("refresh-token")) c_.refresh_token = trim(v->value);
    if (auto v = get("access-token")) c_.access_token = trim(v->value);
    if (auto v = get("expires-at"); v && !trim(v->value).empty()) {
      auto n = parseInteger(trim(v->value));
      if (!n || *n <= 0) return invalidValue("expires-at", *v, "expected unix seconds or milliseconds");
      c_.expires_at_ms = *n > 9999999999LL ? *n : *n * 1000;
    }
    if (auto v = get("account-id")) c_.account_id = trim(v->value);
    if (auto v = get("codex-auth-file")) c_.codex_auth_file = trim(v->value);
    return urlOption("auth-base-url", c_.auth_base_url);
  }

  std::optional<ConfigError> readUpstreamEndpoint() {
    if (auto e = urlOption("codex-base-url", c_.codex_base_url)) return e;
    if (auto e = urlOption("codex-usage-url", c_.codex_usage_url)) return e;
    if (auto v = get("codex-responses-path")) {
      c_.codex_responses_path = trim(v->value);
      if (c_.codex_responses_path.empty()) return invalidValue("codex-responses-path", *v, "must not be empty");
      // The original project joined base and path whichever of them carried the '/', and its
      // .env files do both (CODEX_BASE_URL=…/codex/ with CODEX_RESPONSES_PATH=responses).
      if (c_.codex_responses_path[0] != '/') c_.codex_responses_path.insert(0, 1, '/');
    }
    if (auto v = get("models")) {
      c_.models = splitList(v->value);
      if (c_.models.empty()) return invalidValue("models", *v, "needs at least one model id");
    }
    return std::nullopt;
  }

  std::optional<ConfigError> readTimeouts() {
    using std::chrono::milliseconds;
    const struct {
      const char* flag;
      milliseconds min;
      milliseconds& target;
    } timeouts[] = {
        {"upstream-connect-timeout", milliseconds(100), c_.upstream_connect_timeout},
        {"upstream-idle-timeout", milliseconds(1000), c_.upstream_idle_timeout},
        {"shutdown-grace", milliseconds(0), c_.shutdown_grace},
        {"request-head-timeout", milliseconds(100), c_.request_head_timeout},
        {"keep-alive-timeout", milliseconds(100), c_.keep_alive_timeout},
        {"request-body-timeout", milliseconds(100), c_.request_body_timeout},
        {"send-timeout", milliseconds(100), c_.send_timeout},
        {"request-timeout", milliseconds(1000), c_.request_timeout},
    };
    for (const auto& t : timeouts) {
      if (auto e = durationOption(t.flag, t.min, t.target)) return e;
    }
    milliseconds margin = c_.refresh_margin;
    if (auto e = durationOption("refresh-margin", milliseconds(0), margin)) return e;
    if (auto e = durationOption("credentials-wait", milliseconds(0), c_.credentials_wait)) return e;
    c_.refresh_margin = std::chrono::duration_cast<std::chrono::seconds>(margin);
    return std::nullopt;
  }

  std::optional<ConfigError> readUpstreamTransport() {
    if (auto v = get("https-proxy")) {
      c_.https_proxy = trim(v->value);
      if (!c_.https_proxy.empty() && c_.https_proxy.find("://") == std::string::npos)
        c_.https_proxy = "http://" + c_.https_proxy;
      if (!c_.https_proxy.empty() && c_.https_proxy.rfind("http://", 0) != 0) {
        return invalidValue("https-proxy", *v, "only http:// proxies (HTTP CONNECT) are supported", false);
      }
    }
    if (auto v = get("no-proxy")) c_.no_proxy = trim(v->value);
    if (auto v = get("upstream-ca-file")) {
      c_.upstream_ca_file = trim(v->value);
      if (!c_.upstream_ca_file.empty() && !std::ifstream(c_.upstream_ca_file)) {
        return invalidValue("upstream-ca-file", *v, "file cannot be read");
      }
    }
    if (auto v = get("originator")) {
      c_.originator = trim(v->value);
      if (c_.originator.empty()) return invalidValue("originator", *v, "must not be empty");
      if (!isToken(c_.originator)) return invalidValue("originator", *v, "must be an HTTP token");
    }
    if (auto v = get("codex-client-version")) {
      c_.codex_client_version = trim(v->value);
      if (!c_.codex_client_version.empty() && !isCodexVersion(c_.codex_client_version)) {
        return invalidValue("codex-client-version", *v, "expected a Codex release such as 0.169.0");
      }
    }
    return std::nullopt;
  }

  std::optional<ConfigError> readTranslation() {
    if (auto e = boolOption("strict", c_.strict_params)) return e;
    if (auto v = get("dropped-params")) c_.dropped_params = splitList(v->value);
    if (auto v = get("reasoning-compat")) {
      std::string mode = toLower(trim(v->value));
      if (mode == "think_tags") mode = "think-tags";
      if (mode != "none" && mode != "reasoning_content" && mode != "think-tags") {
        return invalidValue("reasoning-compat", *v, "expected none, reasoning_content or think-tags");
      }
      c_.reasoning_compat = mode;
    }
    return std::nullopt;
  }

  std::optional<ConfigError> readPaths() {
    c_.state_dir = defaultStateDir(env_);
    if (auto v = get("state-dir")) {
      c_.state_dir = trim(v->value);
      if (c_.state_dir.empty()) return invalidValue("state-dir", *v, "must not be empty");
    }
    c_.control_socket = defaultControlSocket(env_, c_.state_dir);
    if (auto v = get("control-socket")) c_.control_socket = trim(v->value);
    if (!isValidUtf8(c_.state_dir) || !isValidUtf8(c_.control_socket)) {
      return ConfigError{
          "STATE_DIR (--state-dir) or CONTROL_SOCKET (--control-socket): the default from "
          "STATE_DIRECTORY, RUNTIME_DIRECTORY or HOME is not valid UTF-8 text; set them explicitly"};
    }
    if (c_.control_socket.empty() || c_.control_socket.size() > 107) {
      return ConfigError{"invalid CONTROL_SOCKET (--control-socket) '" + c_.control_socket +
                         "': a unix socket path must be 1-107 bytes; set CONTROL_SOCKET to a shorter path"};
    }
    return std::nullopt;
  }

  std::optional<ConfigError> readLimits() {
    unsigned cpus = std::thread::hardware_concurrency();
    c_.workers = cpus == 0 ? 1 : static_cast<int>(cpus);
    if (auto v = get("workers")) {
      auto n = parseInteger(trim(v->value));
      if (!n || *n < 1 || *n > 256) return invalidValue("workers", *v, "expected a number from 1 to 256");
      c_.workers = static_cast<int>(*n);
    }
    if (auto v = get("worker-threads")) {
      auto n = parseInteger(trim(v->value));
      if (!n || *n < 4 || *n > 65536) return invalidValue("worker-threads", *v, "expected a number from 4 to 65536");
      c_.worker_threads = static_cast<int>(*n);
    }
    if (auto v = get("max-body-bytes")) {
      auto n = parseBytes(v->value);
      if (!n || *n < 1024) return invalidValue("max-body-bytes", *v, "expected a size of at least 1KiB, e.g. 16MiB");
      c_.max_body_bytes = *n;
    }
    if (auto e = sizeOption("request-body-min-rate", 1, c_.request_body_min_rate)) return e;
    if (auto e = sizeOption("max-header-bytes", 1024, c_.max_header_bytes)) return e;
    if (auto e = sizeOption("max-event-bytes", 64 * 1024, c_.max_event_bytes)) return e;
    if (auto e = countOption("max-connections", 16, 1048576, c_.max_connections)) return e;
    return countOption("max-connections-per-client", 0, 1048576, c_.max_connections_per_client);
  }

  std::optional<ConfigError> readLogging() {
    if (auto v = get("log-level")) {
      std::string level = toLower(trim(v->value));
      if (level == "debug")
        c_.log_level = LogLevel::Debug;
      else if (level == "info")
        c_.log_level = LogLevel::Info;
      else if (level == "warn" || level == "warning")
        c_.log_level = LogLevel::Warn;
      else if (level == "error")
        c_.log_level = LogLevel::Error;
      else
        return invalidValue("log-level", *v, "expected debug, info, warn or error");
    }
    if (auto v = get("log-format")) {
      std::string format = toLower(trim(v->value));
      if (format == "json")
        c_.log_format = LogFormat::Json;
      else if (format == "text")
        c_.log_format = LogFormat::Text;
      else
        return invalidValue("log-format", *v, "expected json or text");
    }
    if (auto v = get("account-strategy")) {
      std::string strategy = toLower(trim(v->value));
      if (strategy != "sticky" && strategy != "round-robin") {
        return invalidValue("account-strategy", *v, "expected sticky or round-robin");
      }
      c_.account_strategy = strategy;
    }
    return std::nullopt;
  }

  std::optional<ConfigError> boolOption(const char* flag, bool& target) const {
    if (auto v = get(flag)) {
      auto b = parseBool(v->value);
      if (!b) return invalidValue(flag, *v, "expected 1/0/true/false");
      target = *b;
    }
    return std::nullopt;
  }

  std::optional<ConfigError> urlOption(const char* flag, std::string& target) const {
    if (auto v = get(flag)) {
      std::string url = trim(v->value);
      while (!url.empty() && url.back() == '/') url.pop_back();
      if (!isHttpUrl(url)) return invalidValue(flag, *v, "expected an http:// or https:// URL");
      target = url;
    }
    return std::nullopt;
  }

  std::optional<ConfigError> durationOption(const char* flag, std::chrono::milliseconds min,
                                            std::chrono::milliseconds& target) const {
    if (auto v = get(flag)) {
      auto d = parseDuration(v->value);
      if (!d) return invalidValue(flag, *v, "expected a duration such as 30s, 500ms, 5m");
      if (*d < min) return invalidValue(flag, *v, "must be at least " + std::to_string(min.count()) + " ms");
      target = *d;
    }
    return std::nullopt;
  }

  std::optional<ConfigError> sizeOption(const char* flag, uint64_t min, uint64_t& target) const {
    if (auto v = get(flag)) {
      auto n = parseBytes(v->value);
      if (!n || *n < min) {
        return invalidValue(flag, *v, "expected a size of at least " + std::to_string(min) + " bytes, e.g. 64KiB");
      }
      target = *n;
    }
    return std::nullopt;
  }

  std::optional<ConfigError> countOption(const char* flag, int64_t min, int64_t max, int& target) const {
    if (auto v = get(flag)) {
      auto n = parseInteger(trim(v->value));
      if (!n || *n < min || *n > max) {
        return invalidValue(flag, *v, "expected a number from " + std::to_string(min) + " to " + std::to_string(max));
      }
      target = static_cast<int>(*n);
    }
    return std::nullopt;
  }

  const ValueSource& values_;
  const EnvLookup& env_;
  Config& c_;
};

// A leading word that is not an option is the command.
std::optional<ConfigError> takeCommand(std::vector<std::string>& args, Invocation& inv) {
  if (args.empty() || args[0].empty() || args[0][0] == '-') return std::nullopt;
  if (args[0] != "serve" && args[0] != "login") {
    return ConfigError{"unknown command '" + args[0] + "' (expected serve or login)"};
  }
  inv.command = args[0];
  args.erase(args.begin());
  return std::nullopt;
}

std::string configFileName(const boost::program_options::variables_map& cli, const EnvLookup& env) {
  if (cli.count("config")) return cli["config"].as<std::string>();
  if (auto f = env("CONFIG_FILE")) return *f;
  return {};
}

}  // namespace

EnvLookup processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string defaultStateDir(const EnvLookup& env) {
  if (auto dir = env("STATE_DIRECTORY"); dir && !dir->empty()) return firstPathOf(*dir);
  if (auto home = env("HOME"); home && !home->empty()) return *home + "/.local/state/codex-sub-proxy";
  return "/var/lib/codex-sub-proxy";
}

std::string defaultControlSocket(const EnvLookup& env, const std::string& state_dir) {
  if (auto dir = env("RUNTIME_DIRECTORY"); dir && !dir->empty()) return firstPathOf(*dir) + "/control.sock";
  return state_dir + "/control.sock";
}

Result<LoadedConfig, ConfigError> loadConfig(const std::vector<std::string>& args_in, const EnvLookup& env) {
  LoadedConfig loaded;
  Invocation& inv = loaded.invocation;
  std::vector<std::string> args = args_in;
  if (auto e = takeCommand(args, inv)) return *e;

  auto cli = parseCommandLine(args);
  if (!cli) return cli.takeError();
  inv.check_config = (*cli)["check-config"].as<bool>();
  inv.help = (*cli)["help"].as<bool>();
  inv.version = (*cli)["version"].as<bool>();
  inv.print = (*cli)["print"].as<bool>();
  if (inv.print && inv.command != "login") return ConfigError{"--print only applies to 'login'"};
  if (cli->count("account")) inv.account = (*cli)["account"].as<std::string>();
  if (cli->count("import")) inv.import_file = (*cli)["import"].as<std::string>();
  if ((!inv.account.empty() || !inv.import_file.empty()) && inv.command != "login") {
    return ConfigError{"--account and --import only apply to 'login'"};
  }
  if (!inv.import_file.empty() && inv.print) return ConfigError{"--import and --print cannot be combined"};
  // --help and --version answer whatever the rest of the configuration says.
  if (inv.help || inv.version) return loaded;

  Config& c = loaded.config;
  c.config_file = configFileName(*cli, env);
  boost::program_options::variables_map file;
  if (!c.config_file.empty()) {
    auto parsed = parseConfigFile(c.config_file);
    if (!parsed) return parsed.takeError();
    file = std::move(*parsed);
  }
  ValueSource values(*cli, file, env, c.config_file);
  if (auto e = ConfigReader(values, env, c).read()) return *e;

  if (c.api_keys.empty() && c.api_keys_file.empty() && !isLoopbackHost(c.host) && !c.allow_unauthenticated &&
      inv.command == "serve") {
    return ConfigError{"PROXY_API_KEY (--api-key) is not set while HOST (--host) = '" + c.host +
                       "' is not a loopback address; set a caller key, bind to 127.0.0.1, "
                       "or set ALLOW_UNAUTHENTICATED=1 (--allow-unauthenticated)"};
  }
  return loaded;
}

}  // namespace cosp::common
