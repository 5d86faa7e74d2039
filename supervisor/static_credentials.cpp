#include "supervisor/static_credentials.h"

#include <Poco/JSON/Object.h>

#include <chrono>
#include <sstream>

namespace cosp::supervisor {

namespace {
int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string maskAccountId(const std::string& id) {
  if (id.size() <= 8) return id.empty() ? "" : "****";
  return id.substr(0, 4) + "…" + id.substr(id.size() - 4);
}
}  // namespace

StaticCredentials::StaticCredentials(const common::Config& config) {
  current_.generation = 1;
  current_.access_token = config.access_token;
  current_.account_id = config.account_id;
  current_.expires_at_ms = config.expires_at_ms.value_or(0);
  current_.state = config.access_token.empty() ? "no_credentials" : "ok";
}

void StaticCredentials::reportUnauthorized(uint64_t generation) {
  if (generation != current_.generation) return;  // a stale report: a newer token is already out
  ++unauthorized_reports_;
  ++current_.generation;
  if (on_change) on_change();
}

void StaticCredentials::forceRefresh() {
  ++current_.generation;
  if (on_change) on_change();
}

std::string StaticCredentials::statusJson() const {
  Poco::JSON::Object o;
  o.set("state", current_.usable(nowMs()) ? current_.state : (current_.access_token.empty() ? "no_credentials" : "expired"));
  o.set("account_id", maskAccountId(current_.account_id));
  o.set("generation", static_cast<Poco::UInt64>(current_.generation));
  if (current_.expires_at_ms > 0) o.set("expires_in_s", static_cast<Poco::Int64>((current_.expires_at_ms - nowMs()) / 1000));
  o.set("refresh", "disabled");
  o.set("unauthorized_reports", static_cast<Poco::Int64>(unauthorized_reports_));
  std::ostringstream out;
  o.stringify(out);
  return out.str();
}

}  // namespace cosp::supervisor
