#include "tests/support/fakes/fake_backend_websocket.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/paths.h"
#include "tests/support/harness/ws_client.h"

namespace cosp::test {
namespace {

using namespace std::chrono_literals;

const std::string kPath = "/backend-api/codex/responses";
const std::string kUpgradeBeta = "OpenAI-Beta: responses_websockets=2026-02-06\r\n";
const std::string kCreate =
    R"({"type":"response.create","model":"gpt-5.4","instructions":"","input":[],"store":false,"stream":true})";

FakeBackendOptions fixtureOptions() {
  FakeBackendOptions o;
  o.fixtures_dir = fixturePath("responses");
  return o;
}

std::vector<std::string> typesOf(const std::vector<std::string>& messages) {
  std::vector<std::string> types;
  for (const auto& m : messages) types.push_back(messageType(m));
  return types;
}

TEST(FakeBackendWebSocketPure, TakesTheDataOfAnSseEvent) {
  EXPECT_EQ(sseEventJson("event: response.created\ndata: {\"a\":1}"), std::optional<std::string>("{\"a\":1}"));
  EXPECT_EQ(sseEventJson("event: x\r\ndata:{\"a\":\r\ndata: 1}\r\n"), std::optional<std::string>("{\"a\":\n1}"));
  EXPECT_EQ(sseEventJson(": t=123"), std::nullopt);
  EXPECT_EQ(responseIdOf(R"({"type":"response.created","response":{"id":"resp_1"}})"),
            std::optional<std::string>("resp_1"));
  EXPECT_EQ(responseIdOf(R"({"type":"response.output_text.delta","delta":"x"})"), std::nullopt);
  EXPECT_EQ(
      websocketErrorEvent(400, "previous_response_not_found", "No 'x'.", "previous_response_id"),
      R"({"type":"error","status":400,"error":{"type":"invalid_request_error","code":"previous_response_not_found",)"
      R"("message":"No 'x'.","param":"previous_response_id"}})");
}

TEST(FakeBackendWebSocket, AnswersResponseCreateWithTheTranscriptAsTextMessages) {
  FakeCodexBackend backend(fixtureOptions());
  WsClient client(backend.port());
  const RawResponse head = client.upgrade(kPath, "token", kUpgradeBeta);
  ASSERT_EQ(head.status, 101) << head.head;
  ASSERT_TRUE(client.open()) << client.handshakeError();
  // POCO's WebSocket constructor sends the 101 before the fake counts the upgrade.
  EXPECT_TRUE(backend.waitForWebSocketUpgrades(1, 2s));
  EXPECT_EQ(backend.websocketUpgrades(), 1);

  ASSERT_TRUE(client.sendText(kCreate));
  const auto messages = client.readUntilType({"response.completed", "error"});
  const std::vector<std::string> expected = {
      "response.created",           "response.in_progress",       "response.output_item.added",
      "response.output_item.done",  "response.output_item.added", "response.content_part.added",
      "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
      "response.output_text.delta", "response.output_text.done",  "response.content_part.done",
      "response.output_item.done",  "response.completed"};
  EXPECT_EQ(typesOf(messages), expected) << client.error();

  ASSERT_EQ(backend.requestCount(), 1u);
  const RecordedRequest rec = *backend.request(0);
  EXPECT_TRUE(rec.websocket);
  EXPECT_EQ(rec.method, "GET");
  EXPECT_EQ(rec.body, kCreate);
  EXPECT_EQ(rec.header("OpenAI-Beta"), std::optional<std::string>("responses_websockets=2026-02-06"));
  EXPECT_TRUE(backend.waitForResponseDone(0, 5s));
  EXPECT_EQ(backend.request(0)->events_sent, 14);
}

TEST(FakeBackendWebSocket, ScopesPreviousResponseIdToTheConnection) {
  FakeCodexBackend backend(fixtureOptions());
  WsClient first(backend.port());
  ASSERT_EQ(first.upgrade(kPath, "token").status, 101);
  ASSERT_TRUE(first.sendText(kCreate));
  ASSERT_EQ(messageType(first.readUntilType({"response.completed"}).back()), "response.completed");

  // Fragmented, with a ping between the fragments: the fake reassembles and answers the ping.
  const std::string follow_up =
      R"({"type":"response.create","model":"gpt-5.4","previous_response_id":"resp_0a1b2c3d4e5f60718293a4b5c6d7e8f9","input":[]})";
  ASSERT_TRUE(first.sendFrame(ws::Opcode::kText, follow_up.substr(0, 20), false));
  ASSERT_TRUE(first.sendFrame(ws::Opcode::kPing, "are you there"));
  ASSERT_TRUE(first.sendFrame(ws::Opcode::kContinuation, follow_up.substr(20)));
  auto pong = first.next();
  ASSERT_TRUE(pong) << first.error();
  EXPECT_EQ(pong->opcode, ws::Opcode::kPong);
  EXPECT_EQ(pong->payload, "are you there");
  EXPECT_EQ(messageType(first.readUntilType({"response.completed", "error"}).back()), "response.completed");

  WsClient second(backend.port());
  ASSERT_EQ(second.upgrade(kPath, "token").status, 101);
  ASSERT_TRUE(second.sendText(follow_up));
  const auto refused = second.readUntilType({"response.completed", "error"});
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(
      refused[0],
      R"({"type":"error","status":400,"error":{"type":"invalid_request_error","code":"previous_response_not_found",)"
      R"("message":"Previous response with id 'resp_0a1b2c3d4e5f60718293a4b5c6d7e8f9' not found.",)"
      R"("param":"previous_response_id"}})");

  ASSERT_EQ(backend.requestCount(), 3u);
  EXPECT_EQ(backend.request(0)->connection, backend.request(1)->connection);
  EXPECT_NE(backend.request(1)->connection, backend.request(2)->connection);
  EXPECT_EQ(backend.request(1)->body, follow_up);
}

TEST(FakeBackendWebSocket, ServesFailureScenariosChosenAtTheUpgrade) {
  FakeCodexBackend backend(fixtureOptions());
  WsClient client(backend.port());
  ASSERT_EQ(client.upgrade(kPath, "token", "x-fake-scenario: fail:server_is_overloaded\r\n").status, 101);
  ASSERT_TRUE(client.sendText(kCreate));
  const auto messages = client.readUntilType({"response.completed", "response.failed", "error"});
  ASSERT_FALSE(messages.empty()) << client.error();
  EXPECT_EQ(messageType(messages.front()), "response.created");
  EXPECT_EQ(messageType(messages.back()), "response.failed");
  EXPECT_NE(messages.back().find("\"code\":\"server_is_overloaded\""), std::string::npos) << messages.back();
}

TEST(FakeBackendWebSocket, RefusesAnUpgradeWithoutAUsableToken) {
  FakeCodexBackend backend(fixtureOptions());
  backend.rejectToken("expired");
  WsClient missing(backend.port());
  EXPECT_EQ(missing.upgrade(kPath, "").status, 401);
  WsClient expired(backend.port());
  EXPECT_EQ(expired.upgrade(kPath, "expired").status, 401);
  EXPECT_FALSE(expired.open());
  EXPECT_EQ(backend.websocketUpgrades(), 0);
}

TEST(FakeBackendWebSocket, EchoesACloseAndClosesOnBinary) {
  FakeCodexBackend backend(fixtureOptions());
  WsClient closing(backend.port());
  ASSERT_EQ(closing.upgrade(kPath, "token").status, 101);
  ASSERT_TRUE(closing.sendFrame(ws::Opcode::kClose, ws::closePayload(ws::CloseCode::kNormal, "bye")));
  auto echoed = closing.next();
  ASSERT_TRUE(echoed) << closing.error();
  EXPECT_EQ(echoed->opcode, ws::Opcode::kClose);
  EXPECT_EQ(closing.closeInfo().code, 1000);
  EXPECT_EQ(closing.closeInfo().reason, "bye");

  WsClient binary(backend.port());
  ASSERT_EQ(binary.upgrade(kPath, "token").status, 101);
  ASSERT_TRUE(binary.sendFrame(ws::Opcode::kBinary, "\x01\x02"));
  auto closed = binary.next();
  ASSERT_TRUE(closed) << binary.error();
  EXPECT_EQ(closed->opcode, ws::Opcode::kClose);
  EXPECT_EQ(binary.closeInfo().code, 1003);
  EXPECT_EQ(backend.requestCount(), 0u);
}

TEST(FakeBackendWebSocket, KeepsServingPlainPostsOnThePath) {
  FakeCodexBackend backend(fixtureOptions());
  RawClient client(backend.port());
  const RawResponse response = client.exchange(
      "POST " + kPath +
          " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\n"
          "Content-Length: " +
          std::to_string(std::string(kAcceptedCodexBody).size()) + "\r\n\r\n" + kAcceptedCodexBody,
      5s);
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("response.completed"), std::string::npos);
  ASSERT_EQ(backend.requestCount(), 1u);
  EXPECT_FALSE(backend.request(0)->websocket);
}

}  // namespace
}  // namespace cosp::test
