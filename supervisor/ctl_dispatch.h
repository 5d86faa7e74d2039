#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/json/json_value.h"

namespace cosp::supervisor {

// What the control socket's commands do; each is called on the supervisor's loop thread and
// must not block.
struct ControlCommands {
  std::function<common::JsonValue()> status;  // the `ctl status` document
  std::function<void()> reload;               // like SIGHUP
  std::function<void()> stop;                 // like SIGTERM
  std::function<void()> refresh;              // refresh the upstream credentials now
};

// One request line of the control protocol (common/ipc/control_client.h), {"command":"..."},
// runs its command and returns the reply line: {"ok":true,"data":{...}} or
// {"ok":false,"error":"..."} for a malformed request or an unknown command.
std::string dispatchControl(std::string_view request, const ControlCommands& commands);

}  // namespace cosp::supervisor
