// codex-sub-proxy-ctl: the operator's view of a running proxy, over the control socket.
#include <sys/stat.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/config/config_loader.h"
#include "common/ipc/control_client.h"
#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "common/os/exit_codes.h"
#include "common/os/signals.h"
#include "common/util/result.h"
#include "common/version.h"
#include "supervisor/ctl/keys_command.h"
#include "supervisor/ctl/reload_progress.h"

namespace {

using cosp::common::kCtlExitDegraded;
using cosp::common::kCtlExitHealthy;
using cosp::common::kCtlExitNotRunning;
using cosp::common::kCtlExitUsage;

const char* kUsage =
    "Usage: codex-sub-proxy-ctl [--control-socket PATH] [--config FILE] COMMAND\n\n"
    "Commands:\n"
    "  status [--json|--quiet]  workers, credentials and totals; exit 0 healthy, 1 degraded, 3 not running\n"
    "  reload                   re-read the configuration and replace the workers; waits until every\n"
    "                           new worker serves; exit 1 when the file is rejected or the reload fails\n"
    "  refresh                  refresh the upstream credentials now\n"
    "  stop                     graceful stop (like SIGTERM)\n"
    "  keys add|list|disable|enable|remove …   caller keys of API_KEYS_FILE (keys --help)\n"
    "  accounts [--json]        every account: state, masked account id, quota used % and resets in,\n"
    "                           requests, failovers, last error\n"
    "  accounts pause|resume NAME  stop or resume using an account (kept across restarts)\n\n"
    "The socket is, in order: --control-socket, $CONTROL_SOCKET, control-socket in --config,\n"
    "$RUNTIME_DIRECTORY/control.sock, /run/codex-sub-proxy/control.sock, STATE_DIR/control.sock.\n";

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string resolveSocket(const std::string& explicit_path, const std::string& config_file) {
  if (!explicit_path.empty()) return explicit_path;
  auto env = cosp::common::processEnv();
  if (auto v = env("CONTROL_SOCKET"); v && !v->empty()) return *v;
  std::vector<std::string> args = {"login"};  // "login" skips serve-only checks such as caller auth
  if (!config_file.empty()) {
    args.push_back("--config");
    args.push_back(config_file);
  }
  auto loaded = cosp::common::loadConfig(args, env);
  if (loaded && !config_file.empty()) return loaded->config.control_socket;
  std::vector<std::string> candidates;
  if (auto dir = env("RUNTIME_DIRECTORY"); dir && !dir->empty()) candidates.push_back(*dir + "/control.sock");
  candidates.push_back("/run/codex-sub-proxy/control.sock");
  std::string state_dir = loaded ? loaded->config.state_dir : cosp::common::defaultStateDir(env);
  candidates.push_back(state_dir + "/control.sock");
  for (const auto& c : candidates) {
    if (exists(c)) return c;
  }
  return candidates.back();
}

// How `status` shows one value: strings as they are, numbers and booleans as JSON writes them.
std::string display(const cosp::common::JsonValue& v) {
  if (auto text = v.stringView()) return std::string(*text);
  return cosp::common::toJson(v);
}

// The member as text; "-" when the object or the member is missing or null.
std::string str(const cosp::common::JsonValue* o, const char* key) {
  const cosp::common::JsonValue* v = o != nullptr ? o->find(key) : nullptr;
  if (v == nullptr || v->isNull()) return "-";
  return display(*v);
}

void printWorkers(std::ostream& out, const cosp::common::JsonValue& s) {
  out << std::left << std::setw(6) << "slot" << std::setw(9) << "pid" << std::setw(10) << "state" << std::setw(5)
      << "gen" << std::setw(10) << "uptime" << std::setw(10) << "requests" << std::setw(8) << "active" << std::setw(8)
      << "streams"
      << "restarts\n";
  const cosp::common::JsonArray* workers = cosp::common::jsonArray(s, "workers");
  if (workers == nullptr) return;
  for (const cosp::common::JsonValue& item : *workers) {
    const cosp::common::JsonValue* w = item.isObject() ? &item : nullptr;
    out << std::left << std::setw(6) << str(w, "slot") << std::setw(9) << str(w, "pid") << std::setw(10)
        << str(w, "state") << std::setw(5) << str(w, "generation") << std::setw(10) << (str(w, "uptime_s") + "s")
        << std::setw(10) << str(w, "requests") << std::setw(8) << str(w, "active_requests") << std::setw(8)
        << str(w, "active_streams") << str(w, "restarts") << "\n";
  }
}

// Members of an object, one per line; null members are left out.
void printMembers(std::ostream& out, const cosp::common::JsonObject* members, int width) {
  if (members == nullptr) return;
  for (const auto& [key, value] : *members) {
    if (value.isNull()) continue;
    out << "  " << std::left << std::setw(width) << key << display(value) << "\n";
  }
}

void printHuman(const cosp::common::JsonValue& s) {
  using cosp::common::jsonObject;
  using cosp::common::jsonObjectValue;
  std::ostringstream out;
  out << "codex-sub-proxy " << str(&s, "version") << "  pid " << str(&s, "pid") << "  " << str(&s, "state") << "  up "
      << str(&s, "uptime_s") << "s  listen " << str(&s, "listen") << "  generation " << str(&s, "generation") << "\n";
  // The headline: "3/3 workers ready, healthy" (or "DEGRADED: " and what is wrong).
  if (const cosp::common::JsonValue* headline = s.find("headline"); headline != nullptr && !headline->isNull()) {
    out << display(*headline) << ", ";
  }
  out << (cosp::common::jsonBool(s, "healthy").value_or(false) ? "healthy" : "DEGRADED");
  if (const cosp::common::JsonArray* problems = cosp::common::jsonArray(s, "problems")) {
    for (size_t i = 0; i < problems->size(); ++i) out << (i == 0 ? ": " : "; ") << display((*problems)[i]);
  }
  out << "\n\nWORKERS\n";
  printWorkers(out, s);
  out << "\nCREDENTIALS\n";
  printMembers(out, jsonObject(s, "credentials"), 22);
  out << "\nMODEL CATALOG\n";
  printMembers(out, jsonObject(s, "catalog"), 22);
  if (const cosp::common::JsonValue* u = jsonObjectValue(s, "upstream")) {
    out << "\nUPSTREAM\n  last status " << str(u, "last_status") << "  at " << str(u, "last_status_at")
        << "  last success " << str(u, "last_success_at") << "\n";
    printMembers(out, jsonObject(*u, "rate_limits"), 40);
  }
  const cosp::common::JsonValue* t = jsonObjectValue(s, "totals");
  out << "\nTOTALS\n  requests " << str(t, "requests") << "  4xx " << str(t, "responses_4xx") << "  5xx "
      << str(t, "responses_5xx") << "  active " << str(t, "active_requests") << "  streams " << str(t, "active_streams")
      << "\n";
  std::cout << out.str();
}

// `ctl accounts`: one line per account.
void printAccounts(const cosp::common::JsonValue* accounts) {
  std::ostringstream out;
  out << std::left << std::setw(18) << "NAME" << std::setw(17) << "STATE" << std::setw(14) << "ACCOUNT" << std::setw(9)
      << "PRIMARY" << std::setw(11) << "SECONDARY" << std::setw(11) << "RESETS_IN" << std::setw(10) << "REQUESTS"
      << std::setw(10) << "FAILOVERS"
      << "LAST_ERROR\n";
  const cosp::common::JsonArray* list = accounts != nullptr ? accounts->getArray() : nullptr;
  if (list != nullptr) {
    for (const auto& a : *list) {
      auto percent = [&](const char* key) {
        const std::string v = str(&a, key);
        return v == "-1" || v == "-" ? std::string("-") : v + "%";
      };
      const std::string resets = str(&a, "resets_in_s");
      out << std::setw(18) << str(&a, "name") << std::setw(17) << str(&a, "state") << std::setw(14)
          << str(&a, "account_id") << std::setw(9) << percent("primary_used_percent") << std::setw(11)
          << percent("secondary_used_percent") << std::setw(11) << (resets == "-" ? resets : resets + "s")
          << std::setw(10) << str(&a, "requests") << std::setw(10) << str(&a, "failovers") << str(&a, "last_error")
          << "\n";
    }
  }
  std::cout << out.str();
}

struct Options {
  std::string socket_path, config_file, command;
  std::vector<std::string> operands;  // accounts pause|resume NAME
  bool json = false, quiet = false;
};

// The command line, or the exit code to stop with (--help, --version, a usage error).
cosp::common::Result<Options, int> parseArguments(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "codex-sub-proxy-ctl: %s needs a value\n", name);
        std::exit(kCtlExitUsage);
      }
      return argv[++i];
    };
    if (arg == "--control-socket" || arg == "--socket")
      o.socket_path = value("--control-socket");
    else if (arg.rfind("--control-socket=", 0) == 0)
      o.socket_path = arg.substr(17);
    else if (arg == "--config")
      o.config_file = value("--config");
    else if (arg == "--json")
      o.json = true;
    else if (arg == "--quiet" || arg == "-q")
      o.quiet = true;
    else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return kCtlExitHealthy;
    } else if (arg == "--version") {
      std::cout << "codex-sub-proxy-ctl " << cosp::kVersion << "\n";
      return kCtlExitHealthy;
    } else if (o.command.empty() && !arg.empty() && arg[0] != '-')
      o.command = arg;
    else if (o.command == "accounts" && !arg.empty() && arg[0] != '-' && o.operands.size() < 2)
      o.operands.push_back(arg);
    else {
      std::fprintf(stderr, "codex-sub-proxy-ctl: unexpected argument '%s'\n\n%s", arg.c_str(), kUsage);
      return kCtlExitUsage;
    }
  }
  if (o.command.empty()) o.command = "status";
  if (o.command == "accounts" && !o.operands.empty() &&
      (o.operands.size() != 2 || (o.operands[0] != "pause" && o.operands[0] != "resume"))) {
    std::fprintf(stderr,
                 "codex-sub-proxy-ctl: expected 'accounts', 'accounts pause NAME' or 'accounts resume NAME'\n\n%s",
                 kUsage);
    return kCtlExitUsage;
  }
  if (o.command != "status" && o.command != "reload" && o.command != "refresh" && o.command != "stop" &&
      o.command != "accounts") {
    std::fprintf(stderr, "codex-sub-proxy-ctl: unknown command '%s'\n\n%s", o.command.c_str(), kUsage);
    return kCtlExitUsage;
  }
  return o;
}

// A reload replaces the workers one by one, each given up to 15 s to become ready
// (supervisor/deadlines.h); this bounds the wait for any sane WORKERS. Under systemd,
// TimeoutStartSec= (which ExecReload= obeys) cuts it shorter.
constexpr std::chrono::seconds kReloadWaitLimit{300};
constexpr std::chrono::milliseconds kReloadPollInterval{100};

// After "reload started" as `generation`: polls `status` until that reload (or a newer one)
// ended, so the exit code says whether the new configuration is in force.
int waitForReload(const Options& o, const std::string& path, int64_t generation) {
  using cosp::ctl::ReloadProgress;
  const auto deadline = std::chrono::steady_clock::now() + kReloadWaitLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto reply = cosp::common::controlRequest(path, "status", std::chrono::seconds(5));
    if (reply.kind != cosp::common::ControlReply::Kind::Reply) {
      if (!o.quiet) std::fprintf(stderr, "codex-sub-proxy-ctl: reload: %s\n", reply.error.c_str());
      return kCtlExitDegraded;
    }
    std::optional<cosp::common::JsonValue> object = cosp::common::parseJsonObject(reply.body);
    const cosp::common::JsonValue* data = object ? cosp::common::jsonObjectValue(*object, "data") : nullptr;
    if (data != nullptr) {
      ReloadProgress progress = cosp::ctl::reloadProgress(*data, static_cast<uint64_t>(generation));
      if (progress.kind == ReloadProgress::Kind::Done) {
        if (!o.quiet) std::cout << "reload done: generation " << generation << ", " << str(data, "headline") << "\n";
        return kCtlExitHealthy;
      }
      if (progress.kind == ReloadProgress::Kind::Failed) {
        if (!o.quiet) std::fprintf(stderr, "codex-sub-proxy-ctl: reload failed: %s\n", progress.reason.c_str());
        return kCtlExitDegraded;
      }
    }
    std::this_thread::sleep_for(kReloadPollInterval);
  }
  if (!o.quiet)
    std::fprintf(stderr, "codex-sub-proxy-ctl: reload: generation %lld not done after %llds\n",
                 static_cast<long long>(generation), static_cast<long long>(kReloadWaitLimit.count()));
  return kCtlExitDegraded;
}

// The supervisor's reply to a command, shown as asked; returns the exit code.
int showReply(const Options& o, const std::string& path, const std::string& body) {
  std::optional<cosp::common::JsonValue> object = cosp::common::parseJsonObject(body);
  if (!object) {
    if (!o.quiet) std::fprintf(stderr, "codex-sub-proxy-ctl: malformed reply from the supervisor\n");
    return kCtlExitDegraded;
  }
  if (!cosp::common::jsonBool(*object, "ok").value_or(false)) {
    if (!o.quiet) std::fprintf(stderr, "codex-sub-proxy-ctl: %s\n", str(&*object, "error").c_str());
    return kCtlExitDegraded;
  }
  const cosp::common::JsonValue* data = cosp::common::jsonObjectValue(*object, "data");
  if (o.command == "reload" && data != nullptr) {
    if (auto generation = cosp::common::jsonInt(*data, "generation")) return waitForReload(o, path, *generation);
  }
  if (o.command == "accounts") {
    if (!o.quiet) {
      const cosp::common::JsonValue* accounts = data != nullptr ? data->find("accounts") : nullptr;
      if (o.json) {
        std::cout << (accounts != nullptr ? cosp::common::toJson(*accounts) : "[]") << "\n";
      } else {
        printAccounts(accounts);
      }
    }
    return kCtlExitHealthy;
  }
  if (o.command != "status") {
    if (!o.quiet) std::cout << str(data, "message") << "\n";
    return kCtlExitHealthy;
  }
  bool healthy = data != nullptr && cosp::common::jsonBool(*data, "healthy").value_or(false);
  if (!o.quiet) {
    if (o.json) {
      std::cout << (data != nullptr ? cosp::common::toJson(*data) : "null") << "\n";
    } else {
      printHuman(data != nullptr ? *data : cosp::common::JsonValue::object());
    }
  }
  return healthy ? kCtlExitHealthy : kCtlExitDegraded;
}

// `ctl [--control-socket P] [--config F] [--keys-file K] keys …`: the index of "keys" when it is
// the command, else 0.
int keysCommandAt(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--control-socket" || arg == "--socket" || arg == "--config" || arg == "--keys-file") {
      ++i;
      continue;
    }
    if (!arg.empty() && arg[0] == '-') continue;
    return arg == "keys" ? i : 0;
  }
  return 0;
}

int keysMain(int argc, char** argv, int keys_at) {
  std::string socket_path, config_file, keys_file;
  for (int i = 1; i < keys_at; ++i) {
    std::string arg = argv[i];
    std::string* target = arg == "--control-socket" || arg == "--socket" ? &socket_path
                          : arg == "--config"                            ? &config_file
                          : arg == "--keys-file"                         ? &keys_file
                                                                         : nullptr;
    if (target == nullptr || i + 1 >= keys_at) {
      std::fprintf(stderr, "codex-sub-proxy-ctl: unexpected argument '%s'\n\n%s", arg.c_str(), cosp::ctl::kKeysUsage);
      return kCtlExitUsage;
    }
    *target = argv[++i];
  }
  auto env = cosp::common::processEnv();
  std::vector<std::string> load_args = {"login"};  // "login" skips serve-only checks
  if (!config_file.empty()) {
    load_args.push_back("--config");
    load_args.push_back(config_file);
  }
  auto loaded = cosp::common::loadConfig(load_args, env);
  if (keys_file.empty() && loaded) keys_file = loaded->config.api_keys_file;
  cosp::ctl::KeysContext context;
  context.keys_file = keys_file;
  context.state_dir = loaded ? loaded->config.state_dir : cosp::common::defaultStateDir(env);
  context.socket_path = [=] { return resolveSocket(socket_path, config_file); };
  return cosp::ctl::runKeysCommand(std::vector<std::string>(argv + keys_at + 1, argv + argc), context);
}

}  // namespace

int main(int argc, char** argv) {
  cosp::common::ignoreSigpipe();
  if (int keys_at = keysCommandAt(argc, argv); keys_at > 0) return keysMain(argc, argv, keys_at);
  auto options = parseArguments(argc, argv);
  if (!options.ok()) return options.error();
  const Options& o = options.value();

  std::string path = resolveSocket(o.socket_path, o.config_file);
  std::vector<std::pair<std::string, std::string>> members;
  if (o.command == "accounts" && o.operands.size() == 2) members = {{"action", o.operands[0]}, {"name", o.operands[1]}};
  auto reply = cosp::common::controlRequest(path, o.command, members, std::chrono::seconds(5));
  if (reply.kind == cosp::common::ControlReply::Kind::NotRunning) {
    if (!o.quiet) std::fprintf(stderr, "codex-sub-proxy-ctl: not running (%s)\n", reply.error.c_str());
    return kCtlExitNotRunning;
  }
  if (reply.kind != cosp::common::ControlReply::Kind::Reply) {
    if (!o.quiet) std::fprintf(stderr, "codex-sub-proxy-ctl: %s\n", reply.error.c_str());
    return kCtlExitDegraded;
  }
  return showReply(o, path, reply.body);
}
