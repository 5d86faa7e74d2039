#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/keys/keys_file.h"
#include "common/keys/limits_zone.h"

namespace cosp::common::keys {

inline constexpr const char* kKeysMessageType = "keys";

// A file key as a worker holds it: the entry (digest and limits, never the key) and the zone slot
// the supervisor gave it, valid while the slot's generation is `generation`.
struct ServedKey {
  KeyEntry entry;
  std::uint32_t slot = 0;
  std::int64_t generation = 0;
};

// The supervisor → worker keys table: {"type":"keys","file":"<keys file JSON>","slots":[[s,g],…]}
// (the file text in the order of `slots`), so the worker reuses the strict file parser.
std::string encodeKeysMessage(const std::vector<ServedKey>& keys);
std::optional<std::vector<ServedKey>> decodeKeysMessage(const std::string& message);

}  // namespace cosp::common::keys
