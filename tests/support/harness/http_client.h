#pragma once

#include <map>
#include <string>
#include <vector>

namespace cosp::test {

struct HttpResult {
  bool connected = false;  // false: the TCP connect itself failed (refused, timeout)
  bool complete = false;   // a whole response was read
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string error;
  std::string header(const std::string& name) const;
};

// One request on a fresh connection (Connection: close), with a deadline for the whole exchange.
// Plain sockets, no client library, so the tests see exactly what went over the wire.
HttpResult httpRequest(int port, const std::string& method, const std::string& path,
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       const std::string& body = "", int timeout_ms = 10000);

// A free TCP port on 127.0.0.1 (bound and released; the kernel does not hand it out again soon).
int freePort();

}  // namespace cosp::test
