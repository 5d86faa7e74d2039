#pragma once

#include <Poco/JSON/Object.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/harness/eventually.h"
#include "tests/support/harness/paths.h"
#include "tests/support/harness/temp_dir.h"

namespace cosp::test {

// The real codex-sub-proxy binary started in a private temp dir with a free port, its stderr
// captured to a file. The environment is exactly what the test gives plus PORT/HOST/STATE_DIR/
// CONTROL_SOCKET/WORKERS defaults (a value of "<unset>" removes one); nothing is inherited except
// PATH and the sanitizer options.
class ProxyProcess {
 public:
  using Env = std::map<std::string, std::string>;

  explicit ProxyProcess(Env env = {}, std::vector<std::string> args = {});
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;
  ~ProxyProcess();  // SIGKILLs the process group if still running

  void start();
  // Start with `listen_fd` passed the systemd way: as fd 3 with LISTEN_FDS=1 and LISTEN_PID set
  // to the child's own pid (only the child knows it, so it is set between fork and exec).
  void startWithSocket(int listen_fd);
  // Wait until `ctl status` reports every slot ready. False at the deadline.
  bool waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Wait for exit; the exit code, or nullopt at the deadline (-signal when killed by a signal).
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  void signal(int signo);

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  const std::string& controlSocket() const { return control_socket_; }
  const TempDir& dir() const { return dir_; }
  std::string stderrText() const;

  // The status object from the control socket, or null when it does not answer.
  Poco::JSON::Object::Ptr status() const;
  // pids of workers in the given state ("ready", ...), by slot order.
  std::vector<int> workerPids(const std::string& state = "ready") const;

 private:
  TempDir dir_;
  Env env_;
  std::vector<std::string> args_;
  int port_ = 0;
  std::string control_socket_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

// True while `pid` exists and is not a zombie (an exited orphan may wait unreaped for a while).
bool processAlive(int pid);

// Run a binary from binDir() with args and env, capture stdout/stderr; returns the exit code.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult runCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Time bars from the issues hold for the normal build; sanitizer builds run every process several
// times slower (worker start-up above all), so their bars get this factor.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr int kSanitizerSlowdown = 4;
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif

}  // namespace cosp::test
