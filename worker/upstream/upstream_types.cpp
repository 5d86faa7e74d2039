#include "worker/upstream/upstream_types.h"

#include "common/util/http_syntax.h"

namespace cosp::worker {

bool headerNameEquals(std::string_view a, std::string_view b) { return common::equalsIgnoreCase(a, b); }

std::optional<std::string> UpstreamResponseHead::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (headerNameEquals(k, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string> UpstreamResponseHead::headerValues(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (headerNameEquals(k, name)) out.push_back(v);
  }
  return out;
}

const char* toString(UpstreamFailure::Kind kind) {
  switch (kind) {
    case UpstreamFailure::Kind::InvalidRequest:
      return "invalid_request";
    case UpstreamFailure::Kind::ConnectFailed:
      return "connect_failed";
    case UpstreamFailure::Kind::ConnectTimeout:
      return "connect_timeout";
    case UpstreamFailure::Kind::ProxyFailed:
      return "proxy_failed";
    case UpstreamFailure::Kind::TlsFailed:
      return "tls_failed";
    case UpstreamFailure::Kind::SendFailed:
      return "send_failed";
    case UpstreamFailure::Kind::ResetBeforeHead:
      return "reset_before_head";
    case UpstreamFailure::Kind::HeadTimeout:
      return "head_timeout";
    case UpstreamFailure::Kind::BadResponse:
      return "bad_response";
    case UpstreamFailure::Kind::Cancelled:
      return "cancelled";
  }
  return "unknown";
}

const char* toString(ReadError::Kind kind) {
  switch (kind) {
    case ReadError::Kind::None:
      return "none";
    case ReadError::Kind::IdleTimeout:
      return "idle_timeout";
    case ReadError::Kind::ClosedMidBody:
      return "closed_mid_body";
    case ReadError::Kind::Protocol:
      return "protocol";
    case ReadError::Kind::Io:
      return "io";
    case ReadError::Kind::Aborted:
      return "aborted";
  }
  return "unknown";
}

}  // namespace cosp::worker
