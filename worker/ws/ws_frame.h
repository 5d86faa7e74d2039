#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace cosp::worker::ws {

// RFC 6455 frame codec: pure code, no sockets (docs/ARCHITECTURE.md §7 says why the proxy frames
// WebSocket itself instead of using Poco::Net::WebSocket).

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

inline bool isControl(Opcode op) { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

// Close status codes (RFC 6455 §7.4.1) the proxy sends.
enum class CloseCode : std::uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kNoStatus = 1005,  // never sent: a close frame without a payload is read as this
  kInvalidPayload = 1007,
  kPolicyViolation = 1008,
  kMessageTooBig = 1009,
  kInternalError = 1011,
  kTryAgainLater = 1013,
};

// Who reads the frames: a server reads a client's frames, which must be masked (§5.1); a client
// reads a server's, which must not be.
enum class Peer { kClient, kServer };

// One frame as read, its payload unmasked.
struct Frame {
  bool fin = true;
  bool rsv1 = false;  // permessage-deflate's "compressed" bit (RFC 7692), only valid when negotiated
  Opcode opcode = Opcode::kText;
  std::string payload;
};

// Incremental frame parser over byte chunks of any size. Refuses, with the close code to send:
// reserved bits not negotiated (RSV1 is allowed only when `allow_rsv1`), unknown opcodes, a mask
// bit that does not fit the sender, control frames that are fragmented or over 125 bytes, a
// non-minimal or 2^63+ length, and a payload over `max_frame_payload` (1009, decided from the
// header before the payload is buffered). After an error it ignores further input.
class FrameParser {
 public:
  enum class Status { kNeedMore, kFrame, kError };

  FrameParser(Peer sender, std::size_t max_frame_payload, bool allow_rsv1 = false);

  // Appends bytes to the internal buffer.
  void feed(std::string_view bytes);
  // Takes the next complete frame out of the buffer.
  Status next(Frame& out);

  // Enters the error state from outside (the message layer refused a frame): buffered input is
  // dropped and further input ignored.
  void fail(CloseCode code, std::string reason) { failWith(code, std::move(reason)); }

  CloseCode errorCode() const { return error_code_; }
  const std::string& errorReason() const { return error_reason_; }
  // Bytes fed but not yet returned as frames.
  std::size_t bufferedBytes() const { return buffer_.size() - consumed_; }

 private:
  Status failWith(CloseCode code, std::string reason);

  Peer sender_;
  std::size_t max_frame_payload_;
  bool allow_rsv1_;
  std::string buffer_;
  std::size_t consumed_ = 0;
  bool failed_ = false;
  CloseCode error_code_ = CloseCode::kNormal;
  std::string error_reason_;
};

// Builds one frame. A server's frames are unmasked; a client's are masked with `mask_key`
// (RFC 6455 §5.3 wants it unpredictable: the caller draws it per frame).
std::string buildFrame(Opcode opcode, std::string_view payload, bool fin = true, bool rsv1 = false);
std::string buildMaskedFrame(Opcode opcode, std::string_view payload, std::uint32_t mask_key, bool fin = true,
                             bool rsv1 = false);

// A close frame's payload: the code in network order and a reason cut to fit 123 bytes on a UTF-8
// boundary.
std::string closePayload(CloseCode code, std::string_view reason = {});

// A received close payload: empty = 1005; 1 byte, a code that may not be sent (§7.4.1/§7.4.2),
// or a reason that is not UTF-8 is a protocol error (false).
struct CloseInfo {
  std::uint16_t code = static_cast<std::uint16_t>(CloseCode::kNoStatus);
  std::string reason;
};
bool parseClosePayload(std::string_view payload, CloseInfo& out);

// XORs `data` in place with the 4-byte key, starting at key byte `offset % 4`.
void applyMask(char* data, std::size_t size, std::uint32_t mask_key, std::size_t offset = 0);

}  // namespace cosp::worker::ws
