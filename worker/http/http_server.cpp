#include "worker/http/http_server.h"

#include <Poco/ErrorHandler.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/StreamSocket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log/log.h"
#include "worker/http/lean_socket.h"

namespace cosp::worker {

HttpServer::HttpServer(Options options, Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                       ConnectionRegistry& registry)
    : options_(std::move(options)), params_(new Poco::Net::HTTPServerParams), factory_(factory), registry_(registry) {
  listen_fd_.reset(options_.listen_fd);
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));

  params_->setKeepAlive(true);
  params_->setKeepAliveTimeout(Poco::Timespan(options_.keep_alive_timeout.count(), 0));
  params_->setMaxKeepAliveRequests(1000);
  params_->setTimeout(Poco::Timespan(options_.receive_timeout.count(), 0));
  params_->setServerName(options_.server_name);
  params_->setSoftwareVersion(options_.server_name);

  ConnectionThreads::Options threads;
  threads.max_threads = options_.max_threads;
  threads.max_queued = options_.max_queued;
  threads.stack_size = static_cast<std::size_t>(options_.stack_size);  // small: §5 #9
  threads.idle_exit = std::chrono::seconds(2);  // spare threads leave quickly (§5 #20)
  threads_ = std::make_unique<ConnectionThreads>(threads, [this](Poco::Net::StreamSocket& socket) { serve(socket); });
}

HttpServer::~HttpServer() {
  stopAccepting();
  abortConnections();
  threads_.reset();  // waits for the connection threads, which use this object until they end
}

void HttpServer::serve(Poco::Net::StreamSocket& socket) {
  registry_.opened(socket);  // a drain can now close it while it idles between requests
  // What TCPServerConnection::start() (protected) would do: report, never let it escape.
  try {
    Poco::Net::HTTPServerConnection(socket, params_, factory_).run();
  } catch (const Poco::Exception& e) {
    Poco::ErrorHandler::handle(e);
  } catch (const std::exception& e) {
    Poco::ErrorHandler::handle(e);
  } catch (...) {
    Poco::ErrorHandler::handle();
  }
  connectionClosed(socket);
}

void HttpServer::start() {
  accepting_ = true;
  acceptor_ = std::thread([this] { acceptLoop(); });
}

void HttpServer::stopAccepting() {
  if (!accepting_.exchange(false)) return;
  uint64_t one = 1;
  (void)::write(wake_fd_.get(), &one, sizeof one);
  if (acceptor_.joinable()) acceptor_.join();
  listen_fd_.reset();
}

bool HttpServer::waitIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(count_mutex_);
  return idle_cv_.wait_until(lock, deadline, [this] { return open_connections_.load() <= 0; });
}

int64_t HttpServer::refusedConnections() const { return refused_.load(); }

// The connection's last moment as far as the drain is concerned (open_connections_ counts it
// from accept on, queued time included).
void HttpServer::connectionClosed(const Poco::Net::StreamSocket& socket) {
  registry_.closed(socket);
  std::lock_guard<std::mutex> lock(count_mutex_);
  open_connections_.fetch_sub(1);
  idle_cv_.notify_all();
}

void HttpServer::acceptLoop() {
  pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
  int one = 1;
  timeval send_timeout{static_cast<time_t>(options_.send_timeout.count()), 0};
  while (accepting_.load()) {
    // Full: leave the listening socket alone so another worker takes the connection. No event
    // tells us when a thread frees up, hence the short timeout, paid only while full.
    fds[0].fd = full() ? -1 : listen_fd_.get();
    fds[0].revents = 0;
    int ready = ::poll(fds, 2, fds[0].fd < 0 ? 10 : -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      common::logError("accept_poll_failed").field("error", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;  // stopAccepting()
    if ((fds[0].revents & POLLIN) == 0) continue;
    while (!full()) {
      int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        // EAGAIN: another worker won this connection (the shared socket is non-blocking, §5 #1).
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          // EMFILE and friends: back off briefly instead of spinning on a readable socket.
          common::logError("accept_failed").field("error", std::strerror(errno));
          pollfd wake{wake_fd_.get(), POLLIN, 0};
          ::poll(&wake, 1, 100);
        }
        break;
      }
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
      Poco::Net::StreamSocket socket(new LeanStreamSocketImpl(fd));
      open_connections_.fetch_add(1);
      accepted_.fetch_add(1);
      if (!threads_->submit(socket)) {
        // No thread and no queue room: the socket closes (here) without a reply.
        refused_.fetch_add(1);
        std::lock_guard<std::mutex> lock(count_mutex_);
        open_connections_.fetch_sub(1);
        idle_cv_.notify_all();
      }
    }
  }
}

}  // namespace cosp::worker
