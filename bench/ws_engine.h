#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/event_loop.h"

namespace cosp::bench {

// What one group of WebSocket connections does: `connections` sockets, each upgraded with
// `GET path` (carrying `x-codex-bench: <bench>`), then turns one after the other on the same
// socket: a masked text frame `message` (a response.create), then text messages until
// response.completed. After `turns_per_conn` turns (or when issuing stops) the client sends a
// close frame and waits for the server's.
struct WsGroupSpec {
  std::string name;
  std::uint16_t port = 0;
  std::string path = "/v1/responses";
  std::string bench;          // x-codex-bench value: "n=<deltas>,iv=<ms>"
  std::string message;        // the text message of every turn
  std::string extra_headers;  // more upgrade header lines, each ending in CRLF (Authorization)
  bool session_ids = false;   // connection i sends `session-id: bench-s<i>` (see GroupSpec)
  int expected_deltas = -1;   // a turn with another count of text deltas fails (-1 = no check)
  int connections = 1;
  std::int64_t turns_per_conn = 0;                // 0 = unlimited
  std::int64_t start_ns = 0;                      // absolute CLOCK_MONOTONIC; 0 = when added
  std::int64_t ramp_ns = 0;                       // connection i starts at start + i * ramp / connections
  std::int64_t stop_issuing_ns = 0;               // absolute; no turn starts after it (0 = no limit)
  std::int64_t measure_from_ns = 0;               // absolute; turns started before it are warm-up
  std::int64_t warmup_per_conn = 0;               // the first turns of each connection are warm-up
  std::int64_t turn_timeout_ns = 30'000'000'000;  // also bounds the upgrade and the close
  bool record_events = false;                     // per-event latency from the deltas' t=<ns> stamps
  std::int64_t stall_ns = 0;                      // a longer silence inside a turn is a stall (0 = off)
  std::int64_t first_event_stall_ns = 0;          // a later first event is a stall too (0 = off)
};

struct WsGroupStats {
  std::vector<std::int64_t> event_ns;        // delta received - its t= stamp (measured turns)
  std::vector<std::int64_t> turn_ns;         // message sent -> response.completed (measured, ok)
  std::vector<std::int64_t> first_event_ns;  // message sent -> first event (measured, ok)
  std::vector<std::int64_t> upgrade_ns;      // connect -> 101 received
  std::int64_t upgrades_ok = 0;
  std::int64_t upgrades_refused = 0;  // any answer but a valid 101: the connection gives up
  std::int64_t turns_ok = 0;          // measured turns that ended with response.completed
  std::int64_t turns_failed = 0;      // every failed turn or connection, warm-up included
  std::int64_t warmup_turns = 0;
  std::int64_t reconnects = 0;
  std::int64_t closes_clean = 0;  // our close answered by the server's close frame
  std::int64_t stalled = 0;
  std::int64_t max_gap_ns = 0;
  std::int64_t first_events = 0;  // connections whose first turn received an event
  std::int64_t pings_answered = 0;
  std::map<std::string, std::int64_t> errors;  // kind -> count
};

// A single-threaded epoll WebSocket client (RFC 6455 through worker/ws/: masked client frames,
// server frames parsed and reassembled) running any number of groups at once. Bounded: every
// connection, turn and close has a deadline, and buffers are capped by the message size limit.
class WsEngine {
 public:
  WsEngine();
  ~WsEngine();
  WsEngine(const WsEngine&) = delete;
  WsEngine& operator=(const WsEngine&) = delete;

  int addGroup(WsGroupSpec spec);
  WsGroupStats& stats(int group);
  // fn runs once, inside the loop, when every connection of the group has received the first
  // event of its first turn or failed before it (the upgrade refused included).
  void onAllFirstEvents(int group, std::function<void()> fn);
  // fn runs inside the loop at `when_ns` (absolute CLOCK_MONOTONIC).
  void at(std::int64_t when_ns, std::function<void()> fn);
  // Runs until every connection has finished or `deadline_ns` passes; what is still open then
  // counts as failed ("deadline"). Returns true when everything finished in time.
  bool run(std::int64_t deadline_ns);

 private:
  struct Conn;
  struct Group;
  void startConn(Conn& c);
  void onEvent(Conn& c, std::uint32_t events);
  void onReadable(Conn& c);
  void flush(Conn& c);
  void onHandshake(Conn& c, std::int64_t now);
  void onMessages(Conn& c, std::int64_t now);
  void onTextMessage(Conn& c, const std::string& payload, std::int64_t now);
  void startTurn(Conn& c);
  void endTurn(Conn& c, bool ok, const std::string& error);
  void beginClose(Conn& c);
  void fail(Conn& c, const std::string& error, bool retry);
  void markFirstEvent(Conn& c);
  void retire(Conn& c);
  void closeFd(Conn& c);
  void sendFrame(Conn& c, int opcode, const std::string& payload);
  bool mayStartTurn(const Group& g, const Conn& c, std::int64_t now) const;
  void sweep(std::int64_t now);

  EventLoop loop_;
  std::uint64_t mask_state_;
  std::vector<std::unique_ptr<Group>> groups_;
};

}  // namespace cosp::bench
