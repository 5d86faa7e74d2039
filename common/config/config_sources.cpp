#include "common/config/config_sources.h"

#include <boost/program_options.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "common/util/strings.h"

namespace po = boost::program_options;

namespace cosp::common {

namespace {

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

}  // namespace

const std::vector<OptionSpec>& optionTable() {
  static const std::vector<OptionSpec> table = {
      {"host", "HOST", "0.0.0.0", "bind address"},
      {"port", "PORT", "3000", "bind port (1-65535)"},
      {"api-key", "PROXY_API_KEY", "unset", "caller key(s), comma-separated; unset = no caller auth"},
      {"allow-unauthenticated", "ALLOW_UNAUTHENTICATED", "false",
       "allow serving without a caller key on a non-loopback address", true, true},
      {"api-keys-file", "API_KEYS_FILE", "unset", "named caller keys with limits (JSON, mode 0600/0640)"},
      {"forward-quota-headers", "FORWARD_QUOTA_HEADERS", "true",
       "pass the backend's x-codex-* quota headers to callers"},
      {"refresh-token", "OPENAI_REFRESH_TOKEN", "unset", "seed OAuth refresh token (env/file only)", false},
      {"access-token", "OPENAI_ACCESS_TOKEN", "unset", "seed OAuth access token (env/file only)", false},
      {"expires-at", "OPENAI_EXPIRES_AT", "unset", "access token expiry, unix seconds or milliseconds"},
      {"account-id", "OPENAI_CHATGPT_ACCOUNT_ID", "from JWT", "ChatGPT-Account-ID header value"},
      {"auth-base-url", "OPENAI_AUTH_BASE_URL", "https://auth.openai.com", "OAuth issuer"},
      {"codex-auth-file", "CODEX_AUTH_FILE", "unset", "import tokens from a Codex CLI auth.json"},
      {"refresh-margin", "REFRESH_MARGIN", "5m", "refresh this long before the access token expires"},
      {"codex-base-url", "CODEX_BASE_URL", "https://chatgpt.com/backend-api/codex", "upstream base URL"},
      {"codex-responses-path", "CODEX_RESPONSES_PATH", "/responses", "upstream Responses path"},
      {"codex-usage-url", "CODEX_USAGE_URL", "CODEX_BASE_URL's last segment -> wham/usage",
       "the backend's quota endpoint"},
      {"models", "CODEX_MODELS", "the backend's catalog",
       "fixed list of model ids to serve instead of the backend's catalog"},
      {"upstream-connect-timeout", "UPSTREAM_CONNECT_TIMEOUT", "10s", "upstream connect timeout"},
      {"upstream-idle-timeout", "UPSTREAM_IDLE_TIMEOUT", "300s", "longest silence from the upstream"},
      {"https-proxy", "HTTPS_PROXY", "unset", "outbound proxy http://[user:pass@]host:port"},
      {"no-proxy", "NO_PROXY", "unset", "hosts that bypass the outbound proxy"},
      {"upstream-ca-file", "UPSTREAM_CA_FILE", "system store", "CA bundle for upstream TLS"},
      {"originator", "CODEX_ORIGINATOR", "codex_cli_rs", "originator header sent upstream"},
      {"codex-client-version", "CODEX_CLIENT_VERSION", "the Codex release last checked (see --version)",
       "Codex version presented upstream and asked of the model catalog"},
      {"credentials-wait", "CREDENTIALS_WAIT", "15s",
       "how long a model call waits for a refresh when no usable access token is held"},
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
      {"account-strategy", "ACCOUNT_STRATEGY", "sticky",
       "sticky | round-robin: how calls are spread over several accounts"},
      {"log-level", "LOG_LEVEL", "info", "debug | info | warn | error"},
      {"log-format", "LOG_FORMAT", "json", "json | text"},
  };
  return table;
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

const OptionSpec& optionSpec(const char* flag) {
  for (const auto& s : optionTable()) {
    if (std::string(s.flag) == flag) return s;
  }
  throw std::logic_error(std::string("no option spec for ") + flag);
}

Result<po::variables_map, ConfigError> parseCommandLine(const std::vector<std::string>& args) {
  po::options_description cli_desc;
  cli_desc.add_options()("config", po::value<std::string>())("check-config", po::bool_switch())(
      "help,h", po::bool_switch())("version", po::bool_switch())("print", po::bool_switch())(
      "account", po::value<std::string>())("import", po::value<std::string>());
  for (const auto& s : optionTable()) {
    if (!s.cli) continue;
    if (s.is_switch) {
      cli_desc.add_options()(s.flag, po::value<std::string>()->implicit_value("true"));
    } else {
      cli_desc.add_options()(s.flag, po::value<std::string>());
    }
  }
  po::variables_map cli;
  try {
    po::store(po::command_line_parser(args).options(cli_desc).run(), cli);
  } catch (const po::error& e) {
    return ConfigError{"command line: " + optionsErrorText(e) + " (see --help)"};
  }
  return cli;
}

Result<po::variables_map, ConfigError> parseConfigFile(const std::string& path) {
  po::options_description file_desc;
  for (const auto& s : optionTable()) file_desc.add_options()(s.flag, po::value<std::string>());
  std::ifstream in(path);
  if (!in) return ConfigError{"cannot read config file " + path + " (--config / CONFIG_FILE)"};
  po::variables_map file;
  try {
    // allow_unregistered=false: an unknown key is an error, never silently ignored.
    po::store(po::parse_config_file(in, file_desc, false), file);
  } catch (const po::error& e) {
    return ConfigError{"config file " + path + ": " + optionsErrorText(e)};
  }
  return file;
}

std::optional<RawValue> ValueSource::get(const OptionSpec& spec) const {
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

}  // namespace cosp::common
