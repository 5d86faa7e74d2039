#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/util/result.h"

namespace cosp::common {

// A configuration problem: the supervisor prints `message` on one line and exits 78 (EX_CONFIG).
struct ConfigError {
  std::string message;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
EnvLookup processEnv();

// Options that are not configuration but steer the program.
struct Invocation {
  std::string command = "serve";  // serve | login
  bool check_config = false;
  bool help = false;
  bool version = false;
  bool print = false;       // login --print
  std::string account;      // login --account NAME; empty = the account `default`
  std::string import_file;  // login --import FILE (a Codex CLI auth.json)
};

struct LoadedConfig {
  Config config;
  Invocation invocation;
};

// Parse `args` (without the program name) + environment + the optional INI file named by
// --config / CONFIG_FILE, with the precedence flags > environment > file > defaults, and validate.
// Every failure names the option both ways (env name and flag), e.g. "PORT (--port)".
Result<LoadedConfig, ConfigError> loadConfig(const std::vector<std::string>& args, const EnvLookup& env);

// The --help text (every option with its environment name and default).
std::string configHelp();

// Default locations, exposed for codex-sub-proxy-ctl which must find the same control socket.
std::string defaultStateDir(const EnvLookup& env);
std::string defaultControlSocket(const EnvLookup& env, const std::string& state_dir);

}  // namespace cosp::common
