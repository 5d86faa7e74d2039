#pragma once

#include <Poco/JSON/Object.h>

#include <string>

namespace cosp::supervisor {

// Parses a small JSON document (token endpoint answers, JWT payloads, credential files) that
// must be an object. Null on malformed JSON or another root type; never throws. The depth cap
// refuses pathological nesting from a hostile or broken server. Members are then read with the
// never-throwing accessors of common/json/json_util.h.
Poco::JSON::Object::Ptr parseJsonObject(const std::string& text);

}  // namespace cosp::supervisor
