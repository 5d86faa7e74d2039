#include "worker/calls/ws_relay.h"

#include <poll.h>

#include <algorithm>
#include <optional>

#include "common/log/log.h"
#include "common/util/split_mix64.h"
#include "worker/calls/wall_clock.h"
#include "worker/calls/ws_message.h"
#include "worker/calls/ws_turns.h"
#include "worker/translate/upstream_error.h"
#include "worker/ws/ws_message.h"

namespace cosp::worker {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// After the proxy sent a close to a side, how long it waits for that side's close before it
// closes the socket anyway (RFC 6455 §7.1.1 lets the initiator close the TCP connection then).
constexpr milliseconds kCloseWait{1000};
// How long one read of the backend may wait once poll(2) said it is readable: a TLS record
// that is only half there (UpstreamConnection::fill bounds a blocked read itself).
constexpr milliseconds kBackendReadSlice{50};

class Relay {
 public:
  explicit Relay(WsRelaySetup setup)
      : s_(std::move(setup)),
        from_client_(ws::Peer::kClient, s_.max_client_message),
        from_backend_(ws::Peer::kServer, s_.max_backend_message),
        masks_(common::SplitMix64::fromRandomDevice()) {
    hints_.client_session_id = s_.client_session_id;
  }

  WsRelayEnd run() {
    last_message_ = Clock::now();
    takeClientBytes();
    takeBackendBytes();
    while (end_.reason[0] == '\0') {
      if (!processClient() || !processBackend()) break;
      if (end_.reason[0] != '\0') break;
      if (draining_ && !turns_.inCall()) {
        closeBoth(ws::CloseCode::kGoingAway, "the proxy is restarting", "draining");
        break;
      }
      wait();
    }
    end_.calls = turns_.callsBegun();
    s_.backend->close();
    return end_;
  }

 private:
  // ---- waiting -----------------------------------------------------------------------------------

  void wait() {
    const auto now = Clock::now();
    const auto idle_at = last_message_ + s_.idle_timeout;
    if (now >= idle_at) {
      closeBoth(ws::CloseCode::kGoingAway, "idle timeout", "idle");
      return;
    }
    // OpenSSL may hold decrypted bytes that poll(2) cannot see: read them without waiting.
    const bool hidden = s_.backend->hasHiddenPlaintext();
    pollfd fds[3] = {{s_.client.fd(), POLLIN | POLLRDHUP, 0},
                     {s_.backend->pollFd(), POLLIN, 0},
                     {draining_ ? -1 : s_.worker.drainFd(), POLLIN, 0}};
    const auto left = std::chrono::ceil<milliseconds>(idle_at - now).count();
    const int rc = ::poll(fds, 3, hidden ? 0 : static_cast<int>(std::min<std::int64_t>(left, 1 << 30)));
    if (rc < 0) return;  // EINTR: look again
    if (fds[2].revents != 0) draining_ = true;
    if (fds[0].revents != 0) readClient();
    if (end_.reason[0] == '\0' && (hidden || fds[1].revents != 0)) readBackend();
  }

  void readClient() {
    const ClientConnection::ReadResult r = s_.client.readOnce();
    if (r == ClientConnection::ReadResult::Data) {
      takeClientBytes();
      return;
    }
    if (r == ClientConnection::ReadResult::WouldBlock) return;
    // Gone without a close frame (or the drain deadline shut the socket down): tell the backend.
    sendToBackend(ws::Opcode::kClose, ws::closePayload(ws::CloseCode::kGoingAway));
    end_.reason = "client_gone";
  }

  void readBackend() {
    std::string error;
    const auto io = s_.backend->fill(Clock::now() + kBackendReadSlice, &error);
    if (io == UpstreamConnection::IoStatus::Ok) {
      takeBackendBytes();
      return;
    }
    if (io == UpstreamConnection::IoStatus::Timeout) return;
    // Gone without a close frame: a call waiting for its first output gets the error the CLI
    // reads as a status; then the client is closed.
    if (turns_.beforeOutput()) sendToClient(ws::Opcode::kText, wrappedErrorEvent(upstreamTruncatedError()));
    sendCloseToClient(ws::CloseCode::kInternalError, "the backend connection was lost");
    common::logWarn("websocket_backend_lost").field("request_id", s_.request_id).field("error", error);
    end_.reason = "backend_gone";
  }

  void takeClientBytes() {
    std::string& buffer = s_.client.buffer();
    if (buffer.empty()) return;
    from_client_.feed(buffer);
    s_.client.consume(buffer.size());
  }

  void takeBackendBytes() {
    const std::string_view bytes = s_.backend->buffered();
    if (bytes.empty()) return;
    from_backend_.feed(bytes);
    s_.backend->consume(bytes.size());
  }

  // ---- messages ----------------------------------------------------------------------------------

  // False once the relay is over.
  bool processClient() {
    ws::Message m;
    for (;;) {
      const auto status = from_client_.next(m);
      if (status == ws::MessageReader::Status::kNeedMore) return true;
      if (status == ws::MessageReader::Status::kError) {
        sendCloseToClient(from_client_.errorCode(), from_client_.errorReason());
        sendToBackend(ws::Opcode::kClose, ws::closePayload(ws::CloseCode::kGoingAway));
        end_.reason = "client_protocol_error";
        return false;
      }
      last_message_ = Clock::now();
      switch (m.opcode) {
        case ws::Opcode::kPing:
          if (!sendToClient(ws::Opcode::kPong, m.payload)) return false;
          continue;
        case ws::Opcode::kPong:
          continue;
        case ws::Opcode::kClose:
          passClose(m.payload, /*from_client=*/true);
          return false;
        case ws::Opcode::kText:
          if (!clientText(m.payload)) return false;
          continue;
        default:  // binary: the backend judges it
          ++end_.client_messages;
          if (!sendToBackend(m.opcode, m.payload)) return false;
          continue;
      }
    }
  }

  bool clientText(const std::string& text) {
    ++end_.client_messages;
    hints_.catalog = nullptr;
    const std::shared_ptr<const common::ModelCatalog> catalog = s_.worker.catalog.get();
    hints_.catalog = catalog.get();
    auto prepared = prepareClientMessage(text, s_.options, hints_);
    if (!prepared) {
      // The POST route would answer this 400 before calling the backend: so does the socket.
      return sendToClient(ws::Opcode::kText, wrappedErrorEvent(prepared.error()));
    }
    if (prepared->type == "response.create") {
      // One model call of the caller key: refused here like the POST route refuses before the
      // backend; the socket stays open for the next turn.
      if (auto refusal = s_.keys.admitTurn(prepared->model)) return sendToClient(ws::Opcode::kText, *refusal);
    }
    turns_.onClientMessage(prepared->type);
    return sendToBackend(ws::Opcode::kText, prepared->forward);
  }

  bool processBackend() {
    ws::Message m;
    for (;;) {
      const auto status = from_backend_.next(m);
      if (status == ws::MessageReader::Status::kNeedMore) return true;
      if (status == ws::MessageReader::Status::kError) {
        const ws::CloseCode code = from_backend_.errorCode();
        sendToBackend(ws::Opcode::kClose, ws::closePayload(code));
        // The client did nothing wrong: a message too big is still 1009 to it, anything else 1011.
        sendCloseToClient(code == ws::CloseCode::kMessageTooBig ? code : ws::CloseCode::kInternalError,
                          from_backend_.errorReason());
        common::logWarn("websocket_backend_protocol_error")
            .field("request_id", s_.request_id)
            .field("code", static_cast<int>(code));
        end_.reason = "backend_protocol_error";
        return false;
      }
      last_message_ = Clock::now();
      switch (m.opcode) {
        case ws::Opcode::kPing:
          if (!sendToBackend(ws::Opcode::kPong, m.payload)) return false;
          continue;
        case ws::Opcode::kPong:
          continue;
        case ws::Opcode::kClose:
          passClose(m.payload, /*from_client=*/false);
          return false;
        case ws::Opcode::kText: {
          ++end_.backend_messages;
          WsTurns::Verdict verdict = turns_.onBackendMessage(m.payload, unixSeconds());
          if (verdict.replaced) {
            common::logInfo("websocket_failed_before_output")
                .field("request_id", s_.request_id)
                .field("status", verdict.status);
          }
          if (verdict.call_ended) s_.keys.turnEnded(verdict.replaced ? verdict.status : 200, m.payload);
          if (!sendToClient(ws::Opcode::kText, verdict.replaced ? verdict.text : m.payload)) return false;
          if (verdict.call_ended && draining_ && !turns_.inCall()) {
            closeBoth(ws::CloseCode::kGoingAway, "the proxy is restarting", "draining");
            return false;
          }
          continue;
        }
        default:
          ++end_.backend_messages;
          if (!sendToClient(m.opcode, m.payload)) return false;
          continue;
      }
    }
  }

  // A close from one side: passed to the other with its code when that code may be sent (1005 =
  // none given: an empty close; a payload that is not a valid close is a protocol error), the
  // sender gets its close echoed (§5.5.1), then both are closed.
  void passClose(const std::string& payload, bool from_client) {
    ws::CloseInfo info;
    std::string forward;
    if (!ws::parseClosePayload(payload, info)) {
      forward = ws::closePayload(ws::CloseCode::kProtocolError);
    } else if (info.code != static_cast<std::uint16_t>(ws::CloseCode::kNoStatus)) {
      forward = payload;
    }
    if (from_client) {
      sendToBackend(ws::Opcode::kClose, forward);
      sendToClient(ws::Opcode::kClose, forward);
      awaitBackendClose();
      end_.reason = "client_closed";
    } else {
      sendToClient(ws::Opcode::kClose, forward);
      sendToBackend(ws::Opcode::kClose, forward);
      end_.reason = "backend_closed";
    }
  }

  // After the client's close went to the backend: the backend's answering close (or its FIN),
  // within kCloseWait, so the backend ends the connection cleanly. Messages meanwhile are dropped:
  // the client has closed.
  void awaitBackendClose() {
    const auto until = Clock::now() + kCloseWait;
    ws::Message m;
    for (;;) {
      while (from_backend_.next(m) == ws::MessageReader::Status::kMessage) {
        if (m.opcode == ws::Opcode::kClose) return;
      }
      if (Clock::now() >= until) return;
      if (s_.backend->fill(until) != UpstreamConnection::IoStatus::Ok) return;
      takeBackendBytes();
    }
  }

  void closeBoth(ws::CloseCode code, std::string_view reason, const char* why) {
    sendCloseToClient(code, reason);
    sendToBackend(ws::Opcode::kClose, ws::closePayload(code, reason));
    awaitBackendClose();
    end_.reason = why;
  }

  void sendCloseToClient(ws::CloseCode code, std::string_view reason) {
    sendToClient(ws::Opcode::kClose, ws::closePayload(code, reason));
  }

  // ---- writing -----------------------------------------------------------------------------------

  bool sendToClient(ws::Opcode opcode, std::string_view payload) {
    if (client_closed_) return false;
    if (opcode == ws::Opcode::kClose) client_closed_ = true;
    const std::string frame = ws::buildFrame(opcode, payload);
    if (s_.client.writeAll(frame, Clock::now() + s_.send_timeout)) return true;
    client_closed_ = true;
    if (end_.reason[0] == '\0') {
      sendToBackend(ws::Opcode::kClose, ws::closePayload(ws::CloseCode::kGoingAway));
      end_.reason = "client_gone";
    }
    return false;
  }

  bool sendToBackend(ws::Opcode opcode, std::string_view payload) {
    if (backend_closed_) return false;
    if (opcode == ws::Opcode::kClose) backend_closed_ = true;
    const std::string frame = ws::buildMaskedFrame(opcode, payload, static_cast<std::uint32_t>(masks_()));
    if (s_.backend->sendAll(frame, Clock::now() + s_.send_timeout) == UpstreamConnection::IoStatus::Ok) return true;
    backend_closed_ = true;
    if (end_.reason[0] == '\0') {
      if (turns_.beforeOutput()) sendToClient(ws::Opcode::kText, wrappedErrorEvent(upstreamTruncatedError()));
      sendCloseToClient(ws::CloseCode::kInternalError, "the backend connection was lost");
      end_.reason = "backend_gone";
    }
    return false;
  }

  WsRelaySetup s_;
  ws::MessageReader from_client_;
  ws::MessageReader from_backend_;
  common::SplitMix64 masks_;
  CallHints hints_;
  WsTurns turns_;
  WsRelayEnd end_;
  Clock::time_point last_message_;
  bool draining_ = false;
  bool client_closed_ = false;
  bool backend_closed_ = false;
};

}  // namespace

WsRelayEnd relayWebSocket(WsRelaySetup setup) {
  // On the heap: a held WebSocket's thread keeps every stack page it touched (bench/README.md).
  auto relay = std::make_unique<Relay>(std::move(setup));
  return relay->run();
}

}  // namespace cosp::worker
