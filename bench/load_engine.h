#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/event_loop.h"

namespace cosp::bench {

// Incremental HTTP/1.1 response reader: status line, headers, then a body framed by
// Content-Length, chunked transfer coding or the end of the connection. Decoded body bytes are
// appended to the caller's string as they arrive.
class ResponseReader {
 public:
  enum class Status { NeedMore, Done, Error };

  void reset();
  Status feed(const char* data, std::size_t size, std::string& body);
  // The peer closed the connection: Done for a close-delimited body, Error otherwise.
  Status onEof();

  bool headDone() const { return head_done_; }
  int status() const { return status_; }
  bool keepAlive() const { return keep_alive_; }
  bool eventStream() const { return event_stream_; }
  const std::string& error() const { return error_; }

 private:
  enum class Body { Length, Chunked, UntilClose };
  enum class Chunk { SizeLine, Data, DataEnd, Trailer };
  Status parseHead();
  Status fail(std::string message);

  std::string head_;
  bool head_done_ = false;
  int status_ = 0;
  bool keep_alive_ = true;
  bool event_stream_ = false;
  Body body_ = Body::Length;
  std::int64_t remaining_ = 0;
  Chunk chunk_ = Chunk::SizeLine;
  std::string line_;
  std::string error_;
};

// What one group of connections does: `connections` keep-alive connections, each sending
// `request` again as soon as the previous response ended (a closed loop), until the counts or
// the time limit say stop.
struct GroupSpec {
  std::string name;
  std::uint16_t port = 0;
  std::string request;  // a complete HTTP/1.1 request
  // Connection i sends `request` with a `session-id: bench-s<i>` header (bench/run sets it when
  // the proxy serves several accounts, so sessions spread over them; off by default so figures
  // stay comparable with runs made before it existed).
  bool session_ids = false;
  int connections = 1;
  std::int64_t requests_per_conn = 0;  // 0 = unlimited
  std::int64_t max_requests = 0;       // over the whole group; 0 = unlimited
  std::int64_t start_ns = 0;           // absolute CLOCK_MONOTONIC; 0 = when run() starts
  std::int64_t ramp_ns = 0;            // connection i starts at start + i * ramp / connections
  std::int64_t stop_issuing_ns = 0;    // absolute; no request starts after it (0 = no limit)
  std::int64_t measure_from_ns = 0;    // absolute; requests started before it are warm-up
  std::int64_t warmup_per_conn = 0;    // the first requests of each connection are warm-up
  std::int64_t request_timeout_ns = 30'000'000'000;
  bool record_events = false;            // per-event latency from the t=<ns> stamps
  std::int64_t stall_ns = 0;             // a longer silence inside a stream is a stall (0 = off)
  std::int64_t first_byte_stall_ns = 0;  // a later first byte is a stall too: the request was
                                         // queued, not served (0 = off)
};

struct TagOutcome {
  std::int64_t ok = 0;
  std::int64_t failed = 0;
};

struct GroupStats {
  std::vector<std::int64_t> latency_ns;  // request sent -> response complete (measured, ok)
  std::vector<std::int64_t> ttfb_ns;     // request sent -> first response byte (measured, ok)
  std::vector<std::int64_t> event_ns;    // event received - its t= stamp (measured requests)
  std::int64_t ok = 0;                   // measured requests that succeeded
  std::int64_t failed = 0;               // every failed request, warm-up included
  std::int64_t warmup = 0;
  std::int64_t stale_retries = 0;  // a reused connection closed before answering; retried
  std::int64_t reconnects = 0;
  std::int64_t stalled_streams = 0;
  std::int64_t max_gap_ns = 0;                 // longest silence inside any stream
  std::int64_t first_events = 0;               // streams that received at least one event
  std::int64_t events_received = 0;            // every SSE event of every request, warm-up included
  std::int64_t window_begin_ns = 0;            // first measured request sent
  std::int64_t window_end_ns = 0;              // last measured response complete
  std::map<std::string, std::int64_t> errors;  // kind -> count
  std::map<int, TagOutcome> by_tag;            // see Engine::setTag
};

// A single-threaded epoll load generator with any number of groups running at once.
class Engine {
 public:
  Engine();
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  int addGroup(GroupSpec spec);
  const GroupSpec& spec(int group) const;
  GroupStats& stats(int group);
  // No new request starts in the group; requests in flight finish.
  void stopIssuing(int group);
  // fn runs once, inside the loop, when every connection of the group has received its first
  // SSE event or failed before it.
  void onAllFirstEvents(int group, std::function<void()> fn);
  // fn runs inside the loop at `when_ns` (absolute CLOCK_MONOTONIC).
  void at(std::int64_t when_ns, std::function<void()> fn);
  // Runs until every group has finished or `deadline_ns` passes; what is still open then is
  // counted as failed ("deadline"). Returns true when everything finished in time.
  bool run(std::int64_t deadline_ns);

  // (connection index, local TCP port) of the group's connected connections.
  std::vector<std::pair<int, std::uint16_t>> localPorts(int group) const;
  // Outcomes of the connection's current and later requests are also counted under `tag`.
  void setTag(int group, int connection, int tag);

 private:
  struct Conn;
  struct Group;
  void startConn(Conn& c);
  void sendRequest(Conn& c);
  void onEvent(Conn& c, std::uint32_t events);
  void onReadable(Conn& c);
  void onWritable(Conn& c);
  void processSse(Conn& c, std::int64_t now);
  void complete(Conn& c, bool ok, const std::string& error);
  void next(Conn& c, bool reuse);
  void retire(Conn& c);
  void closeFd(Conn& c);
  bool mayIssue(const Group& g, const Conn& c, std::int64_t now) const;
  void checkFirstEvents(Group& g);
  void sweep(std::int64_t now);
  void countIssued(Conn& c);

  EventLoop loop_;
  std::vector<std::unique_ptr<Group>> groups_;
  std::vector<Conn*> by_fd_;
};

}  // namespace cosp::bench
