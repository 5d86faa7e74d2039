#pragma once

#include <optional>
#include <string>

#include "common/config/config.h"

namespace cosp::common {

// The "config" channel message for a worker. Credential seeds (refresh token, access token) are
// never included: workers only ever see the access token the supervisor pushes separately.
std::string encodeWorkerConfig(const Config& config);
std::optional<Config> decodeWorkerConfig(const std::string& json);

}  // namespace cosp::common
