#include "worker/calls/ws_key_turns.h"

#include "worker/calls/ws_turns.h"
#include "worker/exchange.h"
#include "worker/front/caller_keys.h"

namespace cosp::worker {

WsKeyTurns::~WsKeyTurns() {
  for (Turn& turn : open_) accountKeyRequest(ex_, 0, turn.model, std::nullopt);
}

std::optional<std::string> WsKeyTurns::admitTurn(std::string_view model) {
  // A WebSocket may outlive reloads of API_KEYS_FILE: each turn is judged by the key as it is now.
  if (auto gone = refreshFileKey(ex_)) {
    accountKeyRequest(ex_, gone->status, model, std::nullopt);
    return wrappedErrorEvent(*gone);
  }
  common::keys::KeyDecision decision = decideKeyModelCall(ex_, model);
  if (decision.error) {
    accountKeyRequest(ex_, decision.error->status, model, std::nullopt);
    return wrappedErrorEvent(*decision.error, {}, decision.headers);
  }
  open_.push_back(Turn{std::string(model), std::move(decision.lease)});
  return std::nullopt;
}

void WsKeyTurns::turnEnded(int status, std::string_view terminal_event) {
  if (open_.empty()) return;
  Turn turn = std::move(open_.front());
  open_.pop_front();
  turn.lease.release();
  if (ex_.file_key == nullptr) return;  // parse the event only when someone counts its tokens
  accountKeyRequest(ex_, status, turn.model, usageOfTerminalEvent(terminal_event));
}

}  // namespace cosp::worker
