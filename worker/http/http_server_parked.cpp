#include <sys/epoll.h>

#include <algorithm>
#include <string>

#include "common/json/json_writer.h"
#include "common/log/log.h"
#include "worker/http/http_server.h"

// HttpServer, continued: the connections parked in the accept loop while they wait for a request
// head (their bookkeeping, the byte budget and the deadlines), the judging of those heads, and the
// error answers the loop gives itself. Everything here runs on the loop thread.

namespace cosp::worker {

namespace {

std::string errorBody(std::string_view message, std::string_view code) {
  std::string out = "{\"error\":{\"message\":";
  common::appendJsonString(out, message);
  out += ",\"type\":\"invalid_request_error\",\"param\":null,\"code\":";
  common::appendJsonString(out, code);
  out += "}}";
  return out;
}

std::string_view errorCode(int status) {
  switch (status) {
    case 408:
      return "request_timeout";
    case 413:
      return "request_too_large";
    case 417:
      return "expectation_failed";
    case 431:
      return "request_header_fields_too_large";
    case 503:
      return "server_busy";
    case 505:
      return "http_version_not_supported";
    default:
      return "bad_request";
  }
}

}  // namespace

void HttpServer::park(std::unique_ptr<ClientConnection> connection) {
  ClientConnection* c = connection.get();
  parked_.push_back(c);
  c->parked_at = std::prev(parked_.end());
  parked_bytes_ += c->buffer().size();
  owned_.emplace(c, std::move(connection));
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.ptr = c;
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, c->fd(), &ev);
}

// Back to waiting after an answered request: idle until KEEP_ALIVE_TIMEOUT, or, when the next
// request has begun already (pipelined bytes), until its head deadline.
void HttpServer::parkAfterRequest(std::unique_ptr<ClientConnection> connection) {
  ++connection->served;
  connection->keep_alive_idle = connection->buffer().empty();
  connection->deadline =
      Clock::now() + (connection->keep_alive_idle ? options_.keep_alive_timeout : options_.head_timeout);
  park(std::move(connection));
}

std::unique_ptr<ClientConnection> HttpServer::unpark(ClientConnection* c) {
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, c->fd(), nullptr);
  parked_.erase(c->parked_at);
  parked_bytes_ -= std::min(parked_bytes_, c->buffer().size());
  auto it = owned_.find(c);
  std::unique_ptr<ClientConnection> connection = std::move(it->second);
  owned_.erase(it);
  return connection;
}

void HttpServer::close(std::unique_ptr<ClientConnection> connection) {
  auto it = per_client_.find(connection->peerAddress());
  if (it != per_client_.end() && --it->second <= 0) per_client_.erase(it);
  // Destroyed at the end of this loop turn, not now: a later event of the same epoll batch may
  // still name it, and its address must not be reused by a new connection meanwhile.
  graveyard_.push_back(std::move(connection));
  std::lock_guard<std::mutex> lock(state_mutex_);
  open_connections_.fetch_sub(1);
  state_cv_.notify_all();
}

void HttpServer::onReadable(ClientConnection* c) {
  if (owned_.find(c) == owned_.end()) return;  // closed earlier in this batch
  const std::size_t before = c->buffer().size();
  for (;;) {
    auto result = c->readOnce();
    if (result == ClientConnection::ReadResult::Data) {
      if (c->keep_alive_idle) {  // the next request began: its head now has a deadline
        c->keep_alive_idle = false;
        c->deadline = Clock::now() + options_.head_timeout;
      }
      if (c->buffer().size() > options_.max_header_bytes) break;
      continue;
    }
    if (result == ClientConnection::ReadResult::Error) {
      close(unpark(c));
      return;
    }
    break;  // WouldBlock or Eof
  }
  parked_bytes_ += c->buffer().size() - before;
  if (parked_bytes_ > options_.parked_bytes_budget) enforceBudget(c);
  examineBuffer(c);
}

// Closes the connections that have waited longest for their heads until the parked buffers fit
// the budget again; `keep` (the one that just read) goes last.
void HttpServer::enforceBudget(ClientConnection* keep) {
  for (auto it = parked_.begin(); it != parked_.end() && parked_bytes_ > options_.parked_bytes_budget;) {
    ClientConnection* c = *it++;
    if (c == keep || c->buffer().empty()) continue;
    stats_.evicted.fetch_add(1);
    close(unpark(c));
  }
}

// Dispatches every complete head in a parked connection's buffer (pipelined probes are answered
// one after another here), refuses a bad one, and closes a connection whose client left.
void HttpServer::examineBuffer(ClientConnection* c) {
  for (;;) {
    std::string& buffer = c->buffer();
    if (buffer.empty()) {
      if (c->peerClosed()) close(unpark(c));
      return;
    }
    const std::size_t end = findHeadEnd(buffer, c->scanned);
    if (end == std::string::npos) {
      c->scanned = buffer.size();
      if (buffer.size() > options_.max_header_bytes) {
        refuse(c, 431, "request head larger than the limit");
        return;
      }
      // Judge the request line as soon as it is there: an HTTP/0.9 line or garbage is refused at
      // once instead of holding the connection until the head deadline.
      if (!c->request_line_checked && buffer.find('\n') != std::string::npos) {
        c->request_line_checked = true;
        auto early = parseRequestHead(std::string_view(buffer).substr(0, buffer.find('\n') + 1), head_limits_);
        if (early.status == HeadParse::Status::Invalid) {
          refuse(c, early.error_status, early.error);
          return;
        }
      }
      if (c->peerClosed()) close(unpark(c));  // half a head, and the client is gone
      return;
    }
    HeadParse parse = parseRequestHead(std::string_view(buffer).substr(0, end), head_limits_);
    if (parse.status == HeadParse::Status::Invalid) {
      refuse(c, parse.error_status, parse.error);
      return;
    }
    if (parse.status == HeadParse::Status::Incomplete) {  // only empty lines so far
      c->scanned = end;
      continue;
    }
    std::unique_ptr<ClientConnection> connection = unpark(c);  // before consume: keeps parked_bytes_ exact
    connection->consume(parse.consumed);
    connection->request_line_checked = false;
    if (parse.head.framing == RequestFraming::None && handler_.answersInline(parse.head)) {
      bool keep = runRequest(*connection, std::move(parse.head), true);
      if (!keep || abort_all_.load()) {
        close(std::move(connection));
        return;
      }
      parkAfterRequest(std::move(connection));
      continue;  // a pipelined request may already be waiting
    }
    connection->pending_head = std::move(parse.head);
    {
      std::lock_guard<std::mutex> lock(handoff_mutex_);
      in_threads_.insert(connection.get());
    }
    busy_.fetch_add(1);
    ClientConnection* raw = connection.get();
    if (!threads_->submit(connection)) {
      busy_.fetch_sub(1);
      {
        std::lock_guard<std::mutex> lock(handoff_mutex_);
        in_threads_.erase(raw);
      }
      stats_.refused.fetch_add(1);
      answerBeforeClosing(*connection, 503, "The server is at capacity; retry shortly", "Retry-After: 1\r\n");
      close(std::move(connection));
    }
    return;
  }
}

void HttpServer::refuse(ClientConnection* c, int status, const std::string& why) {
  if (status == 408)
    stats_.head_timeouts.fetch_add(1);
  else
    stats_.bad_requests.fetch_add(1);
  common::logWarn(status == 408 ? "request_head_timeout" : "bad_request")
      .field("status", status)
      .field("reason", why)
      .field("client", c->peerAddress())
      .field("bytes", static_cast<int64_t>(c->buffer().size()));
  answerBeforeClosing(*c, status, status == 408 ? "The request head did not arrive in time" : "Bad request: " + why);
  close(unpark(c));
}

// An error answer from the accept loop itself (no handler ran), best effort and without waiting:
// a client that does not read its error is not owed one. The caller closes the connection.
void HttpServer::answerBeforeClosing(ClientConnection& c, int status, std::string_view message,
                                     std::string_view extra_headers) {
  const std::string body = errorBody(message, errorCode(status));
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reasonPhrase(status)) +
                     "\r\nContent-Type: application/json\r\n" + std::string(extra_headers) +
                     "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  c.writeAll(head, body, Clock::now());
}

void HttpServer::sweepDeadlines() {
  const auto now = Clock::now();
  for (auto it = parked_.begin(); it != parked_.end();) {
    ClientConnection* c = *it++;
    if (now < c->deadline) continue;
    if (c->keep_alive_idle || (c->buffer().empty() && c->served == 0)) {
      close(unpark(c));  // idle: an ordinary end, nothing to say
    } else {
      refuse(c, 408, "request head timeout");
    }
  }
}

}  // namespace cosp::worker
