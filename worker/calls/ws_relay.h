#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "worker/calls/ws_key_turns.h"
#include "worker/http/client_connection.h"
#include "worker/translate/translate_types.h"
#include "worker/upstream/upstream_connection.h"
#include "worker/worker_context.h"

namespace cosp::worker {

// Everything the relay of one Responses WebSocket needs once both handshakes are done.
struct WsRelaySetup {
  WorkerContext& worker;
  ClientConnection& client;                     // after our 101; its buffer may hold first frames
  std::unique_ptr<UpstreamConnection> backend;  // after the backend's 101; its buffer likewise
  std::string request_id;                       // for log lines
  // For `response.create` messages: the POST route's normalisation (worker/calls/ws_message.h).
  const TranslateOptions& options;
  // The caller key's limits and accounting per `response.create` turn (ws_key_turns.h).
  WsKeyTurns& keys;
  std::string client_session_id;
  std::size_t max_client_message = 16 * 1024 * 1024;   // MAX_BODY_BYTES
  std::size_t max_backend_message = 16 * 1024 * 1024;  // MAX_EVENT_BYTES
  std::chrono::milliseconds send_timeout{60000};       // SEND_TIMEOUT, per write either way
  std::chrono::milliseconds idle_timeout{300000};      // UPSTREAM_IDLE_TIMEOUT: no message either way
};

// How the relay ended, for the log line.
struct WsRelayEnd {
  const char* reason = "";  // client_closed, backend_closed, client_gone, backend_gone, draining, idle, ...
  std::uint64_t client_messages = 0;
  std::uint64_t backend_messages = 0;
  std::uint64_t calls = 0;
};

// Relays one client WebSocket and its backend WebSocket on the calling (connection) thread until
// either side closes (docs/ARCHITECTURE.md §7): one poll(2) over the client's socket, the
// backend's and the worker's drain eventfd; client frames (masked) read by a MessageReader and
// re-sent to the backend masked with a fresh key each, backend frames re-sent unmasked; text
// messages in order both ways. The proxy answers pings on each side itself; a close from one side
// is passed to the other with its code (when it may be sent) and then both are closed. A message
// over its cap closes with 1009, bad framing with the reader's code. `response.create` messages
// get the POST route's normalisation (a refusal is answered with the wrapped error event and not
// forwarded), and a failure before a call's first output becomes the wrapped error event
// (ws_turns.h). On a drain, a WebSocket between calls is closed with 1001 at once, one in a call
// after that call's terminal event.
WsRelayEnd relayWebSocket(WsRelaySetup setup);

}  // namespace cosp::worker
