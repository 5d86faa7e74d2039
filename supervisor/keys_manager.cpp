#include "supervisor/keys_manager.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/ipc/channel.h"
#include "common/keys/keys_file.h"
#include "common/log/log.h"

namespace cosp::supervisor {

using common::keys::KeyUsage;
using common::keys::LimitsZone;
using common::keys::ServedKey;

KeysManager::KeysManager(std::string file, std::string state_dir)
    : file_(std::move(file)), state_dir_(std::move(state_dir)) {
  auto zone = LimitsZone::create();
  if (!zone) throw std::runtime_error("keys zone: " + zone.error());
  zone_ = std::move(zone).value();
  std::ifstream in(usagePath());
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    if (auto usage = common::keys::decodeUsageFile(text.str())) {
      for (KeyUsage& u : *usage) persisted_[u.name] = std::move(u);
    } else {
      common::logWarn("keys_usage_unreadable").field("path", usagePath());
    }
  }
}

std::optional<std::string> KeysManager::load() {
  common::keys::KeysFile file;
  if (!file_.empty()) {
    auto loaded = common::keys::loadKeysFile(file_);
    if (!loaded) return loaded.error();
    file = std::move(loaded).value();
  }
  std::vector<ServedKey> next;
  std::vector<bool> slot_used(LimitsZone::kSlots, false);
  std::vector<std::uint32_t> fresh;  // slots given to keys that had none
  for (auto& entry : file.keys) {
    auto same =
        std::find_if(served_.begin(), served_.end(), [&](const ServedKey& k) { return k.entry.name == entry.name; });
    if (same != served_.end()) {
      next.push_back(ServedKey{std::move(entry), same->slot, same->generation});
      slot_used[same->slot] = true;
      continue;
    }
    next.push_back(ServedKey{std::move(entry), 0, 0});
  }
  for (ServedKey& k : next) {
    if (k.generation != 0) continue;
    std::uint32_t slot = 0;
    while (slot < LimitsZone::kSlots && (slot_used[slot] || slot_used_[slot])) ++slot;
    if (slot == LimitsZone::kSlots) {
      // Slots of removed keys are reused only once no other slot is free.
      slot = 0;
      while (slot < LimitsZone::kSlots && slot_used[slot]) ++slot;
    }
    if (slot == LimitsZone::kSlots) return "more than " + std::to_string(LimitsZone::kSlots) + " keys in " + file_;
    slot_used[slot] = true;
    k.slot = slot;
    k.generation = next_generation_++;
    fresh.push_back(slot);
  }
  std::string message = common::keys::encodeKeysMessage(next);
  if (message.size() > common::Channel::kMaxMessageBytes)
    return file_ + ": " + std::to_string(next.size()) + " keys are more than one channel message carries (" +
           std::to_string(common::Channel::kMaxMessageBytes / 1024) + " KiB)";
  // Accepted: give the new keys their slots, with the accounting persisted under their names.
  for (ServedKey& k : next) {
    if (std::find(fresh.begin(), fresh.end(), k.slot) == fresh.end()) continue;
    zone_.resetSlot(k.slot, k.generation);
    if (auto it = persisted_.find(k.entry.name); it != persisted_.end()) {
      common::keys::restoreSlotUsage(zone_, k.slot, it->second);
      persisted_.erase(it);
    }
  }
  for (std::uint32_t i = 0; i < LimitsZone::kSlots; ++i) slot_used_[i] = slot_used_[i] || slot_used[i];
  // Slots of removed keys: free again (their generation changes when they are given away).
  for (const ServedKey& old : served_) {
    bool kept = std::any_of(next.begin(), next.end(), [&](const ServedKey& k) { return k.slot == old.slot; });
    if (!kept) slot_used_[old.slot] = false;
  }
  served_ = std::move(next);
  return std::nullopt;
}

std::uint32_t KeysManager::takeLeaseRow() {
  for (std::uint32_t row = 0; row < LimitsZone::kLeaseRows; ++row) {
    if (!row_used_[row]) {
      row_used_[row] = true;
      return row;
    }
  }
  // More live workers than rows cannot happen (WORKERS ≤ 256, two per slot during a reload).
  return LimitsZone::kLeaseRows - 1;
}

void KeysManager::releaseLeaseRow(std::uint32_t row) {
  zone_.reapLeases(row);
  row_used_[row % LimitsZone::kLeaseRows] = false;
}

std::vector<KeyUsage> KeysManager::usage() {
  std::vector<KeyUsage> out;
  for (const ServedKey& k : served_) out.push_back(common::keys::readSlotUsage(zone_, k.slot, k.entry.name));
  return out;
}

std::optional<std::string> KeysManager::saveUsage() {
  if (served_.empty() && persisted_.empty()) return std::nullopt;
  std::vector<KeyUsage> all = usage();
  // Keys of the usage file that the current keys file lacks are kept, in case they come back.
  for (const auto& [name, u] : persisted_) all.push_back(u);
  return common::keys::writeFileAtomically(usagePath(), common::keys::encodeUsageFile(all), 0600);
}

void KeysManager::onTick(std::chrono::steady_clock::time_point now) {
  if (now < next_save_) return;
  next_save_ = now + std::chrono::seconds(10);
  if (auto error = saveUsage()) common::logWarn("keys_usage_save_failed").field("error", *error);
}

void KeysManager::addMetrics(common::MetricSeries& series) {
  static constexpr const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (const KeyUsage& u : usage()) {
    const std::string key = "key=\"" + u.name + "\"";
    for (int i = 0; i < common::keys::KeySlot::kStatusClasses; ++i) {
      if (u.requests_by_class[i] == 0 && i != 1) continue;
      series[common::seriesKey("key_requests_total", key + ",status_class=\"" + kClasses[i] + "\"")] =
          u.requests_by_class[i];
    }
    for (const auto& [model, count] : u.requests_by_model)
      series[common::seriesKey("key_model_requests_total", key + ",model=\"" + model + "\"")] = count;
    series[common::seriesKey("key_tokens_total", key + ",kind=\"input\"")] = u.input_tokens;
    series[common::seriesKey("key_tokens_total", key + ",kind=\"cached\"")] = u.cached_tokens;
    series[common::seriesKey("key_tokens_total", key + ",kind=\"output\"")] = u.output_tokens;
    series[common::seriesKey("key_tokens_total", key + ",kind=\"reasoning\"")] = u.reasoning_tokens;
  }
}

std::string KeysManager::cacheRatioText() {
  std::vector<KeyUsage> all = usage();
  if (all.empty()) return {};
  std::string out =
      "# HELP codex_sub_proxy_key_cache_hit_ratio cached input tokens / input tokens, per caller key\n"
      "# TYPE codex_sub_proxy_key_cache_hit_ratio gauge\n";
  for (const KeyUsage& u : all) {
    char value[32];
    std::snprintf(
        value, sizeof value, "%.6g",
        u.input_tokens > 0 ? static_cast<double>(u.cached_tokens) / static_cast<double>(u.input_tokens) : 0.0);
    out += "codex_sub_proxy_key_cache_hit_ratio{key=\"" + u.name + "\"} " + value + "\n";
  }
  return out;
}

}  // namespace cosp::supervisor
