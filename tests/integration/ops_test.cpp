// Deployment files checked with real tools: systemd-analyze on the units, systemd-sysusers on the
// user entry, `cmake --install` into a temp prefix, scripts/check-dockerfile on the Dockerfile,
// and the real binary on the example configuration and env files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/harness/proxy_process.h"
#include "tests/support/harness/skip_policy.h"
#include "tests/support/harness/temp_dir.h"

extern char** environ;

using namespace cosp::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kSource = sourceDir();

std::string sourceFile(const std::string& relative) { return kSource + "/" + relative; }

// The build tree the binaries come from: binDir() is <build>/bin.
std::string buildDir() { return fs::path(binDir()).parent_path().string(); }

struct ToolResult {
  int exit_code = -1;  // -9999: killed at the deadline; 127: could not be started
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

// Runs an external tool found on PATH (the harness's runCommand only runs the project's own
// binaries). The environment is the test's own minus DESTDIR (an inherited DESTDIR would send
// `cmake --install` elsewhere), or with `inherit` false only PATH and the sanitizer options (as
// the harness gives the project's binaries); plus `extra`. Bounded by `timeout`; the whole
// process group is killed at the deadline.
ToolResult runTool(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra = {},
                   std::chrono::milliseconds timeout = 60s, bool inherit = true) {
  TempDir dir;
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    const bool kept = name == "PATH" || name == "ASAN_OPTIONS" || name == "UBSAN_OPTIONS" || name == "LSAN_OPTIONS";
    if (name == "DESTDIR" || extra.count(name) || (!inherit && !kept)) continue;
    env.push_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  const std::string out_path = dir.file("out"), err_path = dir.file("err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);

  ToolResult result;
  if (rc != 0) {
    result.exit_code = 127;
    result.err = "cannot start " + argv[0] + ": " + std::strerror(rc);
    return result;
  }
  int status = 0;
  bool exited = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (!exited) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    result.exit_code = -9999;
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else {
    result.exit_code = -WTERMSIG(status);
  }
  result.out = readFile(out_path);
  result.err = readFile(err_path);
  return result;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// A unit file as section -> key -> values (keys may repeat: ExecReload=, SystemCallFilter=).
using Unit = std::map<std::string, std::map<std::string, std::vector<std::string>>>;

Unit parseUnit(const std::string& text) {
  Unit unit;
  std::string section;
  for (const auto& raw : lines(text)) {
    std::string line = raw;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    unit[section][line.substr(0, eq)].push_back(line.substr(eq + 1));
  }
  return unit;
}

std::string single(const Unit& unit, const std::string& section, const std::string& key) {
  auto s = unit.find(section);
  if (s == unit.end()) return "<no section [" + section + "]>";
  auto k = s->second.find(key);
  if (k == s->second.end()) return "<no " + key + "=>";
  return k->second.back();
}

// systemd time spans as used in the unit ("45s", "1min", "90"): seconds.
std::optional<double> seconds(const std::string& span) {
  std::smatch m;
  if (!std::regex_match(span, m, std::regex(R"((\d+)\s*(ms|s|sec|min|m)?)"))) return std::nullopt;
  double n = std::stod(m[1]);
  std::string unit = m[2];
  if (unit == "ms") return n / 1000;
  if (unit == "min" || unit == "m") return n * 60;
  return n;
}

// `codex-sub-proxy --help`: option name -> (env variable, default text). HOST is set to loopback
// because the binary validates the configuration before it looks at --help, and the built-in
// host 0.0.0.0 without a caller key is refused.
struct OptionHelp {
  std::string env;
  std::string default_text;
};
std::map<std::string, OptionHelp> optionsFromHelp() {
  auto help = runCommand("codex-sub-proxy", {"--help"}, {{"HOST", "127.0.0.1"}});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  std::map<std::string, OptionHelp> options;
  bool in_options = false;
  std::string last;
  std::regex option_line(R"(^  (?:--([a-z0-9-]+)|\(([a-z0-9-]+)\))\s+([A-Z_]+)\s*$)");
  std::regex default_line(R"(\[default: (.*)\]\s*$)");
  for (const auto& line : lines(help.out)) {
    if (line.rfind("Options", 0) == 0) in_options = true;
    if (!in_options) continue;
    std::smatch m;
    if (std::regex_match(line, m, option_line)) {
      last = m[1].matched ? m[1].str() : m[2].str();
      options[last].env = m[3];
    } else if (!last.empty() && std::regex_search(line, m, default_line)) {
      options[last].default_text = m[1];
    }
  }
  return options;
}

// The unit with its /usr/local paths pointed at this build's binaries, written into `dir`.
std::string unitForThisBuild(const TempDir& dir) {
  std::string unit =
      replaceAll(readFile(sourceFile("etc/systemd/codex-sub-proxy.service")), "/usr/local/bin/", binDir() + "/");
  writeFile(dir.file("codex-sub-proxy.service"), unit);
  writeFile(dir.file("codex-sub-proxy.socket"), readFile(sourceFile("etc/systemd/codex-sub-proxy.socket")));
  return dir.file("codex-sub-proxy.service");
}

// `systemd-analyze verify` passes and says nothing about our units (it may talk about unrelated
// units of the host, which are not ours to judge).
void expectVerifiesClean(const std::string& service, const std::string& socket) {
  auto r = runTool({"systemd-analyze", "verify", "--man=no", service, socket});
  EXPECT_EQ(r.exit_code, 0) << r.all();
  for (const auto& line : lines(r.all())) {
    EXPECT_EQ(line.find("codex-sub-proxy"), std::string::npos) << "systemd-analyze: " << line;
  }
}

std::map<std::string, std::string> activeEnvLines(const std::string& text) {
  std::map<std::string, std::string> env;
  for (const auto& line : lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

}  // namespace

// ---- systemd ---------------------------------------------------------------------------------

TEST(OpsSystemd, UnitsVerifyCleanAgainstThisBuild) {
  COSP_REQUIRE_TOOL("systemd-analyze", "systemd");
  TempDir dir;
  std::string service = unitForThisBuild(dir);
  expectVerifiesClean(service, dir.file("codex-sub-proxy.socket"));
}

TEST(OpsSystemd, VerifyWouldCatchABrokenUnit) {
  // The clean result above means something only if verify reports our mistakes: a misspelt key
  // and a missing binary are both named.
  COSP_REQUIRE_TOOL("systemd-analyze", "systemd");
  TempDir dir;
  std::string unit = readFile(unitForThisBuild(dir));
  unit = replaceAll(unit, "UMask=0077", "UMaks=0077");
  unit = replaceAll(unit, "ExecStart=" + binDir() + "/", "ExecStart=/nonexistent/");
  writeFile(dir.file("codex-sub-proxy.service"), unit);
  auto r = runTool({"systemd-analyze", "verify", "--man=no", dir.file("codex-sub-proxy.service")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.all().find("Unknown key 'UMaks'"), std::string::npos) << r.all();
  EXPECT_NE(r.all().find("/nonexistent/codex-sub-proxy"), std::string::npos) << r.all();
}

TEST(OpsSystemd, ServiceUnitCarriesTheContract) {
  Unit unit = parseUnit(readFile(sourceFile("etc/systemd/codex-sub-proxy.service")));
  const std::string config = "--config ${CONFIGURATION_DIRECTORY}/codex-sub-proxy.conf";

  EXPECT_EQ(single(unit, "Service", "Type"), "notify");
  EXPECT_EQ(single(unit, "Service", "ExecStart"), "/usr/local/bin/codex-sub-proxy " + config);
  // No ExecStartPre: Restart=on-failure would restart a failing pre-command (a bad config), while
  // the main process's exit 78 is kept from restarting by RestartPreventExitStatus.
  EXPECT_EQ(unit["Service"].count("ExecStartPre"), 0u);
  // ctl reload waits for the new workers and fails on a rejected file; no /bin/kill (procps),
  // which a minimal Debian lacks. scripts/test-deploy runs it under a real systemd.
  EXPECT_EQ(single(unit, "Service", "ExecReload"), "/usr/local/bin/codex-sub-proxy-ctl " + config + " reload");
  EXPECT_EQ(single(unit, "Service", "EnvironmentFile"), "-%E/codex-sub-proxy/env");
  EXPECT_EQ(single(unit, "Service", "KillMode"), "mixed");
  EXPECT_EQ(single(unit, "Service", "Restart"), "on-failure");
  EXPECT_EQ(single(unit, "Service", "RestartPreventExitStatus"), "78");
  EXPECT_NE(single(unit, "Unit", "StartLimitIntervalSec").front(), '<');
  EXPECT_NE(single(unit, "Unit", "StartLimitBurst").front(), '<');

  // The stop timeout must outlast the binary's own default drain plus 10 s.
  auto options = optionsFromHelp();
  auto grace = seconds(options["shutdown-grace"].default_text);
  auto stop = seconds(single(unit, "Service", "TimeoutStopSec"));
  ASSERT_TRUE(grace && stop) << options["shutdown-grace"].default_text << " / "
                             << single(unit, "Service", "TimeoutStopSec");
  EXPECT_GT(*stop, *grace + 10);

  // Enough descriptors for one worker's WORKER_THREADS streams (client + upstream socket each).
  int threads = std::stoi(options["worker-threads"].default_text);
  EXPECT_GE(std::stoi(single(unit, "Service", "LimitNOFILE")), threads * 2 + 64);
  EXPECT_GE(std::stoi(single(unit, "Service", "TasksMax")), threads + 64);
  EXPECT_EQ(single(unit, "Service", "LimitCORE"), "0");
  EXPECT_EQ(single(unit, "Service", "UMask"), "0077");

  EXPECT_EQ(single(unit, "Service", "User"), "codex-sub-proxy");
  EXPECT_EQ(single(unit, "Service", "StateDirectory"), "codex-sub-proxy");
  EXPECT_EQ(single(unit, "Service", "StateDirectoryMode"), "0700");
  EXPECT_EQ(single(unit, "Service", "RuntimeDirectory"), "codex-sub-proxy");
  EXPECT_EQ(single(unit, "Service", "RuntimeDirectoryMode"), "0750");
  EXPECT_EQ(single(unit, "Service", "ConfigurationDirectory"), "codex-sub-proxy");

  const std::map<std::string, std::string> sandbox = {
      {"ProtectSystem", "strict"},
      {"NoNewPrivileges", "yes"},
      {"PrivateTmp", "yes"},
      {"PrivateDevices", "yes"},
      {"ProtectHome", "yes"},
      {"ProtectKernelTunables", "yes"},
      {"ProtectKernelModules", "yes"},
      {"ProtectControlGroups", "yes"},
      {"RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"},
      {"RestrictNamespaces", "yes"},
      {"RestrictRealtime", "yes"},
      {"RestrictSUIDSGID", "yes"},
      {"LockPersonality", "yes"},
      {"MemoryDenyWriteExecute", "yes"},
      {"SystemCallArchitectures", "native"},
      {"CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"},
  };
  for (const auto& [key, value] : sandbox) EXPECT_EQ(single(unit, "Service", key), value) << key;
  EXPECT_EQ(unit["Service"]["SystemCallFilter"].front(), "@system-service");
}

TEST(OpsSystemd, SocketUnitHandsOverPort3000) {
  Unit unit = parseUnit(readFile(sourceFile("etc/systemd/codex-sub-proxy.socket")));
  EXPECT_EQ(single(unit, "Socket", "ListenStream"), "127.0.0.1:3000");
  EXPECT_EQ(single(unit, "Socket", "FileDescriptorName"), "http");
  EXPECT_EQ(single(unit, "Socket", "Service"), "codex-sub-proxy.service");
  EXPECT_EQ(single(unit, "Install", "WantedBy"), "sockets.target");
}

TEST(OpsSystemd, SandboxExposureStaysLow) {
  // systemd's own score of the sandbox (0 = locked down, 10 = none). 1.5 when written; a
  // change that loosens it noticeably has to be a deliberate edit of this bound.
  COSP_REQUIRE_TOOL("systemd-analyze", "systemd");
  TempDir dir;
  std::string service = unitForThisBuild(dir);
  auto r = runTool({"systemd-analyze", "security", "--offline=true", "--no-pager", service});
  std::smatch m;
  std::string all = r.all();
  ASSERT_TRUE(
      std::regex_search(all, m, std::regex(R"(Overall exposure level for codex-sub-proxy\.service: ([0-9.]+))")))
      << all;
  EXPECT_LE(std::stod(m[1]), 2.0) << all;
}

TEST(OpsSystemd, SysusersEntryCreatesTheServiceUser) {
  COSP_REQUIRE_TOOL("systemd-sysusers", "systemd");
  TempDir root;
  fs::create_directories(root.file("etc"));
  auto r = runTool({"systemd-sysusers", "--root=" + root.path(), sourceFile("etc/sysusers.d/codex-sub-proxy.conf")});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  std::string passwd = readFile(root.file("etc/passwd"));
  // The unit's User=, no login shell, home = the unit's StateDirectory.
  EXPECT_TRUE(std::regex_search(
      passwd, std::regex(R"((^|\n)codex-sub-proxy:x:\d+:\d+:[^:]*:/var/lib/codex-sub-proxy:/usr/sbin/nologin\n)")))
      << passwd;
  EXPECT_NE(readFile(root.file("etc/group")).find("codex-sub-proxy:x:"), std::string::npos);
}

// ---- cmake --install ---------------------------------------------------------------------------

TEST(OpsInstall, InstallsBinariesUnitsAndExamplesUnderThePrefix) {
  TempDir dir;
  const std::string prefix = dir.file("p");
  auto r = runTool({"cmake", "--install", buildDir(), "--prefix", prefix}, {}, 120s);
  ASSERT_EQ(r.exit_code, 0) << r.all();

  for (const char* binary : {"codex-sub-proxy", "codex-sub-proxy-worker", "codex-sub-proxy-ctl"}) {
    std::string path = prefix + "/bin/" + binary;
    EXPECT_EQ(::access(path.c_str(), X_OK), 0) << path;
  }
  const std::string units = prefix + "/lib/systemd/system/";
  std::string service = readFile(units + "codex-sub-proxy.service");
  ASSERT_FALSE(service.empty()) << "no " << units << "codex-sub-proxy.service";
  // The unit points at the binaries of this prefix, not at /usr/local.
  Unit unit = parseUnit(service);
  EXPECT_EQ(single(unit, "Service", "ExecStart"),
            prefix + "/bin/codex-sub-proxy --config ${CONFIGURATION_DIRECTORY}/codex-sub-proxy.conf");
  EXPECT_EQ(service.find("/usr/local/"), std::string::npos);
  EXPECT_EQ(readFile(units + "codex-sub-proxy.socket"),
            replaceAll(readFile(sourceFile("etc/systemd/codex-sub-proxy.socket")), "/usr/local/", prefix + "/"));
  EXPECT_EQ(readFile(prefix + "/lib/sysusers.d/codex-sub-proxy.conf"),
            readFile(sourceFile("etc/sysusers.d/codex-sub-proxy.conf")));
  const std::string doc = prefix + "/share/doc/codex-sub-proxy/";
  EXPECT_EQ(readFile(doc + "codex-sub-proxy.conf.example"), readFile(sourceFile("etc/codex-sub-proxy.conf.example")));
  EXPECT_EQ(readFile(doc + "env.example"), readFile(sourceFile("etc/env.example")));
  EXPECT_EQ(readFile(doc + "README.md"), readFile(sourceFile("README.md")));

  // The installed units are valid as installed (their binaries exist under the prefix) ...
  // (systemd-analyze is Debian's `systemd`, which scripts/setup installs: without it, a failure.)
  if (toolAvailable("systemd-analyze", "systemd"))
    expectVerifiesClean(units + "codex-sub-proxy.service", units + "codex-sub-proxy.socket");
  // ... and the installed binary runs and accepts the installed example.
  auto check =
      runTool({prefix + "/bin/codex-sub-proxy", "--check-config", "--config", doc + "codex-sub-proxy.conf.example"}, {},
              20s, /*inherit=*/false);
  EXPECT_EQ(check.exit_code, 0) << check.all();
}

// ---- Docker ----------------------------------------------------------------------------------

namespace {

ToolResult checkDockerfile(const std::string& dockerfile = "", const std::string& readme = "") {
  std::vector<std::string> argv = {"bash", sourceFile("scripts/check-dockerfile")};
  if (!dockerfile.empty()) argv.push_back(dockerfile);
  if (!readme.empty()) argv.push_back(readme);
  return runTool(argv, {}, 30s);
}

// The repository's Dockerfile with one edit, checked against the repository's README.
ToolResult checkEditedDockerfile(const std::string& from, const std::string& to) {
  TempDir dir;
  std::string text = readFile(sourceFile("Dockerfile"));
  EXPECT_NE(text.find(from), std::string::npos) << "the Dockerfile no longer contains: " << from;
  writeFile(dir.file("Dockerfile"), replaceAll(text, from, to));
  return checkDockerfile(dir.file("Dockerfile"), sourceFile("README.md"));
}

}  // namespace

TEST(OpsDocker, DockerfileBuildsWithTheReadmeCommands) {
  auto r = checkDockerfile();
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_NE(r.out.find("ok"), std::string::npos) << r.all();
}

TEST(OpsDocker, CheckRejectsALatestBaseImage) {
  auto r = checkEditedDockerfile("FROM debian:bookworm AS build", "FROM debian:latest AS build");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("FROM debian:latest: ':latest' is not a pinned tag"), std::string::npos) << r.err;
}

TEST(OpsDocker, CheckRejectsAnUntaggedBaseImage) {
  auto r = checkEditedDockerfile("FROM debian:bookworm-slim", "FROM debian");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("FROM debian: no tag"), std::string::npos) << r.err;
}

TEST(OpsDocker, CheckRejectsRecommendsAndLeftoverAptLists) {
  auto recommends = checkEditedDockerfile("apt-get install -y --no-install-recommends", "apt-get install -y");
  EXPECT_EQ(recommends.exit_code, 1);
  EXPECT_NE(recommends.err.find("apt install without --no-install-recommends"), std::string::npos) << recommends.err;

  auto lists = checkEditedDockerfile(" && rm -rf /var/lib/apt/lists/*", "");
  EXPECT_EQ(lists.exit_code, 1);
  EXPECT_NE(lists.err.find("does not remove /var/lib/apt/lists"), std::string::npos) << lists.err;
}

TEST(OpsDocker, CheckRejectsABuildStepTheReadmeDoesNotHave) {
  auto r = checkEditedDockerfile("cmake --build build-release -j2", "cmake --build build-release -j7");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("build step not in README.md (as a line of its own): 'cmake --build build-release -j7'"),
            std::string::npos)
      << r.err;
}

TEST(OpsDocker, CheckRejectsARootImage) {
  auto r = checkEditedDockerfile("USER 10001:10001", "USER root");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("runs as USER root"), std::string::npos) << r.err;
}

TEST(OpsDocker, ComposeAndImageAgreeOnStateAndStopTime) {
  std::string dockerfile = readFile(sourceFile("Dockerfile"));
  std::string compose = readFile(sourceFile("docker-compose.yml"));
  std::smatch m;

  // The volume Compose mounts is the image's STATE_DIR and declared VOLUME.
  ASSERT_TRUE(std::regex_search(dockerfile, m, std::regex(R"(STATE_DIR=(\S+))")));
  const std::string state_dir = m[1];
  EXPECT_NE(dockerfile.find("VOLUME [\"" + state_dir + "\"]"), std::string::npos);
  EXPECT_TRUE(std::regex_search(compose, std::regex(":" + state_dir + R"(\s*\n)"))) << compose;

  // Docker waits longer than the binary's default drain before SIGKILL.
  ASSERT_TRUE(std::regex_search(compose, m, std::regex(R"(stop_grace_period:\s*(\S+))")));
  auto stop = seconds(m[1]);
  auto grace = seconds(optionsFromHelp()["shutdown-grace"].default_text);
  ASSERT_TRUE(stop && grace);
  EXPECT_GT(*stop, *grace + 10);

  EXPECT_TRUE(std::regex_search(compose, std::regex(R"(restart:\s*unless-stopped)")));
  EXPECT_TRUE(std::regex_search(compose, std::regex(R"(env_file:)")));
  // Both health checks run the same command as the image: ctl status --quiet.
  EXPECT_NE(compose.find(R"(["CMD", "codex-sub-proxy-ctl", "status", "--quiet"])"), std::string::npos);
  EXPECT_NE(dockerfile.find(R"(CMD ["codex-sub-proxy-ctl", "status", "--quiet"])"), std::string::npos);
  EXPECT_NE(dockerfile.find("STOPSIGNAL SIGTERM"), std::string::npos);
  EXPECT_NE(dockerfile.find(R"(ENTRYPOINT ["codex-sub-proxy"])"), std::string::npos);
}

// ---- example configuration -----------------------------------------------------------------------

TEST(OpsConfigExample, PassesCheckConfigAsShipped) {
  auto r =
      runCommand("codex-sub-proxy", {"--check-config", "--config", sourceFile("etc/codex-sub-proxy.conf.example")}, {});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("configuration ok (listen 127.0.0.1:3000"), std::string::npos) << r.err;
}

TEST(OpsConfigExample, PassesWithEveryDefaultLineUncommented) {
  // "#key = value" lines document defaults; switching all of them on at once must still be a
  // valid file (no duplicate key, no stale key, every value accepted).
  std::string text = readFile(sourceFile("etc/codex-sub-proxy.conf.example"));
  std::string uncommented = std::regex_replace(text, std::regex(R"((^|\n)#([a-z][a-z0-9-]*) =)"), "$1$2 =");
  ASSERT_NE(uncommented, text);
  TempDir dir;
  writeFile(dir.file("all.conf"), uncommented);
  auto r = runCommand("codex-sub-proxy", {"--check-config", "--config", dir.file("all.conf")}, {});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("configuration ok (listen 127.0.0.1:3000"), std::string::npos) << r.err;
}

TEST(OpsConfigExample, DocumentsEveryOptionOnce) {
  auto options = optionsFromHelp();
  ASSERT_GE(options.size(), 25u);
  std::string text = readFile(sourceFile("etc/codex-sub-proxy.conf.example"));
  for (const auto& [name, help] : options) {
    std::regex key_line("(^|\n)#?" + name + " =");
    auto count = std::distance(std::sregex_iterator(text.begin(), text.end(), key_line), std::sregex_iterator());
    EXPECT_EQ(count, 1) << name << " (" << help.env << ") should have exactly one `" << name << " =` line";
    // The description names the environment variable too.
    EXPECT_NE(text.find("env " + help.env), std::string::npos) << help.env;
  }
}

TEST(OpsEnvExample, UsesOnlyVariablesTheBinaryReads) {
  auto options = optionsFromHelp();
  std::set<std::string> known = {"CONFIG_FILE"};
  for (const auto& [name, help] : options) known.insert(help.env);
  std::string text = readFile(sourceFile("etc/env.example"));
  std::regex assignment(R"(^#?([A-Z][A-Z0-9_]*)=)");
  int seen = 0;
  for (const auto& line : lines(text)) {
    std::smatch m;
    if (!std::regex_search(line, m, assignment)) continue;
    ++seen;
    EXPECT_TRUE(known.count(m[1])) << m[1] << " is not an environment variable of codex-sub-proxy";
  }
  EXPECT_GE(seen, 20);
}

TEST(OpsEnvExample, RefusesToServeOnAllInterfacesUntilAKeyIsSet) {
  // The Docker case: HOST=0.0.0.0 (the image's) with env.example as shipped must refuse, naming
  // PROXY_API_KEY; with a key filled in the same file is valid.
  auto env = activeEnvLines(readFile(sourceFile("etc/env.example")));
  ASSERT_TRUE(env.count("PROXY_API_KEY"));
  env["HOST"] = "0.0.0.0";
  auto refused = runCommand("codex-sub-proxy", {"--check-config"}, env);
  EXPECT_EQ(refused.exit_code, 78);
  EXPECT_NE(refused.err.find("PROXY_API_KEY"), std::string::npos) << refused.err;

  env["PROXY_API_KEY"] = "a-long-random-test-key";
  auto ok = runCommand("codex-sub-proxy", {"--check-config"}, env);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}
