// fake-codex-backend: the FakeCodexBackend as a standalone program for
// integration tests and the npm client tests.
//
//   fake-codex-backend [--port N] [--host 127.0.0.1] [--fixtures DIR]
//                      [--path /backend-api/codex/responses] [--default-scenario SPEC]
//                      [--tls-cert FILE --tls-key FILE] [--keep-alive-ms N] [--ignore-stdin]
//                      [--catalog FILE] [--cookie-domain DOMAIN]
//                      [--min-codex-version V] [--gated-models M1,M2*,...]
//                      [--no-version-gate] [--allow-system-role] [--no-body-checks]
//                      [--allow-unknown-models] [--no-cookies] [--no-session-cache]
//                      [--no-catalog] [--no-models-etag-header]
//                      [--no-remote-compaction] [--lenient]
//
// The rules (fake_backend_rules.h) are those of the real backend, each on by default; the
// --no-*/--allow-* flags turn one off, --lenient all of them (the fake as it was before them).
//
// Prints "LISTENING <port>" on stdout once bound, then runs until SIGTERM/SIGINT
// or EOF on stdin (so a test harness that dies takes the fake with it); with
// --ignore-stdin only a signal stops it.
#include <Poco/Exception.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "common/util/strings.h"
#include "tests/support/fakes/fake_codex_backend.h"

namespace {

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " [--port N] [--host ADDR] [--fixtures DIR] [--path PATH] [--default-scenario SPEC]"
               " [--tls-cert FILE --tls-key FILE] [--keep-alive-ms N] [--ignore-stdin]"
               " [--catalog FILE] [--cookie-domain DOMAIN] [--min-codex-version V] [--gated-models LIST]"
               " [--no-version-gate] [--allow-system-role] [--no-body-checks] [--allow-unknown-models]"
               " [--no-cookies] [--no-session-cache] [--no-catalog] [--no-models-etag-header]"
               " [--no-remote-compaction] [--lenient]\n";
  return 2;
}

// The rule switch whose --no-*/--allow-* flag `arg` is, or null.
const cosp::test::RuleSwitch* ruleTurnedOffBy(const std::string& arg) {
  for (const auto& s : cosp::test::kRuleSwitches) {
    if (arg == s.off_flag) return &s;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // docs/ARCHITECTURE.md §6.10
  cosp::test::FakeBackendOptions options;
  bool ignore_stdin = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--port" && value(v)) {
      const long port = std::strtol(v.c_str(), nullptr, 10);
      if (port < 0 || port > 65535) return usage(argv[0]);
      options.port = static_cast<std::uint16_t>(port);
    } else if (arg == "--host" && value(v)) {
      options.host = v;
    } else if (arg == "--fixtures" && value(v)) {
      options.fixtures_dir = v;
    } else if (arg == "--path" && value(v)) {
      options.path = v;
    } else if (arg == "--default-scenario" && value(v)) {
      options.default_scenario = v;
    } else if (arg == "--tls-cert" && value(v)) {
      options.tls_cert_file = v;
    } else if (arg == "--tls-key" && value(v)) {
      options.tls_key_file = v;
    } else if (arg == "--keep-alive-ms" && value(v)) {
      options.keep_alive_timeout = std::chrono::milliseconds(std::strtol(v.c_str(), nullptr, 10));
    } else if (arg == "--ignore-stdin") {
      ignore_stdin = true;
    } else if (arg == "--catalog" && value(v)) {
      options.catalog_file = v;
    } else if (arg == "--cookie-domain" && value(v)) {
      options.cookie_domain = v;
    } else if (arg == "--min-codex-version" && value(v)) {
      options.rules.min_codex_version = v;
    } else if (arg == "--gated-models" && value(v)) {
      options.rules.gated_models = cosp::common::splitList(v);
    } else if (const auto* off = ruleTurnedOffBy(arg)) {
      options.rules.*off->rule = false;
    } else if (arg == "--lenient") {
      options.rules = cosp::test::BackendRules::none();
    } else {
      return usage(argv[0]);
    }
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    std::cerr << "fake-codex-backend: --tls-cert and --tls-key go together\n";
    return 2;
  }

  // Block the stop signals before any thread exists (docs/ARCHITECTURE.md §6.11) and take them
  // through a signalfd in the main loop.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (sfd < 0) {
    std::perror("signalfd");
    return 1;
  }

  try {
    cosp::test::FakeCodexBackend backend(options);
    std::cout << "LISTENING " << backend.port() << std::endl;

    bool stdin_open = !ignore_stdin;
    while (true) {
      pollfd fds[2] = {{sfd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
      const int n = ::poll(fds, stdin_open ? 2 : 1, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[0].revents & POLLIN) break;
      if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
        char buf[256];
        const ssize_t r = ::read(STDIN_FILENO, buf, sizeof(buf));
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) break;  // EOF: our parent is gone
      }
    }
    backend.stop();
  } catch (const Poco::Exception& e) {
    std::cerr << "fake-codex-backend: " << e.displayText() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "fake-codex-backend: " << e.what() << "\n";
    return 1;
  }
  ::close(sfd);
  return 0;
}
