// What a worker is started with: its arguments, and the environment minus systemd's variables
// and every credential.
#include "supervisor/worker_environment.h"

#include <gtest/gtest.h>

namespace cosp::supervisor {
namespace {

TEST(WorkerEnvironment, ArgumentsNameSlotGenerationAndSupervisor) {
  EXPECT_EQ(workerArgv("/opt/bin/codex-sub-proxy-worker", 2, 7, 4242),
            (std::vector<std::string>{"/opt/bin/codex-sub-proxy-worker", "--slot", "2", "--generation", "7",
                                      "--supervisor-pid", "4242"}));
}

TEST(WorkerEnvironment, CredentialsAndSystemdVariablesStayBehind) {
  const char* parent[] = {"PATH=/usr/bin",
                          "OPENAI_REFRESH_TOKEN=rt-secret",
                          "OPENAI_ACCESS_TOKEN=at-secret",
                          "PROXY_API_KEY=caller-key",
                          "CODEX_AUTH_FILE=/root/.codex/auth.json",
                          "NOTIFY_SOCKET=/run/systemd/notify",
                          "WATCHDOG_USEC=30000000",
                          "WATCHDOG_PID=1",
                          "LISTEN_PID=1",
                          "LISTEN_FDS=1",
                          "LISTEN_FDNAMES=http",
                          "OPENAI_REFRESH_TOKENS_NOTE=kept: only the exact name is a credential",
                          "HTTPS_PROXY=http://proxy:3128",
                          "LOG_LEVEL=debug",
                          nullptr};
  EXPECT_EQ(
      workerEnvironment(parent),
      (std::vector<std::string>{"PATH=/usr/bin", "OPENAI_REFRESH_TOKENS_NOTE=kept: only the exact name is a credential",
                                "HTTPS_PROXY=http://proxy:3128", "LOG_LEVEL=debug"}));
}

TEST(WorkerEnvironment, MatchesWholeNamesOnly) {
  EXPECT_FALSE(keepInWorkerEnv("PROXY_API_KEY="));
  EXPECT_TRUE(keepInWorkerEnv("PROXY_API_KEYS=x"));
  EXPECT_TRUE(keepInWorkerEnv("MY_PROXY_API_KEY=x"));
  EXPECT_TRUE(keepInWorkerEnv("LISTEN_FDS"));  // no '=': not the variable
  EXPECT_TRUE(keepInWorkerEnv(""));
}

}  // namespace
}  // namespace cosp::supervisor
