#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "worker/ws/ws_frame.h"

namespace cosp::worker::ws {

// One message as the application sees it: a data message reassembled from its fragments, or a
// control frame (which RFC 6455 §5.4 lets arrive between the fragments of a data message).
struct Message {
  Opcode opcode = Opcode::kText;  // kText, kBinary, kClose, kPing or kPong
  bool compressed = false;        // RSV1 on the first frame (permessage-deflate): payload still deflated
  std::string payload;
};

// Reads messages from a byte stream: frames (FrameParser) reassembled into messages of at most
// `max_message_bytes` (1009 beyond, decided before the next fragment is appended). Refuses a
// continuation without a message begun, a data frame while one is still open, and an
// uncompressed text message that is not UTF-8 (1007). Ignores input after an error.
class MessageReader {
 public:
  enum class Status { kNeedMore, kMessage, kError };

  MessageReader(Peer sender, std::size_t max_message_bytes, bool allow_rsv1 = false);

  void feed(std::string_view bytes) { parser_.feed(bytes); }
  Status next(Message& out);

  CloseCode errorCode() const { return failed_ ? error_code_ : parser_.errorCode(); }
  const std::string& errorReason() const { return failed_ ? error_reason_ : parser_.errorReason(); }
  // Bytes held: unparsed input plus the fragments of an open message.
  std::size_t bufferedBytes() const { return parser_.bufferedBytes() + partial_.size(); }

 private:
  Status fail(CloseCode code, std::string reason);

  FrameParser parser_;
  std::size_t max_message_bytes_;
  Frame frame_;
  bool open_ = false;  // a data message has begun and not ended
  Opcode open_opcode_ = Opcode::kText;
  bool open_compressed_ = false;
  std::string partial_;
  bool failed_ = false;
  CloseCode error_code_ = CloseCode::kNormal;
  std::string error_reason_;
};

}  // namespace cosp::worker::ws
