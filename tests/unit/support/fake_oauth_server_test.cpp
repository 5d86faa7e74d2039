// The fake issuer itself: rotation, reuse detection, failure modes, control endpoints, and the
// standalone executable's start/stop contract.
#include "tests/support/fakes/fake_oauth_server.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <csignal>

#include "supervisor/credentials/jwt.h"
#include "tests/support/harness/piped_process.h"

namespace cosp::test {
namespace {

using std::chrono::milliseconds;

struct Answer {
  int status = 0;
  std::string body;
  std::string retry_after;
};

Answer request(uint16_t port, const std::string& method, const std::string& path, const std::string& body = {},
               const std::string& content_type = "application/json") {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(5, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (method == "POST") {
    req.setContentType(content_type);
    req.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  session.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::istream& in = session.receiveResponse(resp);
  Answer a;
  a.status = static_cast<int>(resp.getStatus());
  a.retry_after = resp.get("Retry-After", "");
  Poco::StreamCopier::copyToString(in, a.body);
  return a;
}

Poco::JSON::Object::Ptr json(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::string refreshBody(const std::string& token) {
  return R"({"client_id":"app_EMoamEEZ73f0CkXaXp7hrann","grant_type":"refresh_token","refresh_token":")" + token +
         "\"}";
}

TEST(FakeOAuthServer, RotatesAndRejectsReuse) {
  FakeOAuthServer fake;
  Answer first = request(fake.port(), "POST", "/oauth/token", refreshBody("rt-seed"));
  ASSERT_EQ(first.status, 200) << first.body;
  auto tokens = json(first.body);
  const std::string rt1 = tokens->getValue<std::string>("refresh_token");
  EXPECT_NE(rt1, "rt-seed");
  EXPECT_EQ(tokens->getValue<int>("expires_in"), 3600);
  auto claims = supervisor::parseJwtClaims(tokens->getValue<std::string>("access_token"));
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->chatgpt_account_id, std::optional<std::string>("acct-fake-0001"));
  ASSERT_TRUE(claims->exp.has_value());
  EXPECT_TRUE(supervisor::parseJwtClaims(tokens->getValue<std::string>("id_token")).has_value());

  Answer reused = request(fake.port(), "POST", "/oauth/token", refreshBody("rt-seed"));
  EXPECT_EQ(reused.status, 401);
  auto error = json(reused.body)->getObject("error");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->getValue<std::string>("code"), "refresh_token_reused");
  EXPECT_EQ(error->getValue<std::string>("type"), "invalid_request_error");
  EXPECT_TRUE(error->has("message"));
  EXPECT_TRUE(error->isNull("param"));

  EXPECT_EQ(request(fake.port(), "POST", "/oauth/token", refreshBody("never-issued")).status, 401);

  // Form encoding is accepted too.
  Answer form = request(fake.port(), "POST", "/oauth/token",
                        "grant_type=refresh_token&client_id=app_EMoamEEZ73f0CkXaXp7hrann&refresh_token=" + rt1,
                        "application/x-www-form-urlencoded");
  EXPECT_EQ(form.status, 200) << form.body;

  FakeOAuthServer::Counts c = fake.counts();
  EXPECT_EQ(c.refresh_calls, 4);
  EXPECT_EQ(c.refresh_ok, 2);
  EXPECT_EQ(c.refresh_rejected, 2);
  EXPECT_EQ(fake.issuedAccessTokens().size(), 2u);
  EXPECT_EQ(fake.receivedRefreshTokens(), (std::vector<std::string>{"rt-seed", "rt-seed", "never-issued", rt1}));
}

TEST(FakeOAuthServer, RejectsAWrongClientId) {
  FakeOAuthServer fake;
  Answer a = request(fake.port(), "POST", "/oauth/token",
                     R"({"client_id":"someone","grant_type":"refresh_token","refresh_token":"rt-seed"})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(json(a.body)->getValue<std::string>("error"), "invalid_client");
}

TEST(FakeOAuthServer, FailureModesCountDown) {
  FakeOAuthServer fake;
  fake.setMode(FakeOAuthServer::Mode::Fail429, 1);
  Answer limited = request(fake.port(), "POST", "/oauth/token", refreshBody("rt-seed"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.retry_after, "1");
  EXPECT_EQ(request(fake.port(), "POST", "/oauth/token", refreshBody("rt-seed")).status, 200);

  fake.setMode(FakeOAuthServer::Mode::Fail500, 2);
  EXPECT_EQ(request(fake.port(), "POST", "/oauth/token", refreshBody("x")).status, 500);
  EXPECT_EQ(request(fake.port(), "POST", "/oauth/token", refreshBody("x")).status, 500);
  EXPECT_EQ(request(fake.port(), "POST", "/oauth/token", refreshBody("x")).status, 401);

  fake.setMode(FakeOAuthServer::Mode::InvalidGrant);
  Answer grant = request(fake.port(), "POST", "/oauth/token", refreshBody(fake.currentRefreshToken()));
  EXPECT_EQ(grant.status, 400);
  EXPECT_EQ(json(grant.body)->getValue<std::string>("error"), "invalid_grant");
}

TEST(FakeOAuthServer, HangDelaysTheAnswer) {
  FakeOAuthServer fake;
  fake.setMode(FakeOAuthServer::Mode::Hang, 1, milliseconds(300));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(request(fake.port(), "POST", "/oauth/token", refreshBody("rt-seed")).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(300));
}

TEST(FakeOAuthServer, DelayPrecedesEveryAnswerWhateverTheMode) {
  FakeOAuthServer fake;
  fake.setDelay(milliseconds(300));
  fake.setMode(FakeOAuthServer::Mode::InvalidGrant, 1);
  auto t0 = std::chrono::steady_clock::now();
  Answer slow_failure = request(fake.port(), "POST", "/oauth/token", refreshBody("rt-seed"));
  EXPECT_EQ(slow_failure.status, 400);
  EXPECT_NE(slow_failure.body.find("invalid_grant"), std::string::npos);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(300));
  // Set over the control endpoint too; 0 turns it off.
  ASSERT_EQ(request(fake.port(), "POST", "/__fake/mode", R"({"delay_ms":0})").status, 200);
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(request(fake.port(), "POST", "/oauth/token", refreshBody("rt-seed")).status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(300));
}

TEST(FakeOAuthServer, StopWakesAHangingRequestPromptly) {
  auto fake = std::make_unique<FakeOAuthServer>();
  fake->setMode(FakeOAuthServer::Mode::Hang, 1, std::chrono::seconds(60));
  std::thread client([port = fake->port()] {
    try {
      request(port, "POST", "/oauth/token", refreshBody("rt-seed"));
    } catch (const std::exception&) {
    }
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (fake->counts().token_calls < 1 && std::chrono::steady_clock::now() < deadline) {
    ::poll(nullptr, 0, 10);
  }
  ASSERT_EQ(fake->counts().token_calls, 1);
  auto t0 = std::chrono::steady_clock::now();
  fake->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  client.join();
}

TEST(FakeOAuthServer, ControlEndpoints) {
  FakeOAuthServer fake;
  Answer mode = request(fake.port(), "POST", "/__fake/mode",
                        R"({"mode":"fail_500","times":1,"pending_polls":0,"refresh_token":"rt-set"})");
  ASSERT_EQ(mode.status, 200) << mode.body;
  EXPECT_EQ(request(fake.port(), "POST", "/oauth/token", refreshBody("rt-set")).status, 500);
  Answer ok = request(fake.port(), "POST", "/oauth/token", refreshBody("rt-set"));
  ASSERT_EQ(ok.status, 200);

  Answer state = request(fake.port(), "GET", "/__fake/state");
  ASSERT_EQ(state.status, 200);
  auto obj = json(state.body);
  EXPECT_EQ(obj->getObject("counts")->getValue<int>("refresh_calls"), 2);
  EXPECT_EQ(obj->getObject("counts")->getValue<int>("refresh_ok"), 1);
  EXPECT_EQ(obj->getValue<std::string>("current_refresh_token"), json(ok.body)->getValue<std::string>("refresh_token"));
  ASSERT_EQ(obj->getArray("issued_access_tokens")->size(), 1u);
  EXPECT_EQ(obj->getArray("issued_access_tokens")->getElement<std::string>(0),
            json(ok.body)->getValue<std::string>("access_token"));
  EXPECT_EQ(obj->getValue<std::string>("mode"), "ok");

  EXPECT_EQ(request(fake.port(), "POST", "/__fake/mode", R"({"mode":"sideways"})").status, 400);
  EXPECT_EQ(request(fake.port(), "GET", "/nope").status, 404);
}

TEST(FakeOAuthServer, DeviceFlow) {
  FakeOAuthServer::Options options;
  options.device_pending_polls = 1;
  FakeOAuthServer fake(options);
  Answer code = request(fake.port(), "POST", "/api/accounts/deviceauth/usercode",
                        R"({"client_id":"app_EMoamEEZ73f0CkXaXp7hrann"})");
  ASSERT_EQ(code.status, 200);
  auto c = json(code.body);
  EXPECT_TRUE(c->get("interval").isString());
  const std::string poll = R"({"device_auth_id":")" + c->getValue<std::string>("device_auth_id") +
                           R"(","user_code":")" + c->getValue<std::string>("user_code") + "\"}";
  EXPECT_EQ(request(fake.port(), "POST", "/api/accounts/deviceauth/token", poll).status, 403);
  Answer approved = request(fake.port(), "POST", "/api/accounts/deviceauth/token", poll);
  ASSERT_EQ(approved.status, 200);
  auto a = json(approved.body);
  const std::string form = "grant_type=authorization_code&code=" + a->getValue<std::string>("authorization_code") +
                           "&redirect_uri=" + "http%3A%2F%2F127.0.0.1%3A" + std::to_string(fake.port()) +
                           "%2Fdeviceauth%2Fcallback&client_id=app_EMoamEEZ73f0CkXaXp7hrann&code_verifier=" +
                           a->getValue<std::string>("code_verifier");
  Answer wrong = request(fake.port(), "POST", "/oauth/token", form + "x", "application/x-www-form-urlencoded");
  EXPECT_EQ(wrong.status, 400);
  Answer tokens = request(fake.port(), "POST", "/oauth/token", form, "application/x-www-form-urlencoded");
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(json(tokens.body)->getValue<std::string>("refresh_token"), fake.currentRefreshToken());
  // The authorization code is single use.
  EXPECT_EQ(request(fake.port(), "POST", "/oauth/token", form, "application/x-www-form-urlencoded").status, 400);
}

// --- the standalone executable ---

// The standalone program with pipes on stdin/stdout.
class FakeProcess : public PipedProcess {
 public:
  explicit FakeProcess(std::vector<std::string> args) : PipedProcess(COSP_FAKE_OAUTH_SERVER, std::move(args)) {}
};

uint16_t parseListening(const std::string& line) {
  const std::string prefix = "LISTENING ";
  if (line.rfind(prefix, 0) != 0) return 0;
  return static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
}

TEST(FakeOAuthServerProcess, PrintsItsPortAndStopsOnStdinEof) {
  FakeProcess proc({"--port", "0", "--refresh-token", "rt-cli", "--account-id", "acct-cli-42"});
  uint16_t port = parseListening(proc.readLine(milliseconds(10000)));
  ASSERT_NE(port, 0);
  Answer token = request(port, "POST", "/oauth/token", refreshBody("rt-cli"));
  ASSERT_EQ(token.status, 200) << token.body;
  auto claims = supervisor::parseJwtClaims(json(token.body)->getValue<std::string>("access_token"));
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->chatgpt_account_id, std::optional<std::string>("acct-cli-42"));
  Answer state = request(port, "GET", "/__fake/state");
  EXPECT_EQ(json(state.body)->getObject("counts")->getValue<int>("refresh_ok"), 1);
  proc.closeStdin();
  EXPECT_EQ(proc.waitExit(milliseconds(10000)), 0);
}

TEST(FakeOAuthServerProcess, StopsOnSigterm) {
  FakeProcess proc({"--no-stdin"});
  ASSERT_NE(parseListening(proc.readLine(milliseconds(10000))), 0);
  ASSERT_EQ(::kill(proc.pid(), SIGTERM), 0);
  EXPECT_EQ(proc.waitExit(milliseconds(10000)), 0);
}

TEST(FakeOAuthServerProcess, RejectsUnknownArguments) {
  FakeProcess proc({"--bogus"});
  EXPECT_EQ(proc.waitExit(milliseconds(10000)), 2);
}

}  // namespace
}  // namespace cosp::test
