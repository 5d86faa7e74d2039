// codex-sub-proxy-worker: started only by the supervisor (fork+exec), with the listening socket
// on fd 3 and its channel on fd 4.
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/ipc/channel.h"
#include "common/log/log.h"
#include "common/os/exit_codes.h"
#include "common/os/signals.h"
#include "worker/worker_app.h"

int main(int argc, char** argv) {
  cosp::common::ignoreSigpipe();
  // Blocked before any thread starts so only the main loop's signalfd ever consumes them (docs/ARCHITECTURE.md §6.11).
  cosp::common::blockSignals({SIGTERM, SIGINT, SIGQUIT, SIGHUP});

  cosp::worker::WorkerArgs args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--slot")
      args.slot = std::atoi(argv[i + 1]);
    else if (flag == "--generation")
      args.generation = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--lease-row")
      args.lease_row = std::atoll(argv[i + 1]);
    else if (flag == "--supervisor-pid")
      args.supervisor_pid = static_cast<pid_t>(std::atoi(argv[i + 1]));
  }
  if (args.supervisor_pid <= 0) {
    std::fprintf(stderr,
                 "codex-sub-proxy-worker is started by codex-sub-proxy, not by hand; run codex-sub-proxy instead\n");
    return cosp::common::kExitWorkerUsage;
  }
  // Die with the supervisor even if it is SIGKILLed: TERM starts our drain. The getppid() check
  // closes the race where the supervisor died before prctl ran.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != args.supervisor_pid) return cosp::common::kExitOk;

  cosp::common::Log::configure(cosp::common::LogLevel::Info, cosp::common::LogFormat::Json, "worker", args.slot);
  try {
    return cosp::worker::runWorker(args, cosp::common::Channel(cosp::common::UniqueFd(4)), 3);
  } catch (const std::exception& e) {
    cosp::common::logError("worker_fatal").field("error", e.what());
    return cosp::common::kExitWorkerBootFailed;
  }
}
