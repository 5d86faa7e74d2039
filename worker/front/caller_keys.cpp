#include "worker/front/caller_keys.h"

#include <ctime>

#include "common/json/json_parser.h"
#include "common/keys/key_policy.h"
#include "worker/exchange.h"
#include "worker/front/caller_auth.h"
#include "worker/translate/chat_common.h"
#include "worker/translate/effort_policy.h"

namespace cosp::worker {

namespace {

std::int64_t unixNow() { return static_cast<std::int64_t>(std::time(nullptr)); }

// Whether the zone slot still belongs to this key (a reload may have given it to another).
bool slotIsCurrent(common::keys::LimitsZone& zone, const common::keys::ServedKey& key) {
  return zone.slot(key.slot).generation.load(std::memory_order_acquire) == key.generation;
}

}  // namespace

void CallerKeys::set(std::vector<common::keys::ServedKey> keys) {
  auto table = std::make_shared<CallerKeysTable>();
  std::vector<common::keys::KeyEntry> entries;
  for (const auto& k : keys) entries.push_back(k.entry);
  table->table = common::keys::KeyTable(std::move(entries));
  table->keys = std::move(keys);
  std::lock_guard<std::mutex> lock(mutex_);
  table_ = std::move(table);
}

std::shared_ptr<const CallerKeysTable> CallerKeys::get() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return table_;
}

void CallerKeys::attachZone(common::keys::LimitsZone zone, std::uint32_t lease_row) {
  zone_ = std::move(zone);
  lease_row_ = lease_row;
}

std::optional<common::ApiError> authenticateCaller(Exchange& ex, const CallerAuth& env_keys) {
  const auto authorization = ex.request.header("Authorization");
  const auto x_api_key = ex.request.header("x-api-key");
  ex.hide_quota_headers = !ex.ctx.config.forward_quota_headers;
  if (env_keys.enabled()) {
    if (auto index = env_keys.matchIndex(authorization, x_api_key)) {
      ex.key_name = "env-" + std::to_string(*index + 1);
      return std::nullopt;
    }
  }
  const bool file_keys = !ex.ctx.config.api_keys_file.empty();
  if (file_keys) {
    auto table = ex.ctx.keys.get();
    std::optional<std::size_t> found;
    if (authorization) {
      if (auto bearer = bearerToken(*authorization)) found = table->table.find(*bearer);
    }
    if (!found && x_api_key) found = table->table.find(*x_api_key);
    if (found) {
      const common::keys::ServedKey& key = table->keys[*found];
      ex.key_name = key.entry.name;
      if (auto error = common::keys::keyStateError(key.entry, unixNow())) return error;
      ex.file_key = &key;
      ex.key_table = table;
      if (key.entry.forward_quota_headers) ex.hide_quota_headers = !*key.entry.forward_quota_headers;
      return std::nullopt;
    }
  }
  if (!env_keys.enabled() && !file_keys) return std::nullopt;  // no caller auth configured
  return common::ApiError::unauthorized(
      "Invalid or missing API key. Send it as 'Authorization: Bearer KEY' or 'x-api-key: KEY'.");
}

std::optional<common::ApiError> refreshFileKey(Exchange& ex) {
  if (ex.file_key == nullptr) return std::nullopt;
  std::shared_ptr<const CallerKeysTable> table = ex.ctx.keys.get();
  if (table == ex.key_table) return std::nullopt;
  const common::keys::KeyEntry& held = ex.file_key->entry;
  auto index = table->table.findByName(held.name);
  if (!index || table->keys[*index].entry.sha256 != held.sha256) {
    return common::ApiError::unauthorized("This API key was removed.");
  }
  ex.file_key = &table->keys[*index];  // entries and keys are in the same order (CallerKeys::set)
  ex.key_table = std::move(table);
  return std::nullopt;
}

common::keys::KeyDecision decideKeyModelCall(Exchange& ex, std::string_view model) {
  const common::keys::ServedKey* key = ex.file_key;
  common::keys::LimitsZone* zone = ex.ctx.keys.zone();
  if (key == nullptr || zone == nullptr || !slotIsCurrent(*zone, *key)) return {};
  const ModelSplit split = splitModelSuffix(model, ex.ctx.catalog.get().get());
  return common::keys::decideKeyCall(
      common::keys::KeyCall{&key->entry, model, split.base, unixNow(), key->slot, ex.ctx.keys.leaseRow()}, *zone);
}

const std::vector<std::string>& keyAccounts(const Exchange& ex) {
  static const std::vector<std::string> kEveryAccount;
  return ex.file_key != nullptr ? ex.file_key->entry.accounts : kEveryAccount;
}

std::optional<common::ApiError> admitModelCall(Exchange& ex) {
  common::keys::KeyDecision decision = decideKeyModelCall(ex, ex.model);
  for (const auto& [name, value] : decision.headers) ex.response.set(name, value);
  ex.key_lease = std::move(decision.lease);
  return decision.error;
}

void accountKeyRequest(Exchange& ex, int status, std::string_view model,
                       const std::optional<common::keys::TokenUsage>& usage) {
  const common::keys::ServedKey* key = ex.file_key;
  common::keys::LimitsZone* zone = ex.ctx.keys.zone();
  if (key == nullptr || zone == nullptr || !slotIsCurrent(*zone, *key)) return;
  const std::int64_t now = unixNow();
  zone->recordRequest(key->slot, now, status, model);
  if (usage) zone->addTokens(key->slot, now, *usage);
}

void accountKeyCall(Exchange& ex) {
  accountKeyRequest(ex, ex.status, ex.model, ex.usage);
  ex.key_lease.release();
}

namespace {

std::optional<common::keys::TokenUsage> keyUsage(const common::JsonValue& holder) {
  auto usage = detail::usageFromResponse(holder);
  if (!usage) return std::nullopt;
  return common::keys::TokenUsage{usage->input_tokens, usage->cached_tokens, usage->output_tokens,
                                  usage->reasoning_tokens};
}

}  // namespace

std::optional<common::keys::TokenUsage> usageOfTerminalEvent(std::string_view event_data) {
  auto parsed = common::parseJsonObject(event_data);
  if (!parsed) return std::nullopt;
  const common::JsonValue* response = common::jsonObjectValue(*parsed, "response");
  if (response == nullptr) return std::nullopt;
  return keyUsage(*response);
}

std::optional<common::keys::TokenUsage> usageOfJsonAnswer(std::string_view body) {
  auto parsed = common::parseJsonObject(body);
  if (!parsed) return std::nullopt;
  return keyUsage(*parsed);
}

void captureUsage(Exchange& ex, std::string_view event_data) {
  if (auto usage = usageOfTerminalEvent(event_data)) ex.usage = usage;
}

}  // namespace cosp::worker
