#include "worker/ws/ws_frame.h"

#include <algorithm>
#include <utility>

#include "common/util/strings.h"

namespace cosp::worker::ws {

namespace {

constexpr std::size_t kMaxControlPayload = 125;

bool isKnownOpcode(std::uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

std::uint8_t keyByte(std::uint32_t key, std::size_t i) { return static_cast<std::uint8_t>(key >> (8 * (3 - (i & 3)))); }

std::string frameHeader(Opcode opcode, std::size_t length, bool fin, bool rsv1, bool masked) {
  std::string head;
  head.reserve(14);
  head.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<std::uint8_t>(opcode)));
  const std::uint8_t mask_bit = masked ? 0x80 : 0;
  if (length <= 125) {
    head.push_back(static_cast<char>(mask_bit | length));
  } else if (length <= 0xFFFF) {
    head.push_back(static_cast<char>(mask_bit | 126));
    head.push_back(static_cast<char>(length >> 8));
    head.push_back(static_cast<char>(length & 0xFF));
  } else {
    head.push_back(static_cast<char>(mask_bit | 127));
    const auto len64 = static_cast<std::uint64_t>(length);
    for (int shift = 56; shift >= 0; shift -= 8) head.push_back(static_cast<char>((len64 >> shift) & 0xFF));
  }
  return head;
}

// Codes an endpoint may put in a close frame (RFC 6455 §7.4.1, §7.4.2; 1012-1014 registered since).
bool isSendableCloseCode(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1014) return false;
  return code != 1004 && code != 1005 && code != 1006;
}

}  // namespace

void applyMask(char* data, std::size_t size, std::uint32_t mask_key, std::size_t offset) {
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(data[i] ^ keyByte(mask_key, offset + i));
}

FrameParser::FrameParser(Peer sender, std::size_t max_frame_payload, bool allow_rsv1)
    : sender_(sender), max_frame_payload_(max_frame_payload), allow_rsv1_(allow_rsv1) {}

void FrameParser::feed(std::string_view bytes) {
  if (failed_) return;
  // Drop what was consumed before growing, so the buffer holds at most one frame plus a read.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

FrameParser::Status FrameParser::failWith(CloseCode code, std::string reason) {
  failed_ = true;
  error_code_ = code;
  error_reason_ = std::move(reason);
  common::clearAndTrim(buffer_);
  consumed_ = 0;
  return Status::kError;
}

FrameParser::Status FrameParser::next(Frame& out) {
  if (failed_) return Status::kError;
  const auto* p = reinterpret_cast<const std::uint8_t*>(buffer_.data()) + consumed_;
  const std::size_t avail = buffer_.size() - consumed_;
  if (avail < 2) return Status::kNeedMore;

  const bool fin = (p[0] & 0x80) != 0;
  const bool rsv1 = (p[0] & 0x40) != 0;
  const std::uint8_t op = p[0] & 0x0F;
  if ((p[0] & 0x30) != 0 || (rsv1 && !allow_rsv1_)) return failWith(CloseCode::kProtocolError, "reserved bit set");
  if (!isKnownOpcode(op)) return failWith(CloseCode::kProtocolError, "unknown opcode");
  const auto opcode = static_cast<Opcode>(op);
  const bool masked = (p[1] & 0x80) != 0;
  if (masked != (sender_ == Peer::kClient))
    return failWith(CloseCode::kProtocolError,
                    sender_ == Peer::kClient ? "client frame not masked" : "server frame masked");
  if (isControl(opcode) && !fin) return failWith(CloseCode::kProtocolError, "fragmented control frame");
  // RFC 7692 §6: RSV1 marks the first frame of a compressed data message only.
  if (rsv1 && (isControl(opcode) || opcode == Opcode::kContinuation))
    return failWith(CloseCode::kProtocolError, "RSV1 on a control or continuation frame");

  std::size_t header = 2;
  std::uint64_t length = p[1] & 0x7F;
  if (length == 126) {
    if (avail < 4) return Status::kNeedMore;
    length = (std::uint64_t{p[2]} << 8) | p[3];
    header = 4;
    if (length < 126) return failWith(CloseCode::kProtocolError, "non-minimal length");
  } else if (length == 127) {
    if (avail < 10) return Status::kNeedMore;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
    header = 10;
    if ((length >> 63) != 0) return failWith(CloseCode::kProtocolError, "length over 2^63");
    if (length <= 0xFFFF) return failWith(CloseCode::kProtocolError, "non-minimal length");
  }
  if (isControl(opcode) && length > kMaxControlPayload)
    return failWith(CloseCode::kProtocolError, "control frame over 125 bytes");
  if (length > max_frame_payload_) return failWith(CloseCode::kMessageTooBig, "frame too big");

  std::uint32_t mask_key = 0;
  if (masked) {
    if (avail < header + 4) return Status::kNeedMore;
    mask_key = (std::uint32_t{p[header]} << 24) | (std::uint32_t{p[header + 1]} << 16) |
               (std::uint32_t{p[header + 2]} << 8) | std::uint32_t{p[header + 3]};
    header += 4;
  }
  const auto size = static_cast<std::size_t>(length);
  if (avail - header < size) return Status::kNeedMore;

  out.fin = fin;
  out.rsv1 = rsv1;
  out.opcode = opcode;
  out.payload.assign(reinterpret_cast<const char*>(p) + header, size);
  if (masked) applyMask(out.payload.data(), size, mask_key);
  consumed_ += header + size;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  return Status::kFrame;
}

std::string buildFrame(Opcode opcode, std::string_view payload, bool fin, bool rsv1) {
  std::string frame = frameHeader(opcode, payload.size(), fin, rsv1, false);
  frame.append(payload);
  return frame;
}

std::string buildMaskedFrame(Opcode opcode, std::string_view payload, std::uint32_t mask_key, bool fin, bool rsv1) {
  std::string frame = frameHeader(opcode, payload.size(), fin, rsv1, true);
  for (int shift = 24; shift >= 0; shift -= 8) frame.push_back(static_cast<char>((mask_key >> shift) & 0xFF));
  const std::size_t start = frame.size();
  frame.append(payload);
  applyMask(frame.data() + start, payload.size(), mask_key);
  return frame;
}

std::string closePayload(CloseCode code, std::string_view reason) {
  const auto value = static_cast<std::uint16_t>(code);
  std::string out;
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xFF));
  std::size_t cut = std::min(reason.size(), kMaxControlPayload - 2);
  // Back off to a UTF-8 boundary: a continuation byte is 10xxxxxx.
  while (cut > 0 && cut < reason.size() && (static_cast<std::uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
  out.append(reason.substr(0, cut));
  return out;
}

bool parseClosePayload(std::string_view payload, CloseInfo& out) {
  out = CloseInfo{};
  if (payload.empty()) return true;
  if (payload.size() == 1) return false;
  const auto code =
      static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) | static_cast<std::uint8_t>(payload[1]));
  if (!isSendableCloseCode(code)) return false;
  const std::string_view reason = payload.substr(2);
  if (!common::isValidUtf8(reason)) return false;
  out.code = code;
  out.reason = std::string(reason);
  return true;
}

}  // namespace cosp::worker::ws
