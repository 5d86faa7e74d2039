#pragma once

#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

namespace cosp::worker {

// The connections a worker holds, and whether each is inside a request. It lets a drain close
// idle keep-alive connections at once instead of waiting out their keep-alive timeout (POCO only
// lets an HTTPServerConnection notice a stop between requests), and lets the end of a drain
// shut down whatever is left.
class ConnectionRegistry {
 public:
  void opened(const Poco::Net::StreamSocket& socket);
  void closed(const Poco::Net::StreamSocket& socket);
  // Called by the request handler around each request on `socket`.
  void requestStarted(const Poco::Net::StreamSocket& socket);
  void requestFinished(const Poco::Net::StreamSocket& socket);

  int open() const;
  // Shut down connections that served at least one request, are between requests, and have no
  // next request already waiting in the socket. A connection that has not served its first
  // request is left alone: its client is about to send one and expects an answer.
  int closeIdle();
  // Shut down every connection (the end of a drain, or a fast stop).
  void closeAll();
  bool waitEmpty(std::chrono::steady_clock::time_point deadline);

 private:
  struct State {
    Poco::Net::StreamSocket socket;
    bool busy = false;
    int served = 0;
  };
  mutable std::mutex mutex_;
  std::condition_variable empty_;
  std::map<const Poco::Net::SocketImpl*, State> connections_;
};

}  // namespace cosp::worker
