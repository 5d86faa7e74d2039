#include "worker/ws/ws_message.h"

#include <utility>

#include "common/util/strings.h"

namespace cosp::worker::ws {

MessageReader::MessageReader(Peer sender, std::size_t max_message_bytes, bool allow_rsv1)
    // A single frame can never be larger than a message, so the parser refuses it from its header.
    : parser_(sender, max_message_bytes, allow_rsv1), max_message_bytes_(max_message_bytes) {}

MessageReader::Status MessageReader::fail(CloseCode code, std::string reason) {
  failed_ = true;
  error_code_ = code;
  error_reason_ = std::move(reason);
  common::clearAndTrim(partial_);
  parser_.fail(code, error_reason_);  // drop what is buffered; later input is ignored
  return Status::kError;
}

MessageReader::Status MessageReader::next(Message& out) {
  if (failed_) return Status::kError;
  for (;;) {
    const FrameParser::Status status = parser_.next(frame_);
    if (status == FrameParser::Status::kNeedMore) return Status::kNeedMore;
    if (status == FrameParser::Status::kError) return fail(parser_.errorCode(), parser_.errorReason());

    if (isControl(frame_.opcode)) {
      out.opcode = frame_.opcode;
      out.compressed = false;
      out.payload = std::move(frame_.payload);
      return Status::kMessage;
    }
    if (frame_.opcode == Opcode::kContinuation) {
      if (!open_) return fail(CloseCode::kProtocolError, "continuation without a message");
      if (frame_.payload.size() > max_message_bytes_ - partial_.size())
        return fail(CloseCode::kMessageTooBig, "message too big");
      partial_.append(frame_.payload);
    } else {
      if (open_) return fail(CloseCode::kProtocolError, "new message inside a fragmented one");
      open_ = true;
      open_opcode_ = frame_.opcode;
      open_compressed_ = frame_.rsv1;
      // The usual case, one frame per message, moves the payload instead of copying it.
      partial_ = std::move(frame_.payload);
    }
    if (!frame_.fin) continue;

    open_ = false;
    if (open_opcode_ == Opcode::kText && !open_compressed_ && !common::isValidUtf8(partial_))
      return fail(CloseCode::kInvalidPayload, "text message is not UTF-8");
    out.opcode = open_opcode_;
    out.compressed = open_compressed_;
    out.payload = std::move(partial_);
    partial_.clear();
    return Status::kMessage;
  }
}

}  // namespace cosp::worker::ws
