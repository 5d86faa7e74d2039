#include "supervisor/ctl/keys_command.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "common/ipc/control_client.h"
#include "common/json/json_parser.h"
#include "common/json/json_writer.h"
#include "common/keys/keys_file.h"
#include "common/keys/usage_snapshot.h"
#include "common/os/exit_codes.h"

namespace cosp::ctl {

const char* kKeysUsage =
    "Usage: codex-sub-proxy-ctl [--keys-file FILE] keys COMMAND\n\n"
    "  keys add NAME [--rpm N] [--tpm N] [--daily-tokens N] [--monthly-tokens N] [--max-concurrent N]\n"
    "           [--models a,b] [--accounts a,b] [--expires-at RFC3339] [--no-forward-quota-headers]\n"
    "                         make a key, print it once, write its SHA-256 to the file\n"
    "  keys list [--json]     limits and usage (today, this month, last use)\n"
    "  keys disable NAME | enable NAME | remove NAME\n\n"
    "The file is --keys-file, else $API_KEYS_FILE, else api-keys-file of --config. The running proxy\n"
    "re-reads it after each change.\n";

namespace {

using common::keys::KeyEntry;
using common::keys::KeysFile;
using common::keys::KeyUsage;

int usageError(const std::string& what) {
  std::fprintf(stderr, "codex-sub-proxy-ctl: %s\n\n%s", what.c_str(), kKeysUsage);
  return common::kCtlExitUsage;
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The keys file, or an empty one when it does not exist yet (for `add`).
common::Result<KeysFile, std::string> readKeys(const std::string& path, bool may_be_missing) {
  if (may_be_missing && !fileExists(path)) return KeysFile{};
  return common::keys::loadKeysFile(path);
}

int writeKeys(const std::string& path, const KeysFile& file) {
  // Keep the file's mode (0600 or 0640, which loadKeysFile checked); a new file is 0600.
  unsigned mode = 0600;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) mode = st.st_mode & 0777;
  if (auto error = common::keys::writeFileAtomically(path, common::keys::serializeKeysFile(file), mode)) {
    std::fprintf(stderr, "codex-sub-proxy-ctl: %s\n", error->c_str());
    return common::kCtlExitDegraded;
  }
  return common::kCtlExitHealthy;
}

// Asks the running proxy to re-read the file; a proxy that is not running reads it at start.
int askReload(const KeysContext& context) {
  auto reply = common::controlRequest(context.socket_path(), "keys-reload", std::chrono::seconds(5));
  if (reply.kind == common::ControlReply::Kind::NotRunning) {
    std::fprintf(stderr, "codex-sub-proxy-ctl: the proxy is not running; it reads the keys when it starts\n");
    return common::kCtlExitHealthy;
  }
  if (reply.kind != common::ControlReply::Kind::Reply) {
    std::fprintf(stderr, "codex-sub-proxy-ctl: keys reload: %s\n", reply.error.c_str());
    return common::kCtlExitDegraded;
  }
  auto object = common::parseJsonObject(reply.body);
  if (!object || !common::jsonBool(*object, "ok").value_or(false)) {
    std::string error = object ? common::jsonStringOr(*object, "error", "refused") : "malformed reply";
    std::fprintf(stderr, "codex-sub-proxy-ctl: keys reload: %s\n", error.c_str());
    return common::kCtlExitDegraded;
  }
  return common::kCtlExitHealthy;
}

std::optional<std::int64_t> count(const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(text);
}

std::vector<std::string> splitComma(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

int addKey(const std::vector<std::string>& args, const KeysContext& context) {
  if (args.size() < 2) return usageError("keys add needs a NAME");
  KeyEntry entry;
  entry.name = args[1];
  if (!common::keys::validKeyName(entry.name)) return usageError("a key name must match [A-Za-z0-9_.-]{1,64}");
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--no-forward-quota-headers") {
      entry.forward_quota_headers = false;
      continue;
    }
    if (i + 1 >= args.size()) return usageError(flag + " needs a value");
    const std::string& value = args[++i];
    std::optional<std::int64_t>* limit = flag == "--rpm"              ? &entry.rpm
                                         : flag == "--tpm"            ? &entry.tpm
                                         : flag == "--daily-tokens"   ? &entry.daily_tokens
                                         : flag == "--monthly-tokens" ? &entry.monthly_tokens
                                         : flag == "--max-concurrent" ? &entry.max_concurrent
                                                                      : nullptr;
    if (limit != nullptr) {
      *limit = count(value);
      if (!*limit) return usageError(flag + " needs a non-negative integer");
    } else if (flag == "--models") {
      entry.models = splitComma(value);
    } else if (flag == "--accounts") {
      entry.accounts = splitComma(value);
    } else if (flag == "--expires-at") {
      entry.expires_at = common::keys::parseRfc3339(value);
      if (!entry.expires_at) return usageError("--expires-at needs an RFC 3339 date-time such as 2026-12-31T23:59:59Z");
      entry.expires_at_text = value;
    } else {
      return usageError("unexpected argument '" + flag + "'");
    }
  }
  auto file = readKeys(context.keys_file, true);
  if (!file) {
    std::fprintf(stderr, "codex-sub-proxy-ctl: %s\n", file.error().c_str());
    return common::kCtlExitDegraded;
  }
  for (const KeyEntry& k : file->keys)
    if (k.name == entry.name) {
      std::fprintf(stderr, "codex-sub-proxy-ctl: a key named '%s' exists already\n", entry.name.c_str());
      return common::kCtlExitDegraded;
    }
  std::string key = common::keys::generateKey();
  if (key.empty()) {
    std::fprintf(stderr, "codex-sub-proxy-ctl: the random generator failed\n");
    return common::kCtlExitDegraded;
  }
  entry.sha256 = common::keys::sha256(key);
  file->keys.push_back(entry);
  if (int rc = writeKeys(context.keys_file, *file); rc != common::kCtlExitHealthy) return rc;
  std::cout << key << std::endl;
  std::fprintf(stderr, "key '%s' added to %s; the key above is shown only this once\n", entry.name.c_str(),
               context.keys_file.c_str());
  return askReload(context);
}

int changeKey(const std::vector<std::string>& args, const KeysContext& context) {
  if (args.size() != 2) return usageError("keys " + args[0] + " needs exactly one NAME");
  auto file = readKeys(context.keys_file, false);
  if (!file) {
    std::fprintf(stderr, "codex-sub-proxy-ctl: %s\n", file.error().c_str());
    return common::kCtlExitDegraded;
  }
  auto it = std::find_if(file->keys.begin(), file->keys.end(), [&](const KeyEntry& k) { return k.name == args[1]; });
  if (it == file->keys.end()) {
    std::fprintf(stderr, "codex-sub-proxy-ctl: no key named '%s' in %s\n", args[1].c_str(), context.keys_file.c_str());
    return common::kCtlExitDegraded;
  }
  if (args[0] == "remove")
    file->keys.erase(it);
  else
    it->disabled = args[0] == "disable";
  if (int rc = writeKeys(context.keys_file, *file); rc != common::kCtlExitHealthy) return rc;
  std::cout << "key '" << args[1] << "' " << (args[0] == "remove" ? "removed" : args[0] + "d") << "\n";
  return askReload(context);
}

// Usage from the running proxy, else from STATE_DIR/keys_usage.json; `source` says which.
std::vector<KeyUsage> readUsage(const KeysContext& context, std::string& source) {
  auto reply = common::controlRequest(context.socket_path(), "keys-usage", std::chrono::seconds(5));
  if (reply.kind == common::ControlReply::Kind::Reply) {
    auto object = common::parseJsonObject(reply.body);
    const common::JsonValue* data = object ? common::jsonObjectValue(*object, "data") : nullptr;
    if (data != nullptr) {
      if (auto usage = common::keys::usageFromJson(*data)) {
        source = "running proxy";
        return *usage;
      }
    }
  }
  std::ifstream in(context.state_dir + "/keys_usage.json");
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    if (auto usage = common::keys::decodeUsageFile(text.str())) {
      source = context.state_dir + "/keys_usage.json";
      return *usage;
    }
  }
  source = "none";
  return {};
}

std::string limitText(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; }

std::string timeText(std::int64_t unix_seconds) {
  if (unix_seconds <= 0) return "never";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

int listKeys(const std::vector<std::string>& args, const KeysContext& context) {
  bool json = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--json")
      json = true;
    else
      return usageError("unexpected argument '" + args[i] + "'");
  }
  auto file = readKeys(context.keys_file, false);
  if (!file) {
    std::fprintf(stderr, "codex-sub-proxy-ctl: %s\n", file.error().c_str());
    return common::kCtlExitDegraded;
  }
  std::string source;
  std::vector<KeyUsage> usage = readUsage(context, source);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  auto usageOf = [&](const std::string& name) {
    for (const KeyUsage& u : usage)
      if (u.name == name) return u;
    KeyUsage none;
    none.name = name;
    return none;
  };
  auto stateOf = [&](const KeyEntry& k) -> std::string {
    if (k.disabled) return "disabled";
    if (k.expires_at && now >= *k.expires_at) return "expired";
    return "active";
  };
  if (json) {
    common::JsonWriter w;
    w.beginObject().member("usage_source", source).key("keys").beginArray();
    for (const KeyEntry& k : file->keys) {
      KeyUsage u = usageOf(k.name);
      w.beginObject().member("name", k.name).member("state", stateOf(k));
      w.key("limits").beginObject();
      auto limit = [&](const char* name, const std::optional<std::int64_t>& v) {
        if (v) w.member(name, *v);
      };
      limit("rpm", k.rpm);
      limit("tpm", k.tpm);
      limit("daily_tokens", k.daily_tokens);
      limit("monthly_tokens", k.monthly_tokens);
      limit("max_concurrent", k.max_concurrent);
      if (k.expires_at) w.member("expires_at", k.expires_at_text);
      w.endObject();
      w.member("requests", u.requests())
          .member("tokens_today", u.tokensToday(now))
          .member("tokens_this_month", u.tokensThisMonth(now))
          .member("input_tokens", u.input_tokens)
          .member("cached_tokens", u.cached_tokens)
          .member("output_tokens", u.output_tokens)
          .member("reasoning_tokens", u.reasoning_tokens)
          .member("last_use", u.last_use > 0 ? timeText(u.last_use) : std::string());
      w.endObject();
    }
    w.endArray().endObject();
    std::cout << w.take() << "\n";
    return common::kCtlExitHealthy;
  }
  std::ostringstream out;
  out << std::left << std::setw(20) << "NAME" << std::setw(10) << "STATE" << std::setw(8) << "RPM" << std::setw(10)
      << "TPM" << std::setw(12) << "DAILY" << std::setw(12) << "MONTHLY" << std::setw(6) << "CONC" << std::setw(10)
      << "REQUESTS" << std::setw(12) << "TODAY" << std::setw(12) << "MONTH"
      << "LAST USE\n";
  for (const KeyEntry& k : file->keys) {
    KeyUsage u = usageOf(k.name);
    out << std::left << std::setw(20) << k.name << std::setw(10) << stateOf(k) << std::setw(8) << limitText(k.rpm)
        << std::setw(10) << limitText(k.tpm) << std::setw(12) << limitText(k.daily_tokens) << std::setw(12)
        << limitText(k.monthly_tokens) << std::setw(6) << limitText(k.max_concurrent) << std::setw(10) << u.requests()
        << std::setw(12) << u.tokensToday(now) << std::setw(12) << u.tokensThisMonth(now) << timeText(u.last_use)
        << "\n";
  }
  out << "(usage from " << source << ")\n";
  std::cout << out.str();
  return common::kCtlExitHealthy;
}

}  // namespace

int runKeysCommand(const std::vector<std::string>& args, const KeysContext& context) {
  if (args.empty()) return usageError("keys needs a command");
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << kKeysUsage;
    return common::kCtlExitHealthy;
  }
  if (context.keys_file.empty())
    return usageError("no keys file: pass --keys-file, set API_KEYS_FILE, or set api-keys-file in --config");
  if (args[0] == "add") return addKey(args, context);
  if (args[0] == "list") return listKeys(args, context);
  if (args[0] == "disable" || args[0] == "enable" || args[0] == "remove") return changeKey(args, context);
  return usageError("unknown keys command '" + args[0] + "'");
}

}  // namespace cosp::ctl
