#include <algorithm>
#include <string>

#include "worker/upstream/pool_core.h"
#include "worker/upstream/upstream_connection.h"
#include "worker/upstream/upstream_pool.h"

// UpstreamExchange, declared in upstream_pool.h with the pool that makes it: reading one response
// body off its connection and handing the connection back.

namespace cosp::worker {

using Clock = std::chrono::steady_clock;

UpstreamExchange::UpstreamExchange(std::shared_ptr<detail::PoolCore> core, std::string key,
                                   std::unique_ptr<UpstreamConnection> conn, UpstreamResponseHead head,
                                   BodyFraming framing, bool reusable, bool reused,
                                   std::chrono::milliseconds idle_timeout)
    : core_(std::move(core)),
      key_(std::move(key)),
      conn_(std::move(conn)),
      head_(std::move(head)),
      decoder_(framing),
      reusable_(reusable),
      reused_(reused),
      idle_timeout_(idle_timeout),
      last_byte_(Clock::now()) {
  core_->active.fetch_add(1);
}

UpstreamExchange::~UpstreamExchange() {
  if (conn_) {
    if (decoder_.done() && reusable_ && !failed_ && !aborted_.load() && conn_->buffered().empty()) {
      conn_->uses += 1;
      core_->release(key_, std::move(conn_));
    } else {
      conn_->close();
      conn_.reset();
    }
  }
  core_->active.fetch_sub(1);
}

ReadStatus UpstreamExchange::fail(ReadError::Kind kind, std::string message) {
  failed_ = true;
  error_.kind = kind;
  error_.message = std::move(message);
  if (conn_) conn_->close();
  return ReadStatus::Error;
}

ReadStatus UpstreamExchange::read(std::string& out, std::chrono::milliseconds slice, int hangup_fd) {
  if (failed_) return ReadStatus::Error;
  if (aborted_.load()) return fail(ReadError::Kind::Aborted, "exchange aborted");
  if (decoder_.done()) return ReadStatus::End;

  const Clock::time_point slice_end = Clock::now() + slice;
  while (true) {
    // 1. Whatever is already buffered.
    std::string_view buffered = conn_->buffered();
    if (!buffered.empty()) {
      std::size_t consumed = 0;
      const std::size_t before = out.size();
      const DecodeStatus st = decoder_.feed(buffered, consumed, out);
      conn_->consume(consumed);
      if (st == DecodeStatus::Error) return fail(ReadError::Kind::Protocol, decoder_.error());
      if (st == DecodeStatus::Done && !conn_->buffered().empty()) {
        // Bytes after the end of the response (we never pipeline): unusable.
        reusable_ = false;
      }
      if (out.size() > before) return ReadStatus::Data;
      if (st == DecodeStatus::Done) return ReadStatus::End;
    } else if (decoder_.done()) {
      return ReadStatus::End;
    }

    // 2. Wait for more, bounded by the slice and by the idle budget.
    const Clock::time_point idle_end = last_byte_ + idle_timeout_;
    const Clock::time_point wait_until = std::min(slice_end, idle_end);
    std::string err;
    const UpstreamConnection::IoStatus io = conn_->fill(wait_until, &err, hangup_fd);
    if (aborted_.load()) return fail(ReadError::Kind::Aborted, "exchange aborted");
    switch (io) {
      case UpstreamConnection::IoStatus::Ok:
        last_byte_ = Clock::now();
        continue;
      case UpstreamConnection::IoStatus::Timeout:
        if (Clock::now() >= idle_end) {
          return fail(ReadError::Kind::IdleTimeout,
                      "no upstream bytes for " + std::to_string(idle_timeout_.count()) + " ms");
        }
        return ReadStatus::Timeout;
      case UpstreamConnection::IoStatus::Eof:
        if (decoder_.onEof() == DecodeStatus::Done) {
          reusable_ = false;  // close-delimited body: the connection is finished
          return ReadStatus::End;
        }
        return fail(ReadError::Kind::ClosedMidBody, "upstream closed the connection mid-body");
      case UpstreamConnection::IoStatus::Reset:
        return fail(ReadError::Kind::ClosedMidBody, "upstream reset the connection mid-body: " + err);
      case UpstreamConnection::IoStatus::Error:
        return fail(ReadError::Kind::Io, "upstream read failed: " + err);
    }
  }
}

std::string UpstreamExchange::readAll(std::size_t cap, std::chrono::milliseconds total) {
  std::string body;
  const Clock::time_point deadline = Clock::now() + total;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      // Unread rest: the connection cannot be reused.
      fail(ReadError::Kind::IdleTimeout, "readAll deadline reached");
      break;
    }
    const ReadStatus st = read(body, std::min(left, std::chrono::milliseconds(200)));
    if (body.size() > cap) {
      body.resize(cap);
      if (!decoder_.done()) fail(ReadError::Kind::Aborted, "body larger than the readAll cap");
      break;
    }
    if (st == ReadStatus::End || st == ReadStatus::Error) break;
  }
  return body;
}

std::unique_ptr<UpstreamConnection> UpstreamExchange::takeConnection() { return std::move(conn_); }

void UpstreamExchange::abort() {
  if (aborted_.exchange(true)) return;
  if (conn_) conn_->abortNow();
}

}  // namespace cosp::worker
