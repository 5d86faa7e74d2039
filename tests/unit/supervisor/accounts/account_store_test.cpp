#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>

#include "supervisor/accounts/account_names.h"
#include "supervisor/accounts/import_login.h"
#include "supervisor/credentials/credential_store.h"
#include "tests/support/harness/temp_dir.h"

namespace cosp::supervisor {
namespace {

using cosp::test::TempDir;
using cosp::test::writeFile;

TEST(AccountNames, AcceptsTheSpecAlphabetUpTo32) {
  EXPECT_TRUE(validAccountName("a"));
  EXPECT_TRUE(validAccountName("team_1-b"));
  EXPECT_TRUE(validAccountName(std::string(32, 'x')));
  EXPECT_TRUE(validAccountName("default"));
}

TEST(AccountNames, RefusesOthersWithAReason) {
  EXPECT_FALSE(validAccountName(""));
  EXPECT_FALSE(validAccountName(std::string(33, 'x')));
  EXPECT_FALSE(validAccountName("Upper"));
  EXPECT_FALSE(validAccountName("a.b"));
  EXPECT_FALSE(validAccountName("../x"));
  EXPECT_EQ(accountNameProblem("paused").value(), "account name 'paused' is reserved");
  EXPECT_FALSE(validAccountName("cooling"));
}

TEST(AccountSettings, DefaultIsTheConfigurationUnchanged) {
  CredentialSettings base;
  base.state_dir = "/s";
  base.refresh_token = "seed";
  base.account_id = "override";
  CredentialSettings s = accountCredentialSettings(base, "default");
  EXPECT_EQ(s.state_dir, "/s");
  EXPECT_EQ(s.store_file, "credentials.json");
  EXPECT_EQ(s.refresh_token, "seed");
}

TEST(AccountSettings, OthersHaveNoSeedAndTheirOwnFile) {
  CredentialSettings base;
  base.state_dir = "/s";
  base.refresh_token = "seed";
  base.codex_auth_file = "/x/auth.json";
  base.account_id = "override";
  base.auth_base_url = "https://issuer.example";
  CredentialSettings s = accountCredentialSettings(base, "team");
  EXPECT_EQ(s.state_dir, "/s/accounts");
  EXPECT_EQ(s.store_file, "team.json");
  EXPECT_EQ(s.refresh_token, "");
  EXPECT_EQ(s.codex_auth_file, "");
  EXPECT_EQ(s.account_id, "");
  EXPECT_EQ(s.auth_base_url, "https://issuer.example");
}

TEST(AccountStore, WritesItsOwnFile0600) {
  TempDir dir;
  CredentialStore store(accountsDir(dir.path()), "a.json");
  StoredCredentials c;
  c.refresh_token = "rt";
  c.access_token = "at";
  ASSERT_FALSE(store.save(c).has_value());
  EXPECT_EQ(store.path(), dir.path() + "/accounts/a.json");
  struct stat st {};
  ASSERT_EQ(::stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok() && loaded.value().has_value());
  EXPECT_EQ(loaded.value()->refresh_token, "rt");
}

TEST(ImportLogin, TakesOverACodexAuthFileAndWarnsAboutTheSingleUseToken) {
  TempDir dir;
  const std::string auth = dir.file("auth.json");
  writeFile(auth, R"({"tokens":{"access_token":"at-1","refresh_token":"rt-1","account_id":"acc-1"}})");
  CredentialSettings base;
  base.state_dir = dir.file("state");
  std::ostringstream err;
  ASSERT_EQ(runImportLogin(accountCredentialSettings(base, "b"), auth, RealClock::instance(), err), 0);
  EXPECT_NE(err.str().find("must log in again"), std::string::npos);
  EXPECT_EQ(err.str().find("rt-1"), std::string::npos);
  EXPECT_EQ(err.str().find("at-1"), std::string::npos);
  CredentialStore store(accountsDir(base.state_dir), "b.json");
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok() && loaded.value().has_value());
  EXPECT_EQ(loaded.value()->refresh_token, "rt-1");
  EXPECT_EQ(loaded.value()->access_token, "at-1");
  EXPECT_EQ(loaded.value()->account_id, "acc-1");
  struct stat st {};
  ASSERT_EQ(::stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST(ImportLogin, RefusesAFileWithoutARefreshToken) {
  TempDir dir;
  const std::string auth = dir.file("auth.json");
  writeFile(auth, R"({"OPENAI_API_KEY":"sk-x"})");
  CredentialSettings base;
  base.state_dir = dir.file("state");
  std::ostringstream err;
  EXPECT_EQ(runImportLogin(accountCredentialSettings(base, "b"), auth, RealClock::instance(), err), 78);
  EXPECT_NE(err.str().find("tokens"), std::string::npos);
}

}  // namespace
}  // namespace cosp::supervisor
