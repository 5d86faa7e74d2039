#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}
}  // namespace Poco

namespace cosp::test {

// A stand-in for auth.openai.com on 127.0.0.1 (POCO HTTPServer with its own thread pool):
//   POST /oauth/token                        refresh_token grant (JSON or form) with rotation:
//                                            each success returns a NEW refresh token and access
//                                            token (JWTs with exp and the auth claim); a reused or
//                                            unknown refresh token gets 401
//                                            {"error":{"message","type","param","code":"refresh_token_reused"}};
//                                            authorization_code grant (form or JSON) for the
//                                            device flow, checking code, code_verifier,
//                                            redirect_uri={base}/deviceauth/callback and client_id
//   POST /api/accounts/deviceauth/usercode  {client_id} -> {device_auth_id, user_code, interval:"<s>"}
//   POST /api/accounts/deviceauth/token     403 for the first K polls, then
//                                            {authorization_code, code_challenge, code_verifier}
//   GET  /__fake/state                       counts, current refresh token, issued access tokens
//   POST /__fake/mode                        {"mode":"ok|fail_500|fail_429|invalid_grant|hang",
//                                             "times":N, "hang_ms":M, "delay_ms":D, "pending_polls":K,
//                                             "refresh_token":"…", "access_ttl_s":S}
// Failure modes apply to /oauth/token. Hang = wait hang_ms (or until stop()), then answer
// normally. Delay = wait delay_ms before every /oauth/token answer, whatever the mode (a slow
// endpoint that then fails, e.g. with invalid_grant). Thread-safe.
class FakeOAuthServer {
 public:
  static constexpr const char* kClientId = "app_EMoamEEZ73f0CkXaXp7hrann";

  struct Options {
    uint16_t port = 0;  // 0 = ephemeral
    std::string initial_refresh_token = "rt-seed";
    std::string account_id = "acct-fake-0001";
    int64_t access_ttl_s = 3600;
    int device_pending_polls = 2;        // polls answered 403 before the authorization succeeds
    std::string device_interval = "1";   // sent as a string, like the real server
    bool legacy_usercode_field = false;  // answer "usercode" instead of "user_code"
  };

  enum class Mode { Ok, Fail500, Fail429, InvalidGrant, Hang };

  FakeOAuthServer();  // default Options (a default argument cannot use the nested NSDMIs here)
  explicit FakeOAuthServer(Options options);
  ~FakeOAuthServer();
  FakeOAuthServer(const FakeOAuthServer&) = delete;
  FakeOAuthServer& operator=(const FakeOAuthServer&) = delete;

  uint16_t port() const { return port_; }
  std::string baseUrl() const;  // http://127.0.0.1:<port>

  // `times`: how many /oauth/token requests get this mode before it reverts to Ok; -1 = all.
  void setMode(Mode mode, int times = -1, std::chrono::milliseconds hang = std::chrono::milliseconds(0));
  // Every /oauth/token answer (whatever the mode) comes this much later (or at stop()); 0 = none.
  void setDelay(std::chrono::milliseconds delay);
  void setDevicePendingPolls(int polls);
  void setCurrentRefreshToken(const std::string& token);
  std::string currentRefreshToken() const;

  struct Counts {
    int token_calls = 0;    // every POST /oauth/token
    int refresh_calls = 0;  // refresh_token grants (whatever the outcome)
    int refresh_ok = 0;
    int refresh_rejected = 0;  // 401 reused/unknown
    int exchange_calls = 0;    // authorization_code grants
    int usercode_calls = 0;
    int device_poll_calls = 0;
  };
  Counts counts() const;
  std::vector<std::string> issuedAccessTokens() const;
  std::vector<std::string> receivedRefreshTokens() const;  // as sent by clients, in order
  std::vector<std::string> receivedContentTypes() const;   // of /oauth/token requests, in order
  std::string stateJson() const;
  // Applies a /__fake/mode body. Returns an error message, empty on success.
  std::string applyModeJson(const std::string& json);

  // An unsigned (fake-signature) JWT with exp, iat, sub and the
  // "https://api.openai.com/auth".chatgpt_account_id claim (omitted when account_id is empty).
  static std::string makeJwt(int64_t exp, const std::string& account_id, const std::string& subject);

  // Stops accepting, wakes hanging handlers, joins the pool. Idempotent.
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace cosp::test
