#include "common/keys/keys_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace cosp::common::keys {
namespace {

const std::string kDigestOfSecret = toHex(sha256("csp-secret"));

std::string file(const std::string& entry) { return R"({"keys":[)" + entry + "]}"; }

TEST(KeysFile, Sha256OfKnownText) {
  EXPECT_EQ(toHex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(KeysFile, ParsesEveryField) {
  auto parsed = parseKeysFile(file(R"({"name":"team-a","sha256":")" + kDigestOfSecret +
                                   R"(","models":["gpt-5"],"accounts":["work"],"rpm":5,"tpm":1000,
      "daily_tokens":10000,"monthly_tokens":200000,"max_concurrent":2,"expires_at":"2030-01-01T00:00:00Z",
      "forward_quota_headers":false,"disabled":true})"));
  ASSERT_TRUE(parsed) << parsed.error();
  ASSERT_EQ(parsed->keys.size(), 1u);
  const KeyEntry& k = parsed->keys[0];
  EXPECT_EQ(k.name, "team-a");
  EXPECT_EQ(toHex(k.sha256), kDigestOfSecret);
  EXPECT_EQ(k.models, std::vector<std::string>{"gpt-5"});
  EXPECT_EQ(k.accounts, std::vector<std::string>{"work"});
  EXPECT_EQ(k.rpm, 5);
  EXPECT_EQ(k.tpm, 1000);
  EXPECT_EQ(k.daily_tokens, 10000);
  EXPECT_EQ(k.monthly_tokens, 200000);
  EXPECT_EQ(k.max_concurrent, 2);
  EXPECT_EQ(k.expires_at, 1893456000);
  EXPECT_EQ(k.forward_quota_headers, false);
  EXPECT_TRUE(k.disabled);
  // Round trip through the writer.
  auto again = parseKeysFile(serializeKeysFile(*parsed));
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->keys[0], k);
}

TEST(KeysFile, RefusalsNameKeyAndField) {
  auto expectError = [](const std::string& text, const std::string& expected) {
    auto parsed = parseKeysFile(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error(), expected);
  };
  const std::string d = R"("sha256":")" + kDigestOfSecret + R"(")";
  expectError(file(R"({"name":"a",)" + d + R"(,"rpn":5})"), R"(keys[0] ("a") field "rpn": is not a known field)");
  expectError(file(R"({"name":"a",)" + d + R"(,"rpm":"5"})"),
              R"(keys[0] ("a") field "rpm": must be a non-negative integer)");
  expectError(file(R"({"name":"a",)" + d + R"(,"rpm":-1})"),
              R"(keys[0] ("a") field "rpm": must be a non-negative integer)");
  expectError(file(R"({"name":"a",)" + d + R"(,"rpm":1.5})"),
              R"(keys[0] ("a") field "rpm": must be a non-negative integer)");
  expectError(file(R"({"name":"a","sha256":"abc"})"),
              R"(keys[0] ("a") field "sha256": must be 64 hexadecimal digits (the SHA-256 of the key))");
  expectError(file(R"({"name":"a"})"), R"(keys[0] ("a") field "sha256": is required)");
  expectError(file(R"({"name":"a b",)" + d + "}"), R"(keys[0] field "name": must match [A-Za-z0-9_.-]{1,64})");
  expectError(file(R"({)" + d + "}"), R"(keys[0] field "name": is required)");
  expectError(file(R"({"name":"a",)" + d + R"(,"expires_at":"tomorrow"})"),
              R"(keys[0] ("a") field "expires_at": must be an RFC 3339 date-time such as 2026-12-31T23:59:59Z)");
  expectError(file(R"({"name":"a",)" + d + R"(,"disabled":1})"),
              R"(keys[0] ("a") field "disabled": must be true or false)");
  expectError(file(R"({"name":"a",)" + d + R"(,"models":[1]})"),
              R"(keys[0] ("a") field "models": must be an array of non-empty strings)");
  expectError(file(R"({"name":"a",)" + d + R"(},{"name":"a","sha256":")" + std::string(64, '0') + "\"}"),
              R"(keys[1] ("a") field "name": another key has this name)");
  expectError(file(R"({"name":"a",)" + d + R"(},{"name":"b",)" + d + "}"),
              R"(keys[1] ("b") field "sha256": another key has this digest)");
  expectError(R"({"keys":[],"extra":1})", R"(unknown top-level field "extra")");
  expectError(R"({"keys":{}})", R"("keys" must be an array)");
  expectError("[]", R"(must be a JSON object {"keys":[…]})");
}

TEST(KeysFile, Rfc3339) {
  EXPECT_EQ(parseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseRfc3339("1970-01-01T02:00:00+02:00"), 0);
  EXPECT_EQ(parseRfc3339("1970-01-01T00:00:01.250Z"), 1);
  EXPECT_EQ(parseRfc3339("2026-02-31T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parseRfc3339("2026-01-01T00:00:00"), std::nullopt);
  EXPECT_EQ(parseRfc3339("2026-01-01T00:00:00Zx"), std::nullopt);
}

TEST(KeysFile, TableFindsByPresentedKey) {
  auto parsed = parseKeysFile(file(R"({"name":"a","sha256":")" + kDigestOfSecret + R"("},{"name":"b","sha256":")" +
                                   toHex(sha256("other")) + R"("})"));
  ASSERT_TRUE(parsed);
  KeyTable table(parsed->keys);
  EXPECT_EQ(table.find("csp-secret"), 0u);
  EXPECT_EQ(table.find("other"), 1u);
  EXPECT_EQ(table.find("csp-secreT"), std::nullopt);
  EXPECT_EQ(table.find(""), std::nullopt);
  EXPECT_EQ(table.findByName("b"), 1u);
}

TEST(KeysFile, ModeMustBe0600Or0640AndWriteIsAtomic) {
  char dir_template[] = "/tmp/keys_file_test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string path = std::string(dir_template) + "/keys.json";
  KeysFile f;
  f.keys.push_back(KeyEntry{});
  f.keys[0].name = "a";
  f.keys[0].sha256 = sha256("x");
  ASSERT_EQ(writeFileAtomically(path, serializeKeysFile(f), 0600), std::nullopt);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto loaded = loadKeysFile(path);
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->keys[0].name, "a");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_TRUE(loadKeysFile(path));
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto refused = loadKeysFile(path);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), path + ": mode is 0644; it must be 0600 or 0640 (chmod 600 " + path + ")");
  ::unlink(path.c_str());
  ::rmdir(dir_template);
}

}  // namespace
}  // namespace cosp::common::keys

namespace cosp::common::keys {
namespace {

TEST(KeysFile, GeneratedKeysAreDistinctBase64UrlWithPrefix) {
  std::string a = generateKey(), b = generateKey();
  EXPECT_EQ(a.size(), 4u + 43u);
  EXPECT_EQ(a.substr(0, 4), "csp-");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
            std::string::npos);
}

}  // namespace
}  // namespace cosp::common::keys
