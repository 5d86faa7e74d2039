#include "worker/ws/ws_frame.h"

#include <gtest/gtest.h>

#include <string>

namespace cosp::worker::ws {
namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

constexpr std::size_t kCap = 1 << 20;

// RFC 6455 §5.7: a masked "Hello" from a client.
const std::string kMaskedHello = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});

TEST(WsFrameParser, ReadsTheRfcMaskedHelloFromAClient) {
  FrameParser parser(Peer::kClient, kCap);
  parser.feed(kMaskedHello);
  Frame frame;
  ASSERT_EQ(parser.next(frame), FrameParser::Status::kFrame);
  EXPECT_TRUE(frame.fin);
  EXPECT_FALSE(frame.rsv1);
  EXPECT_EQ(frame.opcode, Opcode::kText);
  EXPECT_EQ(frame.payload, "Hello");
  EXPECT_EQ(parser.next(frame), FrameParser::Status::kNeedMore);
  EXPECT_EQ(parser.bufferedBytes(), 0u);
}

TEST(WsFrameParser, ReadsAFrameFedOneByteAtATime) {
  FrameParser parser(Peer::kClient, kCap);
  Frame frame;
  for (std::size_t i = 0; i + 1 < kMaskedHello.size(); ++i) {
    parser.feed(kMaskedHello.substr(i, 1));
    ASSERT_EQ(parser.next(frame), FrameParser::Status::kNeedMore) << "after byte " << i;
  }
  parser.feed(kMaskedHello.substr(kMaskedHello.size() - 1));
  ASSERT_EQ(parser.next(frame), FrameParser::Status::kFrame);
  EXPECT_EQ(frame.payload, "Hello");
}

TEST(WsFrameParser, ReadsTheRfcUnmaskedFramesFromAServer) {
  FrameParser parser(Peer::kServer, kCap);
  // "Hel" + "lo" fragmented, then an unmasked ping "Hello" (§5.7).
  parser.feed(bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f, 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  Frame frame;
  ASSERT_EQ(parser.next(frame), FrameParser::Status::kFrame);
  EXPECT_FALSE(frame.fin);
  EXPECT_EQ(frame.opcode, Opcode::kText);
  EXPECT_EQ(frame.payload, "Hel");
  ASSERT_EQ(parser.next(frame), FrameParser::Status::kFrame);
  EXPECT_TRUE(frame.fin);
  EXPECT_EQ(frame.opcode, Opcode::kContinuation);
  EXPECT_EQ(frame.payload, "lo");
  ASSERT_EQ(parser.next(frame), FrameParser::Status::kFrame);
  EXPECT_EQ(frame.opcode, Opcode::kPing);
  EXPECT_EQ(frame.payload, "Hello");
}

TEST(WsFrameParser, ReadsSixteenAndSixtyFourBitLengths) {
  FrameParser parser(Peer::kServer, kCap);
  const std::string medium(256, 'm');
  const std::string large(65536, 'L');
  std::string wire = bytes({0x82, 0x7E, 0x01, 0x00}) + medium;
  wire += bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}) + large;
  parser.feed(wire);
  Frame frame;
  ASSERT_EQ(parser.next(frame), FrameParser::Status::kFrame);
  EXPECT_EQ(frame.opcode, Opcode::kBinary);
  EXPECT_EQ(frame.payload, medium);
  ASSERT_EQ(parser.next(frame), FrameParser::Status::kFrame);
  EXPECT_EQ(frame.payload, large);
}

TEST(WsFrameParser, RefusesAnUnmaskedClientFrameAndAMaskedServerFrame) {
  FrameParser server_side(Peer::kClient, kCap);
  server_side.feed(bytes({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}));
  Frame frame;
  EXPECT_EQ(server_side.next(frame), FrameParser::Status::kError);
  EXPECT_EQ(server_side.errorCode(), CloseCode::kProtocolError);

  FrameParser client_side(Peer::kServer, kCap);
  client_side.feed(kMaskedHello);
  EXPECT_EQ(client_side.next(frame), FrameParser::Status::kError);
  EXPECT_EQ(client_side.errorCode(), CloseCode::kProtocolError);
}

struct BadHeader {
  const char* name;
  std::string wire;
  CloseCode code;
};

TEST(WsFrameParser, RefusesMalformedHeadersWithTheirCloseCode) {
  const BadHeader cases[] = {
      {"rsv1 not negotiated", bytes({0xC1, 0x80, 0, 0, 0, 0}), CloseCode::kProtocolError},
      {"rsv2", bytes({0xA1, 0x80, 0, 0, 0, 0}), CloseCode::kProtocolError},
      {"rsv3", bytes({0x91, 0x80, 0, 0, 0, 0}), CloseCode::kProtocolError},
      {"opcode 3", bytes({0x83, 0x80, 0, 0, 0, 0}), CloseCode::kProtocolError},
      {"opcode 0xB", bytes({0x8B, 0x80, 0, 0, 0, 0}), CloseCode::kProtocolError},
      {"fragmented ping", bytes({0x09, 0x80, 0, 0, 0, 0}), CloseCode::kProtocolError},
      {"ping of 126 bytes", bytes({0x89, 0xFE, 0x00, 0x7E}), CloseCode::kProtocolError},
      {"16-bit length under 126", bytes({0x81, 0xFE, 0x00, 0x7D}), CloseCode::kProtocolError},
      {"64-bit length under 65536", bytes({0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}), CloseCode::kProtocolError},
      {"64-bit length with the top bit", bytes({0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}), CloseCode::kProtocolError},
      {"over the cap", bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 0x20, 0, 0}), CloseCode::kMessageTooBig},
  };
  for (const BadHeader& c : cases) {
    FrameParser parser(Peer::kClient, kCap);
    parser.feed(c.wire);
    Frame frame;
    EXPECT_EQ(parser.next(frame), FrameParser::Status::kError) << c.name;
    EXPECT_EQ(parser.errorCode(), c.code) << c.name;
    EXPECT_FALSE(parser.errorReason().empty()) << c.name;
    // The error sticks and further input is ignored.
    parser.feed(kMaskedHello);
    EXPECT_EQ(parser.next(frame), FrameParser::Status::kError) << c.name;
    EXPECT_EQ(parser.bufferedBytes(), 0u) << c.name;
  }
}

TEST(WsFrameParser, RefusesAnOversizedFrameFromItsHeaderAlone) {
  FrameParser parser(Peer::kServer, 1000);
  parser.feed(bytes({0x82, 0x7E, 0x03, 0xE9}));  // 1001 bytes announced, none sent
  Frame frame;
  EXPECT_EQ(parser.next(frame), FrameParser::Status::kError);
  EXPECT_EQ(parser.errorCode(), CloseCode::kMessageTooBig);
}

TEST(WsFrameParser, AcceptsRsv1OnlyWhenNegotiatedAndOnlyOnAFirstDataFrame) {
  FrameParser parser(Peer::kServer, kCap, /*allow_rsv1=*/true);
  parser.feed(bytes({0xC1, 0x02, 'a', 'b'}));
  Frame frame;
  ASSERT_EQ(parser.next(frame), FrameParser::Status::kFrame);
  EXPECT_TRUE(frame.rsv1);
  parser.feed(bytes({0xC9, 0x00}));  // a compressed ping does not exist
  EXPECT_EQ(parser.next(frame), FrameParser::Status::kError);
  EXPECT_EQ(parser.errorCode(), CloseCode::kProtocolError);
}

TEST(WsFrameBuilder, BuildsTheRfcExamples) {
  EXPECT_EQ(buildFrame(Opcode::kText, "Hello"), bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  EXPECT_EQ(buildMaskedFrame(Opcode::kText, "Hello", 0x37fa213d), kMaskedHello);
  EXPECT_EQ(buildFrame(Opcode::kText, "Hel", /*fin=*/false), bytes({0x01, 0x03, 0x48, 0x65, 0x6c}));
  EXPECT_EQ(buildMaskedFrame(Opcode::kPong, "Hello", 0x37fa213d),
            bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  const std::string medium = buildFrame(Opcode::kBinary, std::string(256, 'x'));
  EXPECT_EQ(medium.substr(0, 4), bytes({0x82, 0x7E, 0x01, 0x00}));
  EXPECT_EQ(medium.size(), 4u + 256u);
  const std::string large = buildFrame(Opcode::kBinary, std::string(65536, 'x'));
  EXPECT_EQ(large.substr(0, 10), bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
  EXPECT_EQ(large.size(), 10u + 65536u);
  EXPECT_EQ(buildFrame(Opcode::kText, "x", true, /*rsv1=*/true).substr(0, 1), bytes({0xC1}));
}

TEST(WsFrameBuilder, RoundTripsEveryLengthClassThroughTheParser) {
  for (std::size_t size : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70000u}) {
    std::string payload(size, '\0');
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 31);
    FrameParser server_reads(Peer::kClient, kCap);
    server_reads.feed(buildMaskedFrame(Opcode::kBinary, payload, 0xA1B2C3D4));
    Frame frame;
    ASSERT_EQ(server_reads.next(frame), FrameParser::Status::kFrame) << size;
    EXPECT_EQ(frame.payload, payload) << size;
    FrameParser client_reads(Peer::kServer, kCap);
    client_reads.feed(buildFrame(Opcode::kBinary, payload));
    ASSERT_EQ(client_reads.next(frame), FrameParser::Status::kFrame) << size;
    EXPECT_EQ(frame.payload, payload) << size;
  }
}

TEST(WsClose, BuildsAndParsesCloseFrames) {
  EXPECT_EQ(closePayload(CloseCode::kMessageTooBig, "too big"), bytes({0x03, 0xF1}) + "too big");
  // A long reason is cut to 123 bytes, backing off from the middle of a UTF-8 sequence ("é" = C3 A9).
  const std::string reason = std::string(122, 'a') + "\xC3\xA9";
  const std::string payload = closePayload(CloseCode::kNormal, reason);
  EXPECT_EQ(payload.size(), 2u + 122u);
  EXPECT_EQ(buildFrame(Opcode::kClose, payload).size(), 2u + 124u);

  CloseInfo info;
  ASSERT_TRUE(parseClosePayload("", info));
  EXPECT_EQ(info.code, 1005);
  ASSERT_TRUE(parseClosePayload(bytes({0x03, 0xE8}) + "bye", info));
  EXPECT_EQ(info.code, 1000);
  EXPECT_EQ(info.reason, "bye");
  ASSERT_TRUE(parseClosePayload(bytes({0x0F, 0xA0}), info));  // 4000: private use
  EXPECT_EQ(info.code, 4000);
  EXPECT_FALSE(parseClosePayload(bytes({0x03}), info));
  EXPECT_FALSE(parseClosePayload(bytes({0x03, 0xED}), info));        // 1005 may not be sent
  EXPECT_FALSE(parseClosePayload(bytes({0x03, 0xEE}), info));        // 1006 either
  EXPECT_FALSE(parseClosePayload(bytes({0x03, 0xE7}), info));        // 999
  EXPECT_FALSE(parseClosePayload(bytes({0x13, 0x88}), info));        // 5000
  EXPECT_FALSE(parseClosePayload(bytes({0x03, 0xE8, 0xFF}), info));  // reason not UTF-8
}

}  // namespace
}  // namespace cosp::worker::ws
