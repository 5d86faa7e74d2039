#include "worker/ws/ws_message.h"

#include <gtest/gtest.h>

#include <string>

namespace cosp::worker::ws {
namespace {

constexpr std::uint32_t kKey = 0x01020304;

std::string clientFrame(Opcode op, std::string_view payload, bool fin = true) {
  return buildMaskedFrame(op, payload, kKey, fin);
}

TEST(WsMessageReader, ReassemblesFragmentsAroundAControlFrame) {
  MessageReader reader(Peer::kClient, 1024);
  reader.feed(clientFrame(Opcode::kText, R"({"type":"resp)", false));
  reader.feed(clientFrame(Opcode::kPing, "p"));
  reader.feed(clientFrame(Opcode::kContinuation, R"(onse.create",)", false));
  reader.feed(clientFrame(Opcode::kContinuation, R"("model":"gpt-5.4"})"));
  Message message;
  ASSERT_EQ(reader.next(message), MessageReader::Status::kMessage);
  EXPECT_EQ(message.opcode, Opcode::kPing);
  EXPECT_EQ(message.payload, "p");
  ASSERT_EQ(reader.next(message), MessageReader::Status::kMessage);
  EXPECT_EQ(message.opcode, Opcode::kText);
  EXPECT_FALSE(message.compressed);
  EXPECT_EQ(message.payload, R"({"type":"response.create","model":"gpt-5.4"})");
  EXPECT_EQ(reader.next(message), MessageReader::Status::kNeedMore);
  EXPECT_EQ(reader.bufferedBytes(), 0u);
}

TEST(WsMessageReader, ReadsConsecutiveMessagesAndCloseFromOneChunk) {
  MessageReader reader(Peer::kServer, 1024);
  reader.feed(buildFrame(Opcode::kText, "one") + buildFrame(Opcode::kBinary, std::string("\x00\xFF", 2)) +
              buildFrame(Opcode::kClose, closePayload(CloseCode::kNormal)));
  Message message;
  ASSERT_EQ(reader.next(message), MessageReader::Status::kMessage);
  EXPECT_EQ(message.payload, "one");
  ASSERT_EQ(reader.next(message), MessageReader::Status::kMessage);
  EXPECT_EQ(message.opcode, Opcode::kBinary);
  EXPECT_EQ(message.payload, std::string("\x00\xFF", 2));
  ASSERT_EQ(reader.next(message), MessageReader::Status::kMessage);
  EXPECT_EQ(message.opcode, Opcode::kClose);
}

TEST(WsMessageReader, CapsTheReassembledMessage) {
  MessageReader reader(Peer::kClient, 10);
  reader.feed(clientFrame(Opcode::kText, "123456", false));
  reader.feed(clientFrame(Opcode::kContinuation, "7890"));
  Message message;
  ASSERT_EQ(reader.next(message), MessageReader::Status::kMessage);
  EXPECT_EQ(message.payload, "1234567890");

  reader.feed(clientFrame(Opcode::kText, "123456", false));
  reader.feed(clientFrame(Opcode::kContinuation, "78901"));
  EXPECT_EQ(reader.next(message), MessageReader::Status::kError);
  EXPECT_EQ(reader.errorCode(), CloseCode::kMessageTooBig);
  EXPECT_EQ(reader.bufferedBytes(), 0u);
}

TEST(WsMessageReader, RefusesBrokenFragmentSequences) {
  Message message;
  {
    MessageReader reader(Peer::kClient, 1024);
    reader.feed(clientFrame(Opcode::kContinuation, "x"));
    EXPECT_EQ(reader.next(message), MessageReader::Status::kError);
    EXPECT_EQ(reader.errorCode(), CloseCode::kProtocolError);
  }
  {
    MessageReader reader(Peer::kClient, 1024);
    reader.feed(clientFrame(Opcode::kText, "x", false));
    reader.feed(clientFrame(Opcode::kText, "y"));
    EXPECT_EQ(reader.next(message), MessageReader::Status::kError);
    EXPECT_EQ(reader.errorCode(), CloseCode::kProtocolError);
  }
}

TEST(WsMessageReader, DropsBufferedInputOnAMessageLevelError) {
  // Found by fuzz_ws_frame: frames after the refused one stayed buffered.
  MessageReader reader(Peer::kServer, 1024);
  reader.feed(buildFrame(Opcode::kContinuation, "") + buildFrame(Opcode::kText, "later"));
  Message message;
  EXPECT_EQ(reader.next(message), MessageReader::Status::kError);
  EXPECT_EQ(reader.bufferedBytes(), 0u);
  reader.feed(buildFrame(Opcode::kText, "more"));
  EXPECT_EQ(reader.next(message), MessageReader::Status::kError);
  EXPECT_EQ(reader.bufferedBytes(), 0u);
  EXPECT_EQ(reader.errorCode(), CloseCode::kProtocolError);
}

TEST(WsMessageReader, DropsAnOpenMessageOnAFrameError) {
  MessageReader reader(Peer::kClient, 1024);
  reader.feed(clientFrame(Opcode::kText, "first half", false));
  Message message;
  ASSERT_EQ(reader.next(message), MessageReader::Status::kNeedMore);
  EXPECT_GT(reader.bufferedBytes(), 0u);
  reader.feed(buildFrame(Opcode::kContinuation, "unmasked"));
  EXPECT_EQ(reader.next(message), MessageReader::Status::kError);
  EXPECT_EQ(reader.errorReason(), "client frame not masked");
  EXPECT_EQ(reader.bufferedBytes(), 0u);
}

TEST(WsMessageReader, RefusesTextThatIsNotUtf8AcrossFragments) {
  Message message;
  // "é" split between two fragments is valid once reassembled.
  MessageReader split(Peer::kClient, 1024);
  split.feed(clientFrame(Opcode::kText, "\xC3", false));
  split.feed(clientFrame(Opcode::kContinuation, "\xA9"));
  ASSERT_EQ(split.next(message), MessageReader::Status::kMessage);
  EXPECT_EQ(message.payload, "\xC3\xA9");

  MessageReader bad(Peer::kClient, 1024);
  bad.feed(clientFrame(Opcode::kText, "\xC3("));
  EXPECT_EQ(bad.next(message), MessageReader::Status::kError);
  EXPECT_EQ(bad.errorCode(), CloseCode::kInvalidPayload);
}

TEST(WsMessageReader, ReportsTheFrameParsersError) {
  MessageReader reader(Peer::kClient, 1024);
  reader.feed(buildFrame(Opcode::kText, "unmasked"));
  Message message;
  EXPECT_EQ(reader.next(message), MessageReader::Status::kError);
  EXPECT_EQ(reader.errorCode(), CloseCode::kProtocolError);
  EXPECT_EQ(reader.errorReason(), "client frame not masked");
}

TEST(WsMessageReader, MarksACompressedMessageAndLeavesItsBytesAlone) {
  MessageReader reader(Peer::kServer, 1024, /*allow_rsv1=*/true);
  reader.feed(buildFrame(Opcode::kText, "\xF2\x48", false, /*rsv1=*/true));
  reader.feed(buildFrame(Opcode::kContinuation, "\xCD\xC9"));
  Message message;
  ASSERT_EQ(reader.next(message), MessageReader::Status::kMessage);
  EXPECT_TRUE(message.compressed);
  EXPECT_EQ(message.payload, "\xF2\x48\xCD\xC9");
}

}  // namespace
}  // namespace cosp::worker::ws
