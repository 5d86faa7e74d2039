#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace cosp::common {

// The control protocol: the client connects to the supervisor's AF_UNIX stream socket, writes one
// JSON request line {"command":"status"} and reads one JSON reply line
// {"ok":true,"data":{...}} or {"ok":false,"error":"..."}; then the supervisor closes.
struct ControlReply {
  enum class Kind { Reply, NotRunning, Failed } kind = Kind::Failed;
  std::string body;   // the reply line (JSON) when kind == Reply
  std::string error;  // what went wrong otherwise
};

ControlReply controlRequest(const std::string& socket_path, const std::string& command,
                            std::chrono::milliseconds timeout);
// The same with more string members in the request ({"command":…,"action":…,"name":…}).
ControlReply controlRequest(const std::string& socket_path, const std::string& command,
                            const std::vector<std::pair<std::string, std::string>>& members,
                            std::chrono::milliseconds timeout);

}  // namespace cosp::common
