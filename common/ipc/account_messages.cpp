#include "common/ipc/account_messages.h"

#include <algorithm>

#include "common/ipc/message_fields.h"
#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"

// Members are written in alphabetical order, as every channel message is (messages.cpp).
namespace cosp::common {

namespace {

using message_fields::readBool;
using message_fields::readInt;
using message_fields::readOptional;
using message_fields::readString;

// SPEC §9: [a-z0-9_-]{1,32}. A name from the channel is checked because it becomes a map key, a
// metric label and a log field.
bool plausibleAccountName(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

bool readAccount(const JsonValue& o, std::string& out) {
  return readString(o, "account", kDefaultAccountName, out) && plausibleAccountName(out);
}

bool readPercent(const JsonValue& o, const char* key, int& out) {
  int64_t v = -1;
  if (!readOptional<int64_t>(o, key, -1, v, [](const JsonValue& j) { return j.getInt64(); })) return false;
  if (v < -1 || v > 1000) return false;
  out = static_cast<int>(v);
  return true;
}

std::string encodeGenerationReport(const char* type, const std::string& account, uint64_t generation) {
  JsonWriter w;
  w.beginObject();
  if (account != kDefaultAccountName) w.member("account", account);
  w.member("generation", generation).member("type", type).endObject();
  return w.take();
}

}  // namespace

std::string encodeAccountRoster(const AccountRoster& roster) {
  std::vector<const AccountRosterEntry*> sorted;
  for (const auto& e : roster.accounts) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
  JsonWriter w;
  w.beginObject().key("accounts").beginArray();
  for (const AccountRosterEntry* e : sorted) {
    w.beginObject()
        .member("cooling_until_ms", e->cooling_until_ms)
        .member("logged_in", e->logged_in)
        .member("name", e->name)
        .member("paused", e->paused)
        .member("primary_used_percent", static_cast<int64_t>(e->primary_used_percent))
        .member("secondary_used_percent", static_cast<int64_t>(e->secondary_used_percent))
        .endObject();
  }
  w.endArray().member("strategy", roster.strategy).member("type", msg::kAccounts).endObject();
  return w.take();
}

std::optional<AccountRoster> decodeAccountRoster(const std::string& json) {
  auto o = parseJsonObject(json);
  if (!o) return std::nullopt;
  AccountRoster roster;
  if (!readString(*o, "strategy", "sticky", roster.strategy)) return std::nullopt;
  const JsonValue* list = o->find("accounts");
  if (list == nullptr) return roster;
  const JsonArray* items = list->getArray();
  if (items == nullptr) return std::nullopt;
  for (const JsonValue& item : *items) {
    if (item.getObject() == nullptr) return std::nullopt;
    AccountRosterEntry e;
    if (!readString(item, "name", "", e.name) || !plausibleAccountName(e.name) ||
        !readBool(item, "logged_in", false, e.logged_in) || !readBool(item, "paused", false, e.paused) ||
        !readInt(item, "cooling_until_ms", e.cooling_until_ms) ||
        !readPercent(item, "primary_used_percent", e.primary_used_percent) ||
        !readPercent(item, "secondary_used_percent", e.secondary_used_percent)) {
      return std::nullopt;
    }
    roster.accounts.push_back(std::move(e));
  }
  std::sort(roster.accounts.begin(), roster.accounts.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return roster;
}

std::string encodeAccountCredentials(const std::string& account, const WorkerCredentials& credentials) {
  std::string plain = encodeCredentials(credentials);
  if (account == kDefaultAccountName) return plain;  // byte-identical to the one-account message
  // "access_token" < "account" < "account_id": the member goes right after the first one.
  JsonWriter w;
  w.beginObject().member("account", account).endObject();
  std::string member = w.take();  // {"account":"…"}
  member = member.substr(1, member.size() - 2);
  const size_t after_first = plain.find(",\"account_id\"");
  if (after_first == std::string::npos) return plain;  // cannot happen: encodeCredentials writes it
  return plain.substr(0, after_first) + "," + member + plain.substr(after_first);
}

std::optional<AccountCredentials> decodeAccountCredentials(const std::string& json) {
  auto creds = decodeCredentials(json);
  if (!creds) return std::nullopt;
  auto o = parseJsonObject(json);
  AccountCredentials out;
  if (!o || !readAccount(*o, out.account)) return std::nullopt;
  out.credentials = std::move(*creds);
  return out;
}

std::string encodeAccountUnauthorized(const std::string& account, uint64_t generation) {
  return encodeGenerationReport(msg::kUnauthorized, account, generation);
}

std::string encodeAccountRefreshNeeded(const std::string& account, uint64_t generation) {
  return encodeGenerationReport(msg::kRefreshNeeded, account, generation);
}

std::optional<AccountGenerationReport> decodeAccountGenerationReport(const std::string& json) {
  auto o = parseJsonObject(json);
  if (!o) return std::nullopt;
  AccountGenerationReport r;
  const JsonValue* generation = o->find("generation");
  if (generation == nullptr) return std::nullopt;
  auto g = generation->getUInt64();
  if (!g || !readAccount(*o, r.account)) return std::nullopt;
  r.generation = *g;
  return r;
}

const char* accountFailureKindName(AccountFailureKind kind) {
  switch (kind) {
    case AccountFailureKind::UsageLimit:
      return "usage_limit";
    case AccountFailureKind::UsageNotIncluded:
      return "usage_not_included";
    case AccountFailureKind::Unauthorized:
      return "unauthorized";
    case AccountFailureKind::Deactivated:
      return "deactivated";
  }
  return "usage_limit";
}

std::optional<AccountFailureKind> parseAccountFailureKind(const std::string& name) {
  for (auto kind : {AccountFailureKind::UsageLimit, AccountFailureKind::UsageNotIncluded,
                    AccountFailureKind::Unauthorized, AccountFailureKind::Deactivated}) {
    if (name == accountFailureKindName(kind)) return kind;
  }
  return std::nullopt;
}

std::string encodeAccountFailed(const AccountFailure& f) {
  JsonWriter w;
  w.beginObject()
      .member("account", f.account)
      .member("cooling_until_ms", f.cooling_until_ms)
      .member("kind", accountFailureKindName(f.kind))
      .member("type", msg::kAccountFailed)
      .endObject();
  return w.take();
}

std::optional<AccountFailure> decodeAccountFailed(const std::string& json) {
  auto o = parseJsonObject(json);
  if (!o) return std::nullopt;
  AccountFailure f;
  std::string kind;
  if (o->find("account") == nullptr || !readAccount(*o, f.account) || !readString(*o, "kind", "", kind) ||
      !readInt(*o, "cooling_until_ms", f.cooling_until_ms) || f.cooling_until_ms < 0) {
    return std::nullopt;
  }
  auto known = parseAccountFailureKind(kind);
  if (!known) return std::nullopt;
  f.kind = *known;
  return f;
}

std::string encodeHeartbeatWithAccounts(const WorkerCounters& counters, const UpstreamObservation& upstream,
                                        const AccountObservations& accounts) {
  std::string plain = encodeHeartbeat(counters, upstream);
  if (accounts.empty()) return plain;
  JsonWriter w;
  w.beginObject();
  for (const auto& [name, seen] : accounts) {  // a std::map: sorted
    w.key(name).beginObject().member("failovers", seen.failovers).key("rate_limits").beginObject();
    for (const auto& [header, value] : seen.rate_limits) w.member(header, value);
    w.endObject().member("rate_limits_at_ms", seen.rate_limits_at_ms).member("requests", seen.requests).endObject();
  }
  w.endObject();
  // "accounts" sorts before "counters", the heartbeat's first member: it goes right after '{'.
  return "{\"accounts\":" + w.take() + "," + plain.substr(1);
}

std::optional<AccountObservations> decodeHeartbeatAccounts(const std::string& json) {
  auto o = parseJsonObject(json);
  if (!o) return std::nullopt;
  AccountObservations out;
  const JsonValue* accounts = o->find("accounts");
  if (accounts == nullptr) return out;
  const JsonObject* members = accounts->getObject();
  if (members == nullptr) return std::nullopt;
  for (const JsonMember& m : *members) {
    if (!plausibleAccountName(m.key) || m.value.getObject() == nullptr) return std::nullopt;
    AccountObservation seen;
    if (!readInt(m.value, "requests", seen.requests) || !readInt(m.value, "failovers", seen.failovers) ||
        !readInt(m.value, "rate_limits_at_ms", seen.rate_limits_at_ms)) {
      return std::nullopt;
    }
    if (const JsonValue* limits = m.value.find("rate_limits")) {
      const JsonObject* headers = limits->getObject();
      if (headers == nullptr) return std::nullopt;
      for (const JsonMember& h : *headers) {
        auto value = h.value.stringView();
        if (!value) return std::nullopt;
        seen.rate_limits[h.key] = std::string(*value);
      }
    }
    out[m.key] = std::move(seen);
  }
  return out;
}

}  // namespace cosp::common
