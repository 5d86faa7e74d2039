// codex-sub-proxy: the supervisor (serve) and the device-code login.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "common/config/config_loader.h"
#include "common/log/log.h"
#include "common/os/exit_codes.h"
#include "common/os/signals.h"
#include "common/version.h"
#include "supervisor/accounts/account_names.h"
#include "supervisor/accounts/import_login.h"
#include "supervisor/credentials/credential_manager.h"
#include "supervisor/credentials/device_login.h"
#include "supervisor/supervisor.h"

namespace {

using cosp::common::kExitConfig;
using cosp::common::kExitFailure;
using cosp::common::kExitOk;

int serve(const cosp::common::LoadedConfig& loaded, const std::vector<std::string>& args) {
  try {
    cosp::supervisor::Supervisor supervisor(loaded.config, args);
    return supervisor.run();
  } catch (const cosp::supervisor::StartupConfigError& e) {
    std::fprintf(stderr, "codex-sub-proxy: configuration error: %s\n", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    cosp::common::logError("supervisor_fatal").field("error", e.what());
    return kExitFailure;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists (docs/ARCHITECTURE.md §6.10, §6.11): SIGPIPE ignored, the signals the loop consumes
  // through signalfd blocked, so no POCO or OpenSSL thread can ever receive them.
  cosp::common::ignoreSigpipe();
  cosp::common::blockSignals({SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD});

  std::vector<std::string> args(argv + 1, argv + argc);
  auto loaded = cosp::common::loadConfig(args, cosp::common::processEnv());
  if (!loaded) {
    std::fprintf(stderr, "codex-sub-proxy: configuration error: %s\n", loaded.error().message.c_str());
    return kExitConfig;
  }
  const auto& inv = loaded->invocation;
  if (inv.help) {
    std::cout << cosp::common::configHelp();
    return kExitOk;
  }
  if (inv.version) {
    std::cout << cosp::kProductName << " " << cosp::kVersion << "\n";
    return kExitOk;
  }
  cosp::common::Log::configure(loaded->config.log_level, loaded->config.log_format, "supervisor");
  if (inv.check_config) {
    std::fprintf(stderr, "codex-sub-proxy: configuration ok (listen %s, %d workers)\n",
                 loaded->config.listenAddress().c_str(), loaded->config.workers);
    return kExitOk;
  }
  if (inv.command == "login") {
    const std::string account = inv.account.empty() ? cosp::supervisor::kDefaultAccount : inv.account;
    if (auto problem = cosp::supervisor::accountNameProblem(account)) {
      std::fprintf(stderr, "codex-sub-proxy: configuration error: --account: %s\n", problem->c_str());
      return kExitConfig;
    }
    auto settings = cosp::supervisor::accountCredentialSettings(
        cosp::supervisor::credentialSettingsFromConfig(loaded->config), account);
    if (!inv.import_file.empty()) {
      return cosp::supervisor::runImportLogin(settings, inv.import_file, cosp::supervisor::RealClock::instance(),
                                              std::cerr);
    }
    return cosp::supervisor::runDeviceLogin(settings, inv.print, std::cerr, std::cout);
  }
  return serve(*loaded, args);
}
