// The credential state on both sides of the supervisor-worker channel: one name per state on the
// wire, and a credentials message naming a state this build does not know is refused.
#include "common/ipc/credential_state.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "common/ipc/messages.h"

namespace cosp::common {
namespace {

TEST(CredentialState, WireNames) {
  EXPECT_EQ(credentialStateName(CredentialState::Ok), "ok");
  EXPECT_EQ(credentialStateName(CredentialState::Refreshing), "refreshing");
  EXPECT_EQ(credentialStateName(CredentialState::RefreshFailing), "refresh_failing");
  EXPECT_EQ(credentialStateName(CredentialState::NeedsLogin), "needs_login");
  EXPECT_EQ(credentialStateName(CredentialState::NoCredentials), "no_credentials");
  for (CredentialState state : kAllCredentialStates) {
    EXPECT_EQ(parseCredentialState(credentialStateName(state)), state);
  }
  EXPECT_FALSE(parseCredentialState("").has_value());
  EXPECT_FALSE(parseCredentialState("OK").has_value());
  EXPECT_FALSE(parseCredentialState("expired").has_value());
  std::ostringstream out;
  out << CredentialState::NeedsLogin;
  EXPECT_EQ(out.str(), "needs_login");
}

TEST(CredentialState, CredentialsMessageCarriesTheName) {
  WorkerCredentials c;
  c.generation = 3;
  c.state = CredentialState::RefreshFailing;
  c.access_token = "tok";
  const std::string json = encodeCredentials(c);
  EXPECT_NE(json.find(R"("state":"refresh_failing")"), std::string::npos) << json;
  auto back = decodeCredentials(json);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->state, CredentialState::RefreshFailing);
  EXPECT_EQ(back->generation, 3u);
}

TEST(CredentialState, UnknownStateIsRefusedMissingStateIsNoCredentials) {
  EXPECT_FALSE(decodeCredentials(R"({"type":"credentials","generation":1,"state":"expired","access_token":"t"})"));
  EXPECT_FALSE(decodeCredentials(R"({"type":"credentials","generation":1,"state":7,"access_token":"t"})"));
  auto missing = decodeCredentials(R"({"type":"credentials","generation":1,"access_token":"t"})");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->state, CredentialState::NoCredentials);
  EXPECT_FALSE(missing->usable(0));
}

}  // namespace
}  // namespace cosp::common
