#pragma once

// Per-connection session ids of the load tool (bench/run sets them when the proxy serves several
// accounts): the proxy's sticky account choice hashes the session id, so a load whose requests
// all look like one conversation would land on one account and never exercise the choice.

#include <string>

namespace cosp::bench {

// The header line of connection `index`, CRLF included. The same index gives the same id in every
// group, so two proxies compared side by side see the same sessions.
inline std::string sessionIdHeader(int index) { return "session-id: bench-s" + std::to_string(index) + "\r\n"; }

// `request` (a complete HTTP/1.1 request) with connection `index`'s session-id header right after
// its request line.
inline std::string withSessionId(const std::string& request, int index) {
  const std::size_t eol = request.find("\r\n");
  if (eol == std::string::npos) return request;
  return request.substr(0, eol + 2) + sessionIdHeader(index) + request.substr(eol + 2);
}

}  // namespace cosp::bench
