#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cosp::worker {

// The client's x-request-id when it is sane (1-128 chars of [A-Za-z0-9._:-]), so ids correlate
// across hops without letting a client inject log syntax; otherwise a fresh random id.
std::string chooseRequestId(std::optional<std::string_view> from_client);

// A fresh "req_" + 24 hex chars id.
std::string newRequestId();

bool isSaneRequestId(std::string_view id);

}  // namespace cosp::worker
