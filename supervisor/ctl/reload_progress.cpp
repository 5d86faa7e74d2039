#include "supervisor/ctl/reload_progress.h"

namespace cosp::ctl {

ReloadProgress reloadProgress(const common::JsonValue& status, uint64_t generation) {
  using Kind = ReloadProgress::Kind;
  const std::string state(common::jsonString(status, "state").value_or(""));
  if (state == "stopping") return {Kind::Failed, "the proxy is stopping"};
  const common::JsonValue* last = common::jsonObjectValue(status, "last_reload");
  const int64_t last_generation = last != nullptr ? common::jsonInt(*last, "generation").value_or(0) : 0;
  if (last_generation >= static_cast<int64_t>(generation)) {
    // A newer reload may have ended already (someone else reloaded meanwhile); its outcome is
    // the configuration now in force, so it answers for ours too.
    if (common::jsonBool(*last, "ok").value_or(false)) return {Kind::Done, ""};
    return {Kind::Failed, std::string(common::jsonString(*last, "reason").value_or("the reload failed"))};
  }
  // The supervisor restarted meanwhile (generation counting starts again below ours) or the
  // reload is still replacing workers: keep waiting, the caller's deadline bounds it.
  return {Kind::Waiting, ""};
}

}  // namespace cosp::ctl
