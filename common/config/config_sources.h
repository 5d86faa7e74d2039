#pragma once

// Where option values come from, for config_loader.cpp only: the option table (and the --help
// text made from it), the command line and INI file as Boost.ProgramOptions parses them, and the
// environment, with their precedence. The typed parsing and validation of each value stay in
// config_loader.cpp.

#include <boost/program_options/variables_map.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config_loader.h"

namespace cosp::common {

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

const std::vector<OptionSpec>& optionTable();

// The row of `flag`; a flag missing from the table is a programming error (std::logic_error).
const OptionSpec& optionSpec(const char* flag);

// The command line after the command word: every option of the table that may be given there,
// plus --config, --check-config, --help, --version and --print.
Result<boost::program_options::variables_map, ConfigError> parseCommandLine(const std::vector<std::string>& args);

// The INI file at `path`; an unknown key is an error.
Result<boost::program_options::variables_map, ConfigError> parseConfigFile(const std::string& path);

// Where a value came from, for error messages.
struct RawValue {
  std::string value;
  std::string source;  // "environment", "command line", "config file FILE"
};

// The value of an option by precedence: flag > environment > config file.
class ValueSource {
 public:
  ValueSource(const boost::program_options::variables_map& cli, const boost::program_options::variables_map& file,
              const EnvLookup& env, std::string file_name)
      : cli_(cli), file_(file), env_(env), file_name_(std::move(file_name)) {}

  std::optional<RawValue> get(const OptionSpec& spec) const;

 private:
  const boost::program_options::variables_map& cli_;
  const boost::program_options::variables_map& file_;
  const EnvLookup& env_;
  std::string file_name_;
};

}  // namespace cosp::common
