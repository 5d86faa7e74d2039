#include "worker/ws/ws_handshake.h"

#include <gtest/gtest.h>

namespace cosp::worker::ws {
namespace {

const HeaderList kCodexUpgrade = {
    {"Host", "127.0.0.1:8080"},
    {"Connection", "Upgrade"},
    {"Upgrade", "websocket"},
    {"Sec-WebSocket-Version", "13"},
    {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
    {"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"},
    {"OpenAI-Beta", "responses_websockets=2026-02-06"},
    {"Authorization", "Bearer k"},
};

TEST(WsHandshake, ComputesTheRfcAcceptKey) {
  EXPECT_EQ(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, ValidatesClientKeys) {
  EXPECT_TRUE(isValidClientKey("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(isValidClientKey(""));
  EXPECT_FALSE(isValidClientKey("dGhlIHNhbXBsZSBub25jZQ="));       // 23 characters
  EXPECT_FALSE(isValidClientKey("dGhlIHNhbXBsZSBub25jZR=="));      // padding bits set
  EXPECT_FALSE(isValidClientKey("dGhlIHNhbXBsZSBub25j*Q=="));      // not base64
  EXPECT_FALSE(isValidClientKey("dGhlIHNhbXBsZSBub25jZQ==AAAA"));  // 20 bytes
  for (int i = 0; i < 20; ++i) {
    const std::string key = makeClientKey();
    EXPECT_TRUE(isValidClientKey(key)) << key;
  }
  EXPECT_NE(makeClientKey(), makeClientKey());
}

TEST(WsHandshake, AcceptsTheCodexCliUpgrade) {
  EXPECT_TRUE(asksForWebSocket(kCodexUpgrade));
  auto offer = checkUpgrade("GET", 1, kCodexUpgrade);
  ASSERT_TRUE(offer.ok()) << offer.error().message;
  EXPECT_EQ(offer->key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_TRUE(offer->deflate_offered);
  EXPECT_EQ(offer->extensions_offered, "permessage-deflate; client_max_window_bits");
  EXPECT_EQ(switchingProtocolsHead(*offer, {{"x-request-id", "req_1"}}),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nx-request-id: req_1\r\n\r\n");
}

TEST(WsHandshake, FindsTokensInListsAndAnyCase) {
  HeaderList headers = {{"connection", "keep-alive, UPGRADE"},
                        {"UPGRADE", "h2c, WebSocket"},
                        {"sec-websocket-version", " 13 "},
                        {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}};
  EXPECT_TRUE(asksForWebSocket(headers));
  auto offer = checkUpgrade("GET", 1, headers);
  ASSERT_TRUE(offer.ok()) << offer.error().message;
  EXPECT_FALSE(offer->deflate_offered);
  EXPECT_FALSE(asksForWebSocket({{"Upgrade", "h2c"}}));
  EXPECT_FALSE(asksForWebSocket({{"Connection", "websocket"}}));
}

HeaderList without(std::string_view name) {
  HeaderList out;
  for (const auto& h : kCodexUpgrade)
    if (h.first != name) out.push_back(h);
  return out;
}

TEST(WsHandshake, RefusesBadUpgradesWithTheRightStatus) {
  auto post = checkUpgrade("POST", 1, kCodexUpgrade);
  ASSERT_FALSE(post.ok());
  EXPECT_EQ(post.error().status, 405);
  EXPECT_EQ(post.error().header, std::make_pair(std::string("Allow"), std::string("GET")));

  auto http10 = checkUpgrade("GET", 0, kCodexUpgrade);
  ASSERT_FALSE(http10.ok());
  EXPECT_EQ(http10.error().status, 400);

  auto no_connection = checkUpgrade("GET", 1, without("Connection"));
  ASSERT_FALSE(no_connection.ok());
  EXPECT_EQ(no_connection.error().status, 400);

  auto no_version = checkUpgrade("GET", 1, without("Sec-WebSocket-Version"));
  ASSERT_FALSE(no_version.ok());
  EXPECT_EQ(no_version.error().status, 426);
  EXPECT_EQ(no_version.error().header, std::make_pair(std::string("Sec-WebSocket-Version"), std::string("13")));

  HeaderList version8 = without("Sec-WebSocket-Version");
  version8.emplace_back("Sec-WebSocket-Version", "8");
  EXPECT_EQ(checkUpgrade("GET", 1, version8).error().status, 426);

  auto no_key = checkUpgrade("GET", 1, without("Sec-WebSocket-Key"));
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().status, 400);

  HeaderList two_keys = kCodexUpgrade;
  two_keys.emplace_back("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(checkUpgrade("GET", 1, two_keys).error().status, 400);

  HeaderList bad_key = without("Sec-WebSocket-Key");
  bad_key.emplace_back("Sec-WebSocket-Key", "Bearer secret");
  auto refused = checkUpgrade("GET", 1, bad_key);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message.find("secret"), std::string::npos);
}

TEST(WsHandshake, ChecksTheServersAnswer) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  HeaderList good = {
      {"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}};
  EXPECT_EQ(checkServerHandshake(101, good, key, false), "");
  EXPECT_EQ(checkServerHandshake(200, good, key, false), "status is not 101");
  EXPECT_EQ(checkServerHandshake(101, good, "AAAAAAAAAAAAAAAAAAAAAA==", false), "wrong `Sec-WebSocket-Accept`");

  HeaderList deflate = good;
  deflate.emplace_back("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover");
  EXPECT_EQ(checkServerHandshake(101, deflate, key, true), "");
  EXPECT_EQ(checkServerHandshake(101, deflate, key, false), "an extension not offered");

  HeaderList protocol = good;
  protocol.emplace_back("Sec-WebSocket-Protocol", "chat");
  EXPECT_EQ(checkServerHandshake(101, protocol, key, false), "a subprotocol not offered");
  EXPECT_EQ(checkServerHandshake(101, {{"Connection", "Upgrade"}}, key, false), "no `Upgrade: websocket`");
}

}  // namespace
}  // namespace cosp::worker::ws
