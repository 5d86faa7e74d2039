#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "common/keys/limits_zone.h"

namespace cosp::worker {

struct Exchange;

// A caller key's limits and accounting on a Responses WebSocket (SPEC §10, docs/ARCHITECTURE.md
// §10): each `response.create` is one model call of the key, as a POST /v1/responses is. The
// upgrade itself was only authenticated (a disabled or expired key got its 401 there); here each
// turn is decided (403 model_not_allowed, 429 with the x-ratelimit-* values), holds its
// max_concurrent lease until its terminal event, and is accounted with that event's usage.
// Without a file key every turn is admitted and nothing is counted.
class WsKeyTurns {
 public:
  explicit WsKeyTurns(Exchange& ex) : ex_(ex) {}
  WsKeyTurns(const WsKeyTurns&) = delete;
  WsKeyTurns& operator=(const WsKeyTurns&) = delete;
  // Turns still open when the socket ends are accounted without a status (as a POST call whose
  // client left); their leases go back.
  ~WsKeyTurns();

  // A `response.create` for `model` (as the client wrote it): nullopt when the turn may go to the
  // backend (it is open until turnEnded), else the wrapped error event to answer instead (the
  // refusal is accounted at once, like a refused POST call, and the socket stays open).
  std::optional<std::string> admitTurn(std::string_view model);

  // The oldest open turn ended: `status` is 200, or the status its failure before output was
  // mapped to; `terminal_event` is the backend's terminal message (its response.usage, if any,
  // is the turn's tokens).
  void turnEnded(int status, std::string_view terminal_event);

  std::size_t openTurns() const { return open_.size(); }

 private:
  struct Turn {
    std::string model;
    common::keys::LeaseGuard lease;
  };
  Exchange& ex_;
  std::deque<Turn> open_;  // in the order the backend answers them
};

}  // namespace cosp::worker
