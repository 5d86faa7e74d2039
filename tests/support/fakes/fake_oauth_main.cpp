// fake-oauth-server: the FakeOAuthServer as a process, for out-of-process (integration) tests.
//   fake-oauth-server [--port N] [--refresh-token T] [--account-id A] [--access-ttl S]
//                     [--pending-polls K] [--interval S] [--legacy-usercode] [--no-stdin]
// Prints "LISTENING <port>" on stdout once bound, then serves until SIGTERM/SIGINT or EOF on
// stdin (so a test harness that dies takes the fake with it). Control it over HTTP:
// GET /__fake/state, POST /__fake/mode (see fake_oauth_server.h).
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "tests/support/fakes/fake_oauth_server.h"

namespace {

int usage(const char* msg) {
  std::cerr << "fake-oauth-server: " << msg
            << "\nusage: fake-oauth-server [--port N] [--refresh-token T] [--account-id A] [--access-ttl S]"
               " [--pending-polls K] [--interval S] [--legacy-usercode] [--no-stdin]\n";
  return 2;
}

bool parseInt(const char* text, long long min, long long max, long long& out) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // docs/ARCHITECTURE.md §6.10/§6.11: ignore SIGPIPE, and block TERM/INT before any POCO thread exists so
  // they are only ever consumed here, through the signalfd.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) {
    std::perror("sigprocmask");
    return 1;
  }
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (sfd < 0) {
    std::perror("signalfd");
    return 1;
  }

  cosp::test::FakeOAuthServer::Options options;
  bool watch_stdin = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    long long v = 0;
    if (arg == "--port") {
      const char* s = next();
      if (!s || !parseInt(s, 0, 65535, v)) return usage("--port needs 0-65535");
      options.port = static_cast<uint16_t>(v);
    } else if (arg == "--refresh-token") {
      const char* s = next();
      if (!s) return usage("--refresh-token needs a value");
      options.initial_refresh_token = s;
    } else if (arg == "--account-id") {
      const char* s = next();
      if (!s) return usage("--account-id needs a value");
      options.account_id = s;
    } else if (arg == "--access-ttl") {
      const char* s = next();
      if (!s || !parseInt(s, 1, 365LL * 24 * 3600, v)) return usage("--access-ttl needs seconds");
      options.access_ttl_s = v;
    } else if (arg == "--pending-polls") {
      const char* s = next();
      if (!s || !parseInt(s, 0, 1000000, v)) return usage("--pending-polls needs a count");
      options.device_pending_polls = static_cast<int>(v);
    } else if (arg == "--interval") {
      const char* s = next();
      if (!s) return usage("--interval needs a value");
      options.device_interval = s;
    } else if (arg == "--legacy-usercode") {
      options.legacy_usercode_field = true;
    } else if (arg == "--no-stdin") {
      watch_stdin = false;
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }

  try {
    cosp::test::FakeOAuthServer server(options);
    std::cout << "LISTENING " << server.port() << std::endl;  // endl: flush, the harness waits on it

    pollfd fds[2] = {{sfd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    const nfds_t nfds = watch_stdin ? 2 : 1;
    for (bool running = true; running;) {
      int n = ::poll(fds, nfds, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("poll");
        break;
      }
      if (fds[0].revents & POLLIN) break;  // SIGTERM / SIGINT
      if (watch_stdin && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[512];
        ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
        if (r <= 0 && !(r < 0 && errno == EINTR)) running = false;  // EOF (or error): harness gone
      }
    }
    server.stop();
  } catch (const std::exception& e) {
    std::cerr << "fake-oauth-server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
