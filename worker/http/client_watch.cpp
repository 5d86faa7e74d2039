#include "worker/http/client_watch.h"

#include <poll.h>

#include <algorithm>

namespace cosp::worker {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kProbeWrite{1000};
constexpr milliseconds kSliceAfterFin{250};

}  // namespace

ClientWatch::ClientWatch(HttpRequest& request, HttpResponse& response)
    : request_(request), response_(response), fd_(request.socketFd()), fin_seen_(request.peerHalfClosed()) {}

bool ClientWatch::goneWithin(milliseconds wait) {
  const auto until = Clock::now() + wait;
  while (!gone_) {
    pollfd pfd{fd_, static_cast<short>(fin_seen_ ? 0 : POLLRDHUP), 0};
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
    const int rc = ::poll(&pfd, 1, static_cast<int>(std::max<milliseconds::rep>(left.count(), 0)));
    if (rc > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))) {
      gone_ = true;
    } else if (rc > 0 && (pfd.revents & POLLRDHUP)) {
      if (!probe()) {
        gone_ = true;
      } else {
        fin_seen_ = true;
        continue;  // wait out the rest for the reset a closed client sends back
      }
    }
    if (rc >= 0 || Clock::now() >= until) break;  // answered or timed out; else EINTR: again
  }
  return gone_;
}

milliseconds ClientWatch::slice(milliseconds wanted) const {
  return fin_seen_ ? std::min(wanted, kSliceAfterFin) : wanted;
}

bool ClientWatch::probe() {
  if (!response_.sent()) {
    // RFC 9110 §15.2: a 1xx may precede any final answer, and clients discard it; HTTP/1.0
    // clients do not know 1xx and must not get one.
    if (request_.head().minor_version != 1) return false;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    return request_.connection().writeAll(kContinue, Clock::now() + kProbeWrite);
  }
  if (response_.isChunked()) return response_.write(": \n\n");  // an SSE comment, within SEND_TIMEOUT
  return false;
}

}  // namespace cosp::worker
