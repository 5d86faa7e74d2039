#include "tests/support/harness/proxy_process.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "common/ipc/control_client.h"
#include "tests/support/harness/http_client.h"

namespace cosp::test {

namespace {

std::vector<std::string> baseEnv() {
  std::vector<std::string> env;
  for (const char* name : {"PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  }
  return env;
}

pid_t spawn(const std::string& binary, const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& out_path, const std::string& err_path, bool new_group, int listen_fd = -1) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_copy = env;
  if (listen_fd >= 0) {
    env_copy.push_back("LISTEN_FDS=1");
    env_copy.push_back("LISTEN_PID=");  // completed in the child, where getpid() is known
  }
  std::vector<char*> envp;
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  char pid_entry[64] = {0};
  pid_t pid = ::fork();
  if (pid == 0) {
    if (listen_fd >= 0) {
      // Only async-signal-safe calls between fork and exec: snprintf into a preallocated buffer.
      std::snprintf(pid_entry, sizeof pid_entry, "LISTEN_PID=%d", static_cast<int>(::getpid()));
      envp[envp.size() - 2] = pid_entry;
      if (listen_fd != 3) {
        ::dup2(listen_fd, 3);
        ::close(listen_fd);
      }
    }
    if (new_group) ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::optional<int> waitFor(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return -WTERMSIG(status);
      return -1000;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    timespec ts{0, 10 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
  }
}

}  // namespace

bool processAlive(int pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

ProxyProcess::ProxyProcess(Env env, std::vector<std::string> args) : env_(std::move(env)), args_(std::move(args)) {
  if (!env_.count("PORT")) env_["PORT"] = std::to_string(freePort());
  if (!env_.count("HOST")) env_["HOST"] = "127.0.0.1";
  if (!env_.count("STATE_DIR")) env_["STATE_DIR"] = dir_.file("state");
  if (!env_.count("CONTROL_SOCKET")) env_["CONTROL_SOCKET"] = dir_.file("control.sock");
  if (!env_.count("WORKERS")) env_["WORKERS"] = "2";
  if (!env_.count("LOG_LEVEL")) env_["LOG_LEVEL"] = "info";
  for (auto it = env_.begin(); it != env_.end();) {  // "<unset>" removes a default
    it = it->second == "<unset>" ? env_.erase(it) : std::next(it);
  }
  port_ = std::atoi(env_["PORT"].c_str());
  control_socket_ = env_["CONTROL_SOCKET"];
}

ProxyProcess::~ProxyProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(-pid_, SIGKILL);  // the whole group: supervisor and workers
    ::kill(pid_, SIGKILL);
    waitFor(pid_, std::chrono::seconds(5));
  }
}

void ProxyProcess::start() { startWithSocket(-1); }

void ProxyProcess::startWithSocket(int listen_fd) {
  std::vector<std::string> env = baseEnv();
  for (const auto& [k, v] : env_) env.push_back(k + "=" + v);
  pid_ = spawn(binDir() + "/codex-sub-proxy", args_, env, dir_.file("stdout.log"), dir_.file("stderr.log"), true,
               listen_fd);
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

bool ProxyProcess::waitReady(std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        auto s = status();
        if (!s) return false;
        int configured = s->optValue<int>("workers_configured", 0);
        return s->optValue<std::string>("state", "") == "running" &&
               static_cast<int>(workerPids("ready").size()) >= configured;
      },
      timeout);
}

std::optional<int> ProxyProcess::waitExit(std::chrono::milliseconds timeout) {
  auto code = waitFor(pid_, timeout);
  if (code) exited_ = true;
  return code;
}

void ProxyProcess::signal(int signo) { ::kill(pid_, signo); }

std::string ProxyProcess::stderrText() const { return readFile(dir_.file("stderr.log")); }

Poco::JSON::Object::Ptr ProxyProcess::status() const {
  auto reply = common::controlRequest(control_socket_, "status", std::chrono::seconds(2));
  if (reply.kind != common::ControlReply::Kind::Reply) return nullptr;
  try {
    Poco::JSON::Parser parser;
    auto object = parser.parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    return object->getObject("data");
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::vector<int> ProxyProcess::workerPids(const std::string& state) const {
  std::vector<int> pids;
  auto s = status();
  if (!s) return pids;
  auto workers = s->getArray("workers");
  for (size_t i = 0; workers && i < workers->size(); ++i) {
    auto w = workers->getObject(static_cast<unsigned>(i));
    if (w->getValue<std::string>("state") == state) pids.push_back(w->getValue<int>("pid"));
  }
  return pids;
}

CommandResult runCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env_map, std::chrono::milliseconds timeout) {
  TempDir dir;
  std::vector<std::string> env = baseEnv();
  for (const auto& [k, v] : env_map) env.push_back(k + "=" + v);
  pid_t pid = spawn(binDir() + "/" + binary, args, env, dir.file("out"), dir.file("err"), true);
  CommandResult result;
  auto code = waitFor(pid, timeout);
  if (!code) {
    ::kill(-pid, SIGKILL);
    waitFor(pid, std::chrono::seconds(5));
    result.exit_code = -9999;
  } else {
    result.exit_code = *code;
  }
  result.out = readFile(dir.file("out"));
  result.err = readFile(dir.file("err"));
  return result;
}

}  // namespace cosp::test
