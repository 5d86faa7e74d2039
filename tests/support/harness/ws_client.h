#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/harness/raw_client.h"
#include "worker/ws/ws_message.h"

namespace cosp::test {

namespace ws = worker::ws;

// A WebSocket client for tests, over RawClient and the proxy's own codec (worker/ws): sends the
// upgrade, masked frames (whole messages, fragments or any raw bytes), and reads messages with
// deadlines. Against the fake backend (POCO's server WebSocket) it checks the codec against an
// independent implementation; against the proxy it plays the Codex CLI.
class WsClient {
 public:
  explicit WsClient(int port);

  bool connected() const { return raw_.connected(); }
  RawClient& raw() { return raw_; }

  // Sends `GET path` with the upgrade headers (version 13, a fresh key, `extra_headers` as
  // whole lines with CRLFs, `Authorization: Bearer <bearer>` unless empty) and reads the answer
  // head. On a 101 whose accept key matches, the WebSocket is open (`open()`); any other
  // answer is returned whole (body included when it came before the deadline).
  RawResponse upgrade(const std::string& path, const std::string& bearer, const std::string& extra_headers = "",
                      std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool open() const { return open_; }
  // What was wrong with a 101 (empty when it was right).
  const std::string& handshakeError() const { return handshake_error_; }

  bool sendText(std::string_view text);
  bool sendFrame(ws::Opcode opcode, std::string_view payload, bool fin = true);
  bool sendRaw(std::string_view bytes) { return raw_.send(bytes); }

  // The next message (control frames included), or nullopt at the deadline, at the end of the
  // connection or on a protocol error (then `error()` says which).
  std::optional<ws::Message> next(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Text messages until one whose JSON "type" is one of `final_types` (included), answering
  // pings; stops early on a close, an error or the deadline.
  std::vector<std::string> readUntilType(const std::vector<std::string>& final_types,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  const std::string& error() const { return error_; }
  bool closedByPeer() const { return close_received_; }
  const ws::CloseInfo& closeInfo() const { return close_info_; }

 private:
  RawClient raw_;
  ws::MessageReader reader_;
  std::size_t fed_ = 0;  // bytes of raw_.received() given to reader_
  bool open_ = false;
  bool close_received_ = false;
  ws::CloseInfo close_info_;
  std::string handshake_error_;
  std::string error_;
};

// The "type" of a JSON message ("" when it has none).
std::string messageType(std::string_view json);

}  // namespace cosp::test
