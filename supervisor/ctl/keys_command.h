#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cosp::ctl {

// `codex-sub-proxy-ctl keys …` (SPEC §10): add, list, disable, enable, remove caller keys of
// API_KEYS_FILE. `args` are the words after "keys"; `socket_path` resolves the control socket
// (only called when the proxy must be asked); `keys_file` and `state_dir` come from --keys-file /
// $API_KEYS_FILE / the configuration. Returns the exit code. The key text of `add` goes to stdout
// once and nowhere else.
struct KeysContext {
  std::string keys_file;
  std::string state_dir;
  std::function<std::string()> socket_path;
};

int runKeysCommand(const std::vector<std::string>& args, const KeysContext& context);

extern const char* kKeysUsage;

}  // namespace cosp::ctl
