#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "supervisor/credentials/codex_auth_file.h"
#include "supervisor/credentials/credential_store.h"
#include "tests/support/harness/temp_dir.h"

namespace cosp::supervisor {
namespace {

using cosp::test::TempDir;
using cosp::test::writeFile;

StoredCredentials sample() {
  StoredCredentials c;
  c.refresh_token = "rt-secret";
  c.access_token = "at-secret";
  c.id_token = "id-secret";
  c.account_id = "acct-1";
  c.expires_at_ms = 1'900'000'000'000;
  c.last_refresh_s = 1'800'000'000;
  c.seed_hash = sha256Hex("seed");
  return c;
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CredentialStore, RoundTripWithMode0600) {
  TempDir dir;
  CredentialStore store(dir.file("state"));  // created on demand
  ASSERT_FALSE(store.save(sample()).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  struct stat dst {};
  ASSERT_EQ(::stat(dir.file("state").c_str(), &dst), 0);
  EXPECT_EQ(dst.st_mode & 0777, 0700);
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded.value().has_value());
  EXPECT_EQ(*loaded.value(), sample());
}

TEST(CredentialStore, ModeIs0600EvenWithAPermissiveUmask) {
  TempDir dir;
  mode_t old = ::umask(0);
  CredentialStore store(dir.path());
  auto err = store.save(sample());
  ::umask(old);
  ASSERT_FALSE(err.has_value());
  struct stat st {};
  ASSERT_EQ(::stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST(CredentialStore, AtomicReplaceLeavesNoTempFiles) {
  TempDir dir;
  CredentialStore store(dir.path());
  ASSERT_FALSE(store.save(sample()).has_value());
  auto first = store.stamp();
  StoredCredentials next = sample();
  next.refresh_token = "rt-rotated";
  ASSERT_FALSE(store.save(next).has_value());
  auto second = store.stamp();
  ASSERT_TRUE(first && second);
  // rename(2) swaps in a new inode: a reader sees the old file or the new one, never a mix.
  EXPECT_NE(first->inode, second->inode);
  EXPECT_EQ(store.load().value()->refresh_token, "rt-rotated");
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"credentials.json"});
}

TEST(CredentialStore, FileFormatUsesSecondsAndNamedFields) {
  TempDir dir;
  CredentialStore store(dir.path());
  ASSERT_FALSE(store.save(sample()).has_value());
  std::ifstream in(store.path());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* key : {"\"version\"", "\"refresh_token\"", "\"access_token\"", "\"id_token\"", "\"expires_at\"",
                          "\"account_id\"", "\"last_refresh\"", "\"seed_hash\""}) {
    EXPECT_NE(text.find(key), std::string::npos) << key;
  }
  EXPECT_NE(text.find("1900000000"), std::string::npos);
  EXPECT_EQ(text.find("1900000000000"), std::string::npos);
}

TEST(CredentialStore, MissingFileIsNotAnError) {
  TempDir dir;
  auto loaded = CredentialStore(dir.path()).load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded.value().has_value());
}

TEST(CredentialStore, CorruptFileIsAnErrorWithoutContent) {
  TempDir dir;
  writeFile(dir.file("credentials.json"), "{\"refresh_token\": \"rt-leak\", ");
  auto loaded = CredentialStore(dir.path()).load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().find("rt-leak"), std::string::npos);
  writeFile(dir.file("credentials.json"), R"({"version":99,"refresh_token":"x"})");
  auto future = CredentialStore(dir.path()).load();
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.error().find("version"), std::string::npos);
}

TEST(CredentialStore, AcceptsMillisecondExpiry) {
  auto parsed = CredentialStore::parse(R"({"version":1,"refresh_token":"r","expires_at":1900000000123})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->expires_at_ms, 1'900'000'000'123);
}

TEST(CredentialStore, UnwritableDirectoryIsReported) {
  TempDir dir;
  writeFile(dir.file("plain-file"), "x");
  // A path below a regular file cannot become a directory, even for root.
  CredentialStore store(dir.file("plain-file") + "/state");
  auto probe = store.probeWritable();
  ASSERT_TRUE(probe.has_value());
  EXPECT_TRUE(store.save(sample()).has_value());
}

TEST(CodexAuthFile, ImportsTokens) {
  TempDir dir;
  writeFile(
      dir.file("auth.json"),
      R"({"OPENAI_API_KEY":null,"tokens":{"id_token":"i","access_token":"a","refresh_token":"r","account_id":"acc"},"last_refresh":"2025-01-01T00:00:00Z"})");
  auto tokens = loadCodexAuthFile(dir.file("auth.json"));
  ASSERT_TRUE(tokens.ok()) << tokens.error();
  EXPECT_EQ(tokens->id_token, "i");
  EXPECT_EQ(tokens->access_token, "a");
  EXPECT_EQ(tokens->refresh_token, "r");
  EXPECT_EQ(tokens->account_id, "acc");
}

TEST(CodexAuthFile, ErrorsNameTheFileButNoToken) {
  TempDir dir;
  auto missing = loadCodexAuthFile(dir.file("nope.json"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("nope.json"), std::string::npos);

  writeFile(dir.file("apikey.json"), R"({"OPENAI_API_KEY":"sk-secret"})");
  auto apikey = loadCodexAuthFile(dir.file("apikey.json"));
  ASSERT_FALSE(apikey.ok());
  EXPECT_EQ(apikey.error().find("sk-secret"), std::string::npos);

  writeFile(dir.file("norefresh.json"), R"({"tokens":{"access_token":"at-secret"}})");
  auto norefresh = loadCodexAuthFile(dir.file("norefresh.json"));
  ASSERT_FALSE(norefresh.ok());
  EXPECT_NE(norefresh.error().find("refresh_token"), std::string::npos);
  EXPECT_EQ(norefresh.error().find("at-secret"), std::string::npos);

  writeFile(dir.file("bad.json"), "[1,2");
  EXPECT_FALSE(loadCodexAuthFile(dir.file("bad.json")).ok());
}

}  // namespace
}  // namespace cosp::supervisor
