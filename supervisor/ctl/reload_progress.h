#pragma once

#include <cstdint>
#include <string>

#include "common/json/json_value.h"

namespace cosp::ctl {

// Where a reload started as generation `generation` stands, read from one `ctl status`
// document ("state", "generation", "last_reload"; supervisor/status_report.h). `ctl reload`
// polls this until it is no longer Waiting, so systemd's ExecReload= (and a person) gets the
// outcome instead of "reload started": a reload that fails (a new worker does not come up)
// fails the command.
struct ReloadProgress {
  enum class Kind { Waiting, Done, Failed };
  Kind kind = Kind::Waiting;
  std::string reason;  // when Failed
};

ReloadProgress reloadProgress(const common::JsonValue& status, uint64_t generation);

}  // namespace cosp::ctl
