// WebSocket frames and messages (worker/ws/ws_message.h, ws_frame.h), fed in fuzzer-chosen pieces
// (fuzz_split.h) the way the relay reads a socket. Byte 0 also picks the reader: bit 4 = frames
// from a client (masked) rather than a server, bit 5 = RSV1 allowed (deflate negotiated), bits 6-7
// = the message cap (16 B, 125 B, 1 KiB, 1 MiB).
//
// Invariants:
//  - the messages and the final verdict (error code) do not depend on the split;
//  - a message is at most the cap, a control message at most 125 bytes, an uncompressed text
//    message is UTF-8; what the reader holds stays within one frame header plus two caps;
//  - every message re-encoded (one frame each, masked when from a client) reads back the same;
//  - parseClosePayload accepts only what closePayload-shaped bytes allow: code and UTF-8 reason.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/strings.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_split.h"
#include "worker/ws/ws_message.h"

namespace {

namespace ws = cosp::worker::ws;

struct Outcome {
  std::vector<ws::Message> messages;
  bool failed = false;
  ws::CloseCode code = ws::CloseCode::kNormal;
};

bool sameMessage(const ws::Message& a, const ws::Message& b) {
  return a.opcode == b.opcode && a.compressed == b.compressed && a.payload == b.payload;
}

Outcome readAll(const std::vector<std::string_view>& pieces, ws::Peer peer, std::size_t cap, bool rsv1) {
  Outcome out;
  ws::MessageReader reader(peer, cap, rsv1);
  for (std::string_view piece : pieces) {
    reader.feed(piece);
    ws::Message message;
    for (;;) {
      const auto status = reader.next(message);
      if (status == ws::MessageReader::Status::kNeedMore) break;
      if (status == ws::MessageReader::Status::kError) {
        out.failed = true;
        out.code = reader.errorCode();
        FUZZ_CHECK(!reader.errorReason().empty());
        FUZZ_CHECK(reader.bufferedBytes() == 0);
        return out;
      }
      FUZZ_CHECK(message.payload.size() <= cap);
      if (ws::isControl(message.opcode)) FUZZ_CHECK(message.payload.size() <= 125);
      if (message.opcode == ws::Opcode::kText && !message.compressed)
        FUZZ_CHECK(cosp::common::isValidUtf8(message.payload));
      FUZZ_CHECK(message.opcode != ws::Opcode::kContinuation);
      out.messages.push_back(message);
    }
    FUZZ_CHECK(reader.bufferedBytes() <= 14 + 2 * cap);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::size_t kCaps[] = {16, 125, 1024, 1 << 20};
  const ws::Peer peer = (data[0] & 0x10) != 0 ? ws::Peer::kClient : ws::Peer::kServer;
  const bool rsv1 = (data[0] & 0x20) != 0;
  const std::size_t cap = kCaps[(data[0] >> 6) & 3];
  const cosp::fuzz::SplitInput input = cosp::fuzz::splitInput(data, size);

  const Outcome split = readAll(input.pieces, peer, cap, rsv1);
  const Outcome whole = readAll({input.payload}, peer, cap, rsv1);
  FUZZ_CHECK(split.failed == whole.failed);
  FUZZ_CHECK(split.code == whole.code);
  FUZZ_CHECK(split.messages.size() == whole.messages.size());
  for (std::size_t i = 0; i < split.messages.size(); ++i) FUZZ_CHECK(sameMessage(split.messages[i], whole.messages[i]));

  std::string encoded;
  for (std::size_t i = 0; i < whole.messages.size(); ++i) {
    const ws::Message& m = whole.messages[i];
    encoded += peer == ws::Peer::kClient
                   ? ws::buildMaskedFrame(m.opcode, m.payload, 0x9E3779B9u * static_cast<std::uint32_t>(i + 1), true,
                                          m.compressed)
                   : ws::buildFrame(m.opcode, m.payload, true, m.compressed);
  }
  const Outcome again = readAll({encoded}, peer, cap, rsv1);
  FUZZ_CHECK(!again.failed);
  FUZZ_CHECK(again.messages.size() == whole.messages.size());
  for (std::size_t i = 0; i < again.messages.size(); ++i) FUZZ_CHECK(sameMessage(again.messages[i], whole.messages[i]));

  for (const ws::Message& m : whole.messages) {
    if (m.opcode != ws::Opcode::kClose) continue;
    ws::CloseInfo info;
    if (!ws::parseClosePayload(m.payload, info)) continue;
    FUZZ_CHECK(cosp::common::isValidUtf8(info.reason));
    if (!m.payload.empty()) FUZZ_CHECK(info.reason.size() + 2 == m.payload.size());
  }
  return 0;
}
