#include "tests/support/harness/ws_client.h"

#include <random>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "worker/ws/ws_handshake.h"

namespace cosp::test {

namespace {

constexpr std::size_t kMaxMessage = 64 * 1024 * 1024;

std::uint32_t randomMask() {
  static thread_local std::mt19937 engine{std::random_device{}()};
  return static_cast<std::uint32_t>(engine());
}

}  // namespace

std::string messageType(std::string_view json) {
  auto parsed = common::parseJsonObject(json);
  return parsed ? common::jsonStringOr(*parsed, "type") : std::string();
}

WsClient::WsClient(int port) : raw_(port), reader_(ws::Peer::kServer, kMaxMessage) {}

RawResponse WsClient::upgrade(const std::string& path, const std::string& bearer, const std::string& extra_headers,
                              std::chrono::milliseconds timeout) {
  const std::string key = ws::makeClientKey();
  std::string head = "GET " + path +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
                     key + "\r\n";
  if (!bearer.empty()) head += "Authorization: Bearer " + bearer + "\r\n";
  head += extra_headers + "\r\n";
  RawResponse response;
  if (!raw_.send(head)) return response;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::size_t used = parseResponse(raw_.received(), raw_.closed(), response);
    // A 101 has no body: the head alone completes it, and the frames follow.
    if (used != std::string::npos ||
        (response.status == 101 && raw_.received().find("\r\n\r\n") != std::string::npos)) {
      if (response.status == 101) {
        fed_ = raw_.received().find("\r\n\r\n") + 4;
        handshake_error_ = ws::checkServerHandshake(101, response.headers, key, false);
        open_ = handshake_error_.empty();
      }
      return response;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || raw_.closed()) return response;
    raw_.readSome(static_cast<int>(left.count()));
  }
}

bool WsClient::sendText(std::string_view text) { return sendFrame(ws::Opcode::kText, text); }

bool WsClient::sendFrame(ws::Opcode opcode, std::string_view payload, bool fin) {
  return raw_.send(ws::buildMaskedFrame(opcode, payload, randomMask(), fin));
}

std::optional<ws::Message> WsClient::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ws::Message message;
  for (;;) {
    if (fed_ < raw_.received().size()) {
      reader_.feed(std::string_view(raw_.received()).substr(fed_));
      fed_ = raw_.received().size();
    }
    switch (reader_.next(message)) {
      case ws::MessageReader::Status::kMessage:
        if (message.opcode == ws::Opcode::kClose) {
          close_received_ = true;
          if (!ws::parseClosePayload(message.payload, close_info_)) error_ = "invalid close payload";
        }
        return message;
      case ws::MessageReader::Status::kError:
        error_ = reader_.errorReason();
        return std::nullopt;
      case ws::MessageReader::Status::kNeedMore:
        break;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (raw_.closed()) {
      error_ = "connection closed";
      return std::nullopt;
    }
    if (left.count() <= 0) {
      error_ = "timeout";
      return std::nullopt;
    }
    raw_.readSome(static_cast<int>(left.count()));
  }
}

std::vector<std::string> WsClient::readUntilType(const std::vector<std::string>& final_types,
                                                 std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> texts;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return texts;
    auto message = next(left);
    if (!message || message->opcode == ws::Opcode::kClose) return texts;
    if (message->opcode == ws::Opcode::kPing) {
      sendFrame(ws::Opcode::kPong, message->payload);
      continue;
    }
    if (message->opcode != ws::Opcode::kText) continue;
    texts.push_back(std::move(message->payload));
    const std::string type = messageType(texts.back());
    for (const std::string& final_type : final_types)
      if (type == final_type) return texts;
  }
}

}  // namespace cosp::test
