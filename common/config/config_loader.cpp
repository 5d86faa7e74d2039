#include "common/config/config_loader.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "common/util/strings.h"

namespace po = boost::program_options;

namespace cosp::common {

namespace {

// One row of the option table. `cli` false keeps secrets off the command line (visible in ps);
// they are still accepted from the environment and the config file.
struct OptionSpec {
  const char* flag;
  const char* env;
  const char* default_text;
  const char* help;
  bool cli = true;
  bool is_switch = false;
};

const std::vector<OptionSpec>& optionTable() {
  static const std::vector<OptionSpec> table = {
      {"host", "HOST", "0.0.0.0", "bind address"},
      {"port", "PORT", "3000", "bind port (1-65535)"},
      {"api-key", "PROXY_API_KEY", "unset", "caller key(s), comma-separated; unset = no caller auth"},
      {"allow-unauthenticated", "ALLOW_UNAUTHENTICATED", "false",
       "allow serving without a caller key on a non-loopback address", true, true},
      {"refresh-token", "OPENAI_REFRESH_TOKEN", "unset", "seed OAuth refresh token (env/file only)", false},
      {"access-token", "OPENAI_ACCESS_TOKEN", "unset", "seed OAuth access token (env/file only)", false},
      {"expires-at", "OPENAI_EXPIRES_AT", "unset", "access token expiry, unix seconds or milliseconds"},
      {"account-id", "OPENAI_CHATGPT_ACCOUNT_ID", "from JWT", "ChatGPT-Account-ID header value"},
      {"auth-base-url", "OPENAI_AUTH_BASE_URL", "https://auth.openai.com", "OAuth issuer"},
      {"codex-auth-file", "CODEX_AUTH_FILE", "unset", "import tokens from a Codex CLI auth.json"},
      {"refresh-margin", "REFRESH_MARGIN", "5m", "refresh this long before the access token expires"},
      {"codex-base-url", "CODEX_BASE_URL", "https://chatgpt.com/backend-api/codex", "upstream base URL"},
      {"codex-responses-path", "CODEX_RESPONSES_PATH", "/responses", "upstream Responses path"},
      {"models", "CODEX_MODELS", "gpt-5.5,gpt-5.5-pro,gpt-5.4,gpt-5.4-mini", "model ids served by /v1/models"},
      {"upstream-connect-timeout", "UPSTREAM_CONNECT_TIMEOUT", "10s", "upstream connect timeout"},
      {"upstream-idle-timeout", "UPSTREAM_IDLE_TIMEOUT", "300s", "longest silence from the upstream"},
      {"https-proxy", "HTTPS_PROXY", "unset", "outbound proxy http://[user:pass@]host:port"},
      {"no-proxy", "NO_PROXY", "unset", "hosts that bypass the outbound proxy"},
      {"upstream-ca-file", "UPSTREAM_CA_FILE", "system store", "CA bundle for upstream TLS"},
      {"originator", "CODEX_ORIGINATOR", "codex_cli_rs", "originator header sent upstream"},
      {"strict", "STRICT_PARAMS", "false", "refuse unsupported request fields instead of dropping them", true, true},
      {"dropped-params", "DROPPED_PARAMS", "built-in list", "request fields removed before forwarding"},
      {"reasoning-compat", "REASONING_COMPAT", "none", "none | reasoning_content | think-tags"},
      {"state-dir", "STATE_DIR", "$STATE_DIRECTORY or ~/.local/state/codex-sub-proxy", "where credentials.json lives"},
      {"control-socket", "CONTROL_SOCKET", "$RUNTIME_DIRECTORY/control.sock or STATE_DIR/control.sock",
       "operator control socket"},
      {"workers", "WORKERS", "number of CPUs", "prefork worker processes (1-256)"},
      {"worker-threads", "WORKER_THREADS", "1024", "max concurrent requests (and streams) per worker (4-65536)"},
      {"max-body-bytes", "MAX_BODY_BYTES", "16MiB", "request body limit"},
      {"shutdown-grace", "SHUTDOWN_GRACE", "30s", "how long TERM waits for in-flight requests"},
      {"request-head-timeout", "REQUEST_HEAD_TIMEOUT", "10s",
       "a request's line and headers must arrive within this, from connect or from its first byte"},
      {"keep-alive-timeout", "KEEP_ALIVE_TIMEOUT", "5s", "idle keep-alive connections close after this"},
      {"request-body-timeout", "REQUEST_BODY_TIMEOUT", "20s",
       "a request body must arrive within this plus 1 s per REQUEST_BODY_MIN_RATE bytes"},
      {"request-body-min-rate", "REQUEST_BODY_MIN_RATE", "16KiB", "slowest request body accepted, bytes per second"},
      {"max-header-bytes", "MAX_HEADER_BYTES", "64KiB", "request line plus headers limit (431 beyond)"},
      {"max-connections", "MAX_CONNECTIONS", "4096",
       "open client connections per worker; at the limit the longest-idle one is closed"},
      {"max-connections-per-client", "MAX_CONNECTIONS_PER_CLIENT", "0",
       "open connections per client address and worker; 0 = no cap (behind a reverse proxy, keep 0)"},
      {"send-timeout", "SEND_TIMEOUT", "60s", "longest time to hand one write to a client that stops reading"},
      {"request-timeout", "REQUEST_TIMEOUT", "15m", "deadline of a whole non-streaming model call"},
      {"max-event-bytes", "MAX_EVENT_BYTES", "16MiB", "largest upstream SSE line or event"},
      {"log-level", "LOG_LEVEL", "info", "debug | info | warn | error"},
      {"log-format", "LOG_FORMAT", "json", "json | text"},
  };
  return table;
}

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

// Where a value came from, for error messages.
struct RawValue {
  std::string value;
  std::string source;  // "environment", "command line", "config file FILE"
};

class ValueSource {
 public:
  ValueSource(const po::variables_map& cli, const po::variables_map& file, const EnvLookup& env, std::string file_name)
      : cli_(cli), file_(file), env_(env), file_name_(std::move(file_name)) {}

  std::optional<RawValue> get(const OptionSpec& spec) const {
    if (spec.cli && cli_.count(spec.flag)) return RawValue{cli_[spec.flag].as<std::string>(), "command line"};
    if (auto v = env_(spec.env)) return RawValue{*v, "environment"};
    // Proxy variables are conventionally lower case too.
    std::string env_name = spec.env;
    if (env_name == "HTTPS_PROXY" || env_name == "NO_PROXY") {
      if (auto v = env_(toLower(env_name))) return RawValue{*v, "environment"};
    }
    if (file_.count(spec.flag)) return RawValue{file_[spec.flag].as<std::string>(), "config file " + file_name_};
    return std::nullopt;
  }

 private:
  const po::variables_map& cli_;
  const po::variables_map& file_;
  const EnvLookup& env_;
  std::string file_name_;
};

ConfigError invalid(const OptionSpec& spec, const RawValue& raw, const std::string& why, bool show_value = true) {
  std::string message = std::string("invalid ") + spec.env + " (--" + spec.flag + ")";
  if (show_value) message += " = '" + raw.value + "'";
  message += " from " + raw.source + ": " + why;
  return ConfigError{message};
}

// The text of a Boost.ProgramOptions error. Its own what() replaces each %placeholder% of the
// message template again and again until none is left, so a value holding its own placeholder (an
// unknown option named "%canonical_option%") loops forever; this substitutes the same values in
// one pass instead.
std::string optionsErrorText(const po::error& e) {
  const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
  if (named == nullptr) return e.what();
  struct Access : po::error_with_option_name {
    // A member pointer formed through the derived class may read the base's protected map.
    static const std::map<std::string, std::string>& substitutions(const po::error_with_option_name& err) {
      return err.*(&Access::m_substitutions);
    }
  };
  std::map<std::string, std::string> values = Access::substitutions(*named);
  values["canonical_option"] = named->get_option_name();
  const std::string& tpl = named->m_error_template;
  std::string out;
  std::size_t i = 0;
  while (i < tpl.size()) {
    const std::size_t open = tpl.find('%', i);
    const std::size_t close = open == std::string::npos ? std::string::npos : tpl.find('%', open + 1);
    if (close == std::string::npos) break;
    auto it = values.find(tpl.substr(open + 1, close - open - 1));
    out.append(tpl, i, open - i);
    if (it == values.end()) {
      out.push_back('%');
      i = open + 1;
    } else {
      out.append(it->second);
      i = close + 1;
    }
  }
  out.append(tpl, std::min(i, tpl.size()));
  return out;
}

const OptionSpec& spec(const char* flag) {
  for (const auto& s : optionTable()) {
    if (std::string(s.flag) == flag) return s;
  }
  throw std::logic_error(std::string("no option spec for ") + flag);
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

std::string configHelp() {
  std::ostringstream out;
  out << "Usage: codex-sub-proxy [serve|login] [options]\n\n"
         "Commands:\n"
         "  serve (default)   run the supervisor and its workers in the foreground\n"
         "  login [--print]   device-code login; writes STATE_DIR/credentials.json\n\n"
         "General:\n"
         "  --config FILE     INI file (key = value, keys are the option names below)\n"
         "  --check-config    validate the configuration and exit (0 ok, 78 invalid)\n"
         "  --help, --version\n\n"
         "Options (precedence: flag > environment > config file > default):\n";
  for (const auto& s : optionTable()) {
    std::string left = s.cli ? std::string("  --") + s.flag : std::string("  (") + s.flag + ")";
    out << left << std::string(left.size() < 30 ? 30 - left.size() : 1, ' ') << s.env << "\n"
        << "        " << s.help << " [default: " << s.default_text << "]\n";
  }
  return out.str();
}

Result<LoadedConfig, ConfigError> loadConfig(const std::vector<std::string>& args_in, const EnvLookup& env) {
  LoadedConfig loaded;
  Invocation& inv = loaded.invocation;
  std::vector<std::string> args = args_in;
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    if (args[0] != "serve" && args[0] != "login") {
      return ConfigError{"unknown command '" + args[0] + "' (expected serve or login)"};
    }
    inv.command = args[0];
    args.erase(args.begin());
  }

  po::options_description cli_desc;
  po::options_description file_desc;
  cli_desc.add_options()("config", po::value<std::string>())("check-config", po::bool_switch())(
      "help,h", po::bool_switch())("version", po::bool_switch())("print", po::bool_switch());
  for (const auto& s : optionTable()) {
    if (s.cli) {
      if (s.is_switch) {
        cli_desc.add_options()(s.flag, po::value<std::string>()->implicit_value("true"));
      } else {
        cli_desc.add_options()(s.flag, po::value<std::string>());
      }
    }
    file_desc.add_options()(s.flag, po::value<std::string>());
  }

  po::variables_map cli;
  try {
    po::store(po::command_line_parser(args).options(cli_desc).run(), cli);
  } catch (const po::error& e) {
    return ConfigError{"command line: " + optionsErrorText(e) + " (see --help)"};
  }
  inv.check_config = cli["check-config"].as<bool>();
  inv.help = cli["help"].as<bool>();
  inv.version = cli["version"].as<bool>();
  inv.print = cli["print"].as<bool>();
  if (inv.print && inv.command != "login") return ConfigError{"--print only applies to 'login'"};
  // --help and --version answer whatever the rest of the configuration says.
  if (inv.help || inv.version) return loaded;

  Config& c = loaded.config;
  po::variables_map file;
  if (cli.count("config"))
    c.config_file = cli["config"].as<std::string>();
  else if (auto f = env("CONFIG_FILE"))
    c.config_file = *f;
  if (!c.config_file.empty()) {
    std::ifstream in(c.config_file);
    if (!in) return ConfigError{"cannot read config file " + c.config_file + " (--config / CONFIG_FILE)"};
    try {
      // allow_unregistered=false: an unknown key is an error, never silently ignored.
      po::store(po::parse_config_file(in, file_desc, false), file);
    } catch (const po::error& e) {
      return ConfigError{"config file " + c.config_file + ": " + optionsErrorText(e)};
    }
  }

  ValueSource values(cli, file, env, c.config_file);
  auto get = [&](const char* flag) { return values.get(spec(flag)); };
  // The configuration reaches the workers as JSON (config_codec), which carries UTF-8 text only: a
  // value that is not would pass here and then leave every worker unable to read its config.
  for (const auto& s : optionTable()) {
    if (auto v = values.get(s); v && !isValidUtf8(v->value)) return invalid(s, *v, "not valid UTF-8 text", false);
  }

  if (auto v = get("host")) {
    c.host = trim(v->value);
    if (c.host.empty()) return invalid(spec("host"), *v, "must not be empty");
  }
  if (auto v = get("port")) {
    auto n = parseInteger(trim(v->value));
    if (!n || *n < 1 || *n > 65535) return invalid(spec("port"), *v, "not a port number (1-65535)");
    c.port = static_cast<uint16_t>(*n);
  }
  if (auto v = get("api-key")) c.api_keys = splitList(v->value);
  if (auto v = get("allow-unauthenticated")) {
    auto b = parseBool(v->value);
    if (!b) return invalid(spec("allow-unauthenticated"), *v, "expected 1/0/true/false");
    c.allow_unauthenticated = *b;
  }
  if (auto v = get("refresh-token")) c.refresh_token = trim(v->value);
  if (auto v = get("access-token")) c.access_token = trim(v->value);
  if (auto v = get("expires-at"); v && !trim(v->value).empty()) {
    auto n = parseInteger(trim(v->value));
    if (!n || *n <= 0) return invalid(spec("expires-at"), *v, "expected unix seconds or milliseconds");
    c.expires_at_ms = *n > 9999999999LL ? *n : *n * 1000;
  }
  if (auto v = get("account-id")) c.account_id = trim(v->value);
  auto url_option = [&](const char* flag, std::string& target) -> std::optional<ConfigError> {
    if (auto v = get(flag)) {
      std::string url = trim(v->value);
      while (!url.empty() && url.back() == '/') url.pop_back();
      if (!isHttpUrl(url)) return invalid(spec(flag), *v, "expected an http:// or https:// URL");
      target = url;
    }
    return std::nullopt;
  };
  if (auto e = url_option("auth-base-url", c.auth_base_url)) return *e;
  if (auto e = url_option("codex-base-url", c.codex_base_url)) return *e;
  if (auto v = get("codex-auth-file")) c.codex_auth_file = trim(v->value);
  if (auto v = get("codex-responses-path")) {
    c.codex_responses_path = trim(v->value);
    if (c.codex_responses_path.empty() || c.codex_responses_path[0] != '/') {
      return invalid(spec("codex-responses-path"), *v, "must start with '/'");
    }
  }
  if (auto v = get("models")) {
    c.models = splitList(v->value);
    if (c.models.empty()) return invalid(spec("models"), *v, "needs at least one model id");
  }
  auto duration_option = [&](const char* flag, std::chrono::milliseconds min,
                             std::chrono::milliseconds& target) -> std::optional<ConfigError> {
    if (auto v = get(flag)) {
      auto d = parseDuration(v->value);
      if (!d) return invalid(spec(flag), *v, "expected a duration such as 30s, 500ms, 5m");
      if (*d < min) return invalid(spec(flag), *v, "must be at least " + std::to_string(min.count()) + " ms");
      target = *d;
    }
    return std::nullopt;
  };
  if (auto e = duration_option("upstream-connect-timeout", std::chrono::milliseconds(100), c.upstream_connect_timeout))
    return *e;
  if (auto e = duration_option("upstream-idle-timeout", std::chrono::milliseconds(1000), c.upstream_idle_timeout))
    return *e;
  if (auto e = duration_option("shutdown-grace", std::chrono::milliseconds(0), c.shutdown_grace)) return *e;
  if (auto e = duration_option("request-head-timeout", std::chrono::milliseconds(100), c.request_head_timeout))
    return *e;
  if (auto e = duration_option("keep-alive-timeout", std::chrono::milliseconds(100), c.keep_alive_timeout)) return *e;
  if (auto e = duration_option("request-body-timeout", std::chrono::milliseconds(100), c.request_body_timeout))
    return *e;
  if (auto e = duration_option("send-timeout", std::chrono::milliseconds(100), c.send_timeout)) return *e;
  if (auto e = duration_option("request-timeout", std::chrono::milliseconds(1000), c.request_timeout)) return *e;
  std::chrono::milliseconds margin = c.refresh_margin;
  if (auto e = duration_option("refresh-margin", std::chrono::milliseconds(0), margin)) return *e;
  c.refresh_margin = std::chrono::duration_cast<std::chrono::seconds>(margin);

  if (auto v = get("https-proxy")) {
    c.https_proxy = trim(v->value);
    if (!c.https_proxy.empty() && c.https_proxy.find("://") == std::string::npos)
      c.https_proxy = "http://" + c.https_proxy;
    if (!c.https_proxy.empty() && c.https_proxy.rfind("http://", 0) != 0) {
      return invalid(spec("https-proxy"), *v, "only http:// proxies (HTTP CONNECT) are supported", false);
    }
  }
  if (auto v = get("no-proxy")) c.no_proxy = trim(v->value);
  if (auto v = get("upstream-ca-file")) {
    c.upstream_ca_file = trim(v->value);
    if (!c.upstream_ca_file.empty() && !std::ifstream(c.upstream_ca_file)) {
      return invalid(spec("upstream-ca-file"), *v, "file cannot be read");
    }
  }
  if (auto v = get("originator")) {
    c.originator = trim(v->value);
    if (c.originator.empty()) return invalid(spec("originator"), *v, "must not be empty");
  }
  if (auto v = get("strict")) {
    auto b = parseBool(v->value);
    if (!b) return invalid(spec("strict"), *v, "expected 1/0/true/false");
    c.strict_params = *b;
  }
  if (auto v = get("dropped-params")) c.dropped_params = splitList(v->value);
  if (auto v = get("reasoning-compat")) {
    std::string mode = toLower(trim(v->value));
    if (mode == "think_tags") mode = "think-tags";
    if (mode != "none" && mode != "reasoning_content" && mode != "think-tags") {
      return invalid(spec("reasoning-compat"), *v, "expected none, reasoning_content or think-tags");
    }
    c.reasoning_compat = mode;
  }

  c.state_dir = defaultStateDir(env);
  if (auto v = get("state-dir")) {
    c.state_dir = trim(v->value);
    if (c.state_dir.empty()) return invalid(spec("state-dir"), *v, "must not be empty");
  }
  c.control_socket = defaultControlSocket(env, c.state_dir);
  if (auto v = get("control-socket")) c.control_socket = trim(v->value);
  if (!isValidUtf8(c.state_dir) || !isValidUtf8(c.control_socket)) {
    return ConfigError{
        "STATE_DIR (--state-dir) or CONTROL_SOCKET (--control-socket): the default from "
        "STATE_DIRECTORY, RUNTIME_DIRECTORY or HOME is not valid UTF-8 text; set them explicitly"};
  }
  if (c.control_socket.empty() || c.control_socket.size() > 107) {
    return ConfigError{"invalid CONTROL_SOCKET (--control-socket) '" + c.control_socket +
                       "': a unix socket path must be 1-107 bytes; set CONTROL_SOCKET to a shorter path"};
  }

  unsigned cpus = std::thread::hardware_concurrency();
  c.workers = cpus == 0 ? 1 : static_cast<int>(cpus);
  if (auto v = get("workers")) {
    auto n = parseInteger(trim(v->value));
    if (!n || *n < 1 || *n > 256) return invalid(spec("workers"), *v, "expected a number from 1 to 256");
    c.workers = static_cast<int>(*n);
  }
  if (auto v = get("worker-threads")) {
    auto n = parseInteger(trim(v->value));
    if (!n || *n < 4 || *n > 65536) return invalid(spec("worker-threads"), *v, "expected a number from 4 to 65536");
    c.worker_threads = static_cast<int>(*n);
  }
  if (auto v = get("max-body-bytes")) {
    auto n = parseBytes(v->value);
    if (!n || *n < 1024) return invalid(spec("max-body-bytes"), *v, "expected a size of at least 1KiB, e.g. 16MiB");
    c.max_body_bytes = *n;
  }
  auto size_option = [&](const char* flag, uint64_t min, uint64_t& target) -> std::optional<ConfigError> {
    if (auto v = get(flag)) {
      auto n = parseBytes(v->value);
      if (!n || *n < min) {
        return invalid(spec(flag), *v, "expected a size of at least " + std::to_string(min) + " bytes, e.g. 64KiB");
      }
      target = *n;
    }
    return std::nullopt;
  };
  if (auto e = size_option("request-body-min-rate", 1, c.request_body_min_rate)) return *e;
  if (auto e = size_option("max-header-bytes", 1024, c.max_header_bytes)) return *e;
  if (auto e = size_option("max-event-bytes", 64 * 1024, c.max_event_bytes)) return *e;
  auto count_option = [&](const char* flag, int64_t min, int64_t max, int& target) -> std::optional<ConfigError> {
    if (auto v = get(flag)) {
      auto n = parseInteger(trim(v->value));
      if (!n || *n < min || *n > max) {
        return invalid(spec(flag), *v, "expected a number from " + std::to_string(min) + " to " + std::to_string(max));
      }
      target = static_cast<int>(*n);
    }
    return std::nullopt;
  };
  if (auto e = count_option("max-connections", 16, 1048576, c.max_connections)) return *e;
  if (auto e = count_option("max-connections-per-client", 0, 1048576, c.max_connections_per_client)) return *e;
  if (auto v = get("log-level")) {
    std::string level = toLower(trim(v->value));
    if (level == "debug")
      c.log_level = LogLevel::Debug;
    else if (level == "info")
      c.log_level = LogLevel::Info;
    else if (level == "warn" || level == "warning")
      c.log_level = LogLevel::Warn;
    else if (level == "error")
      c.log_level = LogLevel::Error;
    else
      return invalid(spec("log-level"), *v, "expected debug, info, warn or error");
  }
  if (auto v = get("log-format")) {
    std::string format = toLower(trim(v->value));
    if (format == "json")
      c.log_format = LogFormat::Json;
    else if (format == "text")
      c.log_format = LogFormat::Text;
    else
      return invalid(spec("log-format"), *v, "expected json or text");
  }

  if (c.api_keys.empty() && !isLoopbackHost(c.host) && !c.allow_unauthenticated && inv.command == "serve") {
    return ConfigError{"PROXY_API_KEY (--api-key) is not set while HOST (--host) = '" + c.host +
                       "' is not a loopback address; set a caller key, bind to 127.0.0.1, "
                       "or set ALLOW_UNAUTHENTICATED=1 (--allow-unauthenticated)"};
  }
  return loaded;
}

}  // namespace cosp::common
