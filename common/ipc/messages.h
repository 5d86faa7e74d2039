#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/ipc/credential_state.h"

namespace cosp::common {

// Messages on the supervisor<->worker channel, one JSON object per SEQPACKET datagram, tagged by
// "type". Supervisor -> worker: config (always first), credentials, catalog (catalog_message.h),
// metrics, drain, stop.
// Worker -> supervisor: ready, heartbeat, unauthorized, refresh_needed.
namespace msg {
inline constexpr const char* kConfig = "config";
inline constexpr const char* kCredentials = "credentials";
inline constexpr const char* kCatalog = "catalog";
inline constexpr const char* kDrain = "drain";
inline constexpr const char* kStop = "stop";
inline constexpr const char* kMetrics = "metrics";
inline constexpr const char* kReady = "ready";
inline constexpr const char* kHeartbeat = "heartbeat";
inline constexpr const char* kUnauthorized = "unauthorized";
// A model call found no usable access token (expired, or not refreshed yet) and waits for the
// next generation: the supervisor refreshes now unless one is in flight or the last attempt is
// under a second old (README.md, "Credentials and login").
inline constexpr const char* kRefreshNeeded = "refresh_needed";
}  // namespace msg

// What a worker needs to call the upstream. Never carries the refresh token.
struct WorkerCredentials {
  uint64_t generation = 0;
  CredentialState state = CredentialState::NoCredentials;
  std::string access_token;
  std::string account_id;
  int64_t expires_at_ms = 0;  // 0 = unknown

  // Usable for an upstream call at `now_ms`: a token is held and not known to be expired.
  bool usable(int64_t now_ms) const;
};

// Counters a worker reports in each heartbeat; a name->value map so later capabilities add
// counters without a protocol change. Values are totals since the worker started, except the
// gauges (active_*), which are current values.
using WorkerCounters = std::map<std::string, int64_t>;

std::string encodeCredentials(const WorkerCredentials& credentials);
// nullopt when malformed, which includes a "state" this build does not know: the supervisor and
// its workers are always the same build, so that is a bug to refuse, not a newer peer to guess
// about. A missing state means no_credentials.
std::optional<WorkerCredentials> decodeCredentials(const std::string& json);

// What a worker last heard from the backend, for `ctl status`: the most recent response status,
// when the last success was, and the backend's x-codex-* rate-limit headers (names lower-cased).
struct UpstreamObservation {
  int last_status = 0;
  int64_t last_status_at = 0;   // unix seconds; 0 = never
  int64_t last_success_at = 0;  // unix seconds; 0 = never
  std::map<std::string, std::string> rate_limits;
  int64_t rate_limits_at = 0;  // unix seconds of the response they came with
};

struct Heartbeat {
  WorkerCounters counters;
  UpstreamObservation upstream;
};

std::string encodeHeartbeat(const WorkerCounters& counters, const UpstreamObservation& upstream = {});
std::optional<Heartbeat> decodeHeartbeat(const std::string& json);

// The aggregated /metrics text the supervisor pushes to every worker.
std::string encodeMetrics(const std::string& prometheus_text);
std::optional<std::string> decodeMetrics(const std::string& json);

std::string encodeDrain(int64_t grace_ms);
std::string encodeSimple(const char* type);
std::string encodeUnauthorized(uint64_t generation);
std::string encodeRefreshNeeded(uint64_t generation);

// The "type" of a message, or empty when it is not a JSON object with a string type.
std::string messageType(const std::string& json);
// An integer field of a message, when present.
std::optional<int64_t> messageInt(const std::string& json, const char* field);

}  // namespace cosp::common
