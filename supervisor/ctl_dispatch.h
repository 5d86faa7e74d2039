#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/json/json_value.h"

namespace cosp::supervisor {

// What starting a reload came to. A rejected reload (the file does not load, the new address
// cannot be bound, a reload is already running, the proxy is stopping) changed nothing; a
// started one runs on as generation `generation` and ends in the status document's
// "last_reload" (ok or failed), which `ctl reload` waits for.
struct ReloadStart {
  bool started = false;
  uint64_t generation = 0;  // when started: the generation the new workers get
  std::string rejected;     // when not started: why, one line
};

// What the control socket's commands do; each is called on the supervisor's loop thread and
// must not block.
struct ControlCommands {
  std::function<common::JsonValue()> status;  // the `ctl status` document
  std::function<ReloadStart()> reload;        // like SIGHUP
  std::function<void()> stop;                 // like SIGTERM
  std::function<void()> refresh;              // refresh the upstream credentials now
  // Re-read API_KEYS_FILE (`ctl keys …` after a change); the error when the file is refused.
  std::function<std::optional<std::string>()> keys_reload = nullptr;
  std::function<common::JsonValue()> keys_usage = nullptr;  // per-key accounting for `ctl keys list`
  std::function<common::JsonValue()> accounts = {};         // `ctl accounts`: the accounts array
  // `ctl accounts pause|resume NAME`: an error text (unknown account, cannot persist) or nullopt.
  std::function<std::optional<std::string>(const std::string& action, const std::string& name)> account_action = {};
};

// One request line of the control protocol (common/ipc/control_client.h), {"command":"..."},
// runs its command and returns the reply line: {"ok":true,"data":{...}} or
// {"ok":false,"error":"..."} for a malformed request, an unknown command or a rejected reload.
// {"command":"accounts"} answers {"ok":true,"data":{"accounts":[...]}}; with "action":"pause" or
// "resume" and "name" it pauses or resumes that account and answers the list the same way.
// A started reload answers {"ok":true,"data":{"generation":N,"message":"reload started"}}.
std::string dispatchControl(std::string_view request, const ControlCommands& commands);

}  // namespace cosp::supervisor
