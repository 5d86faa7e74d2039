#include "common/config/config_loader.h"

#include <gtest/gtest.h>

#include <map>

#include "common/codex/fingerprint.h"
#include "common/config/config_codec.h"
#include "tests/support/harness/temp_dir.h"

using cosp::common::Config;
using cosp::common::loadConfig;

namespace {

cosp::common::EnvLookup envOf(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::map<std::string, std::string> base() { return {{"HOME", "/home/u"}, {"HOST", "127.0.0.1"}}; }

}  // namespace

TEST(ConfigLoader, DefaultsMatchTheSpec) {
  auto r = loadConfig({}, envOf(base()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r->config;
  EXPECT_EQ(c.port, 3000);
  EXPECT_EQ(c.codex_base_url, "https://chatgpt.com/backend-api/codex");
  EXPECT_EQ(c.codex_responses_path, "/responses");
  EXPECT_TRUE(c.models.empty());  // unset: the backend's catalog
  EXPECT_EQ(c.auth_base_url, "https://auth.openai.com");
  EXPECT_EQ(c.state_dir, "/home/u/.local/state/codex-sub-proxy");
  EXPECT_EQ(c.control_socket, "/home/u/.local/state/codex-sub-proxy/control.sock");
  EXPECT_EQ(c.worker_threads, 1024);
  EXPECT_EQ(c.max_body_bytes, 16u * 1024 * 1024);
  EXPECT_EQ(c.upstream_connect_timeout.count(), 10000);
  EXPECT_EQ(c.upstream_idle_timeout.count(), 300000);
  EXPECT_EQ(c.shutdown_grace.count(), 30000);
  EXPECT_GE(c.workers, 1);
  EXPECT_EQ(r->invocation.command, "serve");
}

TEST(ConfigLoader, SystemdDirectoriesWin) {
  auto env = base();
  env["STATE_DIRECTORY"] = "/var/lib/codex-sub-proxy";
  env["RUNTIME_DIRECTORY"] = "/run/codex-sub-proxy:/run/other";
  auto r = loadConfig({}, envOf(env));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.state_dir, "/var/lib/codex-sub-proxy");
  EXPECT_EQ(r->config.control_socket, "/run/codex-sub-proxy/control.sock");
}

TEST(ConfigLoader, PrecedenceFlagOverEnvOverFile) {
  cosp::test::TempDir dir;
  cosp::test::writeFile(dir.file("c.ini"), "port = 4001\nworkers = 3\nmodels = a, b\n");
  auto env = base();
  env["PORT"] = "4002";
  auto from_env = loadConfig({"--config", dir.file("c.ini")}, envOf(env));
  ASSERT_TRUE(from_env.ok()) << from_env.error().message;
  EXPECT_EQ(from_env->config.port, 4002);
  EXPECT_EQ(from_env->config.workers, 3);
  EXPECT_EQ(from_env->config.models, (std::vector<std::string>{"a", "b"}));
  auto from_flag = loadConfig({"--config", dir.file("c.ini"), "--port", "4003"}, envOf(env));
  ASSERT_TRUE(from_flag.ok());
  EXPECT_EQ(from_flag->config.port, 4003);
}

// The original project's .env files join base and path either way round.
TEST(ConfigLoader, ResponsesPathWithoutSlashIsJoinedAsTheOriginalDid) {
  auto env = base();
  env["CODEX_BASE_URL"] = "https://chatgpt.com/backend-api/codex/";
  env["CODEX_RESPONSES_PATH"] = "responses";
  auto r = loadConfig({}, envOf(env));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config.codex_responses_path, "/responses");
}

TEST(ConfigLoader, CodexUsageUrlIsDerivedFromTheBaseUrlUnlessSet) {
  using cosp::common::defaultCodexUsageUrl;
  EXPECT_EQ(defaultCodexUsageUrl("https://chatgpt.com/backend-api/codex"),
            "https://chatgpt.com/backend-api/wham/usage");
  EXPECT_EQ(defaultCodexUsageUrl("https://chatgpt.com/backend-api/codex/"),
            "https://chatgpt.com/backend-api/wham/usage");
  EXPECT_EQ(defaultCodexUsageUrl("http://127.0.0.1:9000"), "http://127.0.0.1:9000/wham/usage");
  EXPECT_EQ(defaultCodexUsageUrl("http://127.0.0.1:9000/"), "http://127.0.0.1:9000/wham/usage");
  EXPECT_EQ(defaultCodexUsageUrl("http://h/codex"), "http://h/wham/usage");
  auto r = loadConfig({}, envOf(base()));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.codexUsageUrl(), "https://chatgpt.com/backend-api/wham/usage");
  auto env = base();
  env["CODEX_USAGE_URL"] = "https://example.test/quota/";
  auto set = loadConfig({}, envOf(env));
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->config.codexUsageUrl(), "https://example.test/quota");
  auto decoded = cosp::common::decodeWorkerConfig(cosp::common::encodeWorkerConfig(set->config));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->codexUsageUrl(), "https://example.test/quota");
  env["CODEX_USAGE_URL"] = "ftp://nope";
  EXPECT_FALSE(loadConfig({}, envOf(env)).ok());
}

TEST(ConfigLoader, CodexClientVersionDefaultsToTheCheckedRelease) {
  auto r = loadConfig({}, envOf(base()));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.codexClientVersion(), std::string(cosp::common::kCheckedCodexVersion));
  EXPECT_EQ(r->config.credentials_wait, std::chrono::milliseconds(15000));
  auto env = base();
  env["CODEX_CLIENT_VERSION"] = "0.170.1-alpha.2";
  env["CREDENTIALS_WAIT"] = "3s";
  auto set = loadConfig({}, envOf(env));
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->config.codexClientVersion(), "0.170.1-alpha.2");
  EXPECT_EQ(set->config.credentials_wait, std::chrono::milliseconds(3000));
}

TEST(ConfigLoader, InvalidValuesNameTheOption) {
  struct Case {
    std::string env, value, expect;
  } cases[] = {
      {"PORT", "abc", "PORT (--port)"},
      {"PORT", "0", "PORT (--port)"},
      {"WORKERS", "0", "WORKERS (--workers)"},
      {"WORKER_THREADS", "2", "WORKER_THREADS"},
      {"MAX_BODY_BYTES", "lots", "MAX_BODY_BYTES"},
      {"UPSTREAM_IDLE_TIMEOUT", "forever", "UPSTREAM_IDLE_TIMEOUT"},
      {"CODEX_BASE_URL", "ftp://x", "CODEX_BASE_URL"},
      {"LOG_LEVEL", "loud", "LOG_LEVEL"},
      {"LOG_FORMAT", "xml", "LOG_FORMAT"},
      {"OPENAI_EXPIRES_AT", "soon", "OPENAI_EXPIRES_AT"},
      {"REASONING_COMPAT", "maybe", "REASONING_COMPAT"},
      {"CODEX_RESPONSES_PATH", " ", "CODEX_RESPONSES_PATH"},
      {"CODEX_CLIENT_VERSION", "latest", "CODEX_CLIENT_VERSION"},
      {"CODEX_CLIENT_VERSION", "0.169", "CODEX_CLIENT_VERSION"},
      {"CREDENTIALS_WAIT", "soon", "CREDENTIALS_WAIT"},
      {"CODEX_ORIGINATOR", "codex cli", "CODEX_ORIGINATOR"},
  };
  for (const auto& c : cases) {
    auto env = base();
    env[c.env] = c.value;
    auto r = loadConfig({}, envOf(env));
    ASSERT_FALSE(r.ok()) << c.env << "=" << c.value;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
}

TEST(ConfigLoader, AccountStrategyIsStickyOrRoundRobin) {
  auto r = loadConfig({}, envOf(base()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config.account_strategy, "sticky");
  auto env = base();
  env["ACCOUNT_STRATEGY"] = "Round-Robin";
  auto set = loadConfig({}, envOf(env));
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->config.account_strategy, "round-robin");
  env["ACCOUNT_STRATEGY"] = "random";
  auto bad = loadConfig({}, envOf(env));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("ACCOUNT_STRATEGY (--account-strategy)"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("sticky or round-robin"), std::string::npos) << bad.error().message;
}

TEST(ConfigLoader, LoginAccountAndImportOnlyApplyToLogin) {
  auto login = loadConfig({"login", "--account", "team", "--import", "/x/auth.json"}, envOf(base()));
  ASSERT_TRUE(login.ok()) << login.error().message;
  EXPECT_EQ(login->invocation.account, "team");
  EXPECT_EQ(login->invocation.import_file, "/x/auth.json");
  EXPECT_FALSE(loadConfig({"--account", "team"}, envOf(base())).ok());
  EXPECT_FALSE(loadConfig({"login", "--import", "/x", "--print"}, envOf(base())).ok());
}

TEST(ConfigLoader, SecretsAreNeverEchoed) {
  auto env = base();
  env["HTTPS_PROXY"] = "socks5://user:secret-pass@proxy:1080";
  auto r = loadConfig({}, envOf(env));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("secret-pass"), std::string::npos) << r.error().message;
}

// Found by fuzz_config: a value that is not UTF-8 was accepted, and then no worker could decode
// its configuration (it travels as JSON), so none could start.
TEST(ConfigLoader, ValuesMustBeUtf8) {
  auto env = base();
  env["CODEX_MODELS"] = "gpt-5.5,bad\xfd";
  auto r = loadConfig({}, envOf(env));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("CODEX_MODELS (--models)"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("UTF-8"), std::string::npos) << r.error().message;

  env = base();
  env["HOME"] = "/home/\xc0\xaf";  // overlong '/': the default STATE_DIR would carry it
  r = loadConfig({}, envOf(env));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("STATE_DIR"), std::string::npos) << r.error().message;

  env = base();
  env["CODEX_MODELS"] = "gpt-5.5,caf\xc3\xa9-\xf0\x9f\x9a\x80";  // UTF-8 is fine, and reaches the workers
  r = loadConfig({}, envOf(env));
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto decoded = cosp::common::decodeWorkerConfig(cosp::common::encodeWorkerConfig(r->config));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->models, r->config.models);
}

TEST(ConfigLoader, ParsesUnitsListsAndExpiry) {
  auto env = base();
  env["MAX_BODY_BYTES"] = "2MiB";
  env["SHUTDOWN_GRACE"] = "1500ms";
  env["UPSTREAM_CONNECT_TIMEOUT"] = "3";
  env["PROXY_API_KEY"] = " k1 , k2,,";
  env["OPENAI_EXPIRES_AT"] = "1760000000";
  env["ALLOW_UNAUTHENTICATED"] = "yes";
  auto r = loadConfig({}, envOf(env));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config.max_body_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(r->config.shutdown_grace.count(), 1500);
  EXPECT_EQ(r->config.upstream_connect_timeout.count(), 3000);
  EXPECT_EQ(r->config.api_keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(r->config.expires_at_ms, std::optional<int64_t>(1760000000000));
  EXPECT_TRUE(r->config.allow_unauthenticated);
  env["OPENAI_EXPIRES_AT"] = "1760000000123";  // > 9,999,999,999: milliseconds
  EXPECT_EQ(loadConfig({}, envOf(env))->config.expires_at_ms, std::optional<int64_t>(1760000000123));
}

TEST(ConfigLoader, UnauthenticatedPublicBindIsRefused) {
  auto env = base();
  env["HOST"] = "0.0.0.0";
  auto r = loadConfig({}, envOf(env));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("PROXY_API_KEY"), std::string::npos);
  EXPECT_TRUE(loadConfig({"--allow-unauthenticated"}, envOf(env)).ok());
  env["PROXY_API_KEY"] = "k";
  EXPECT_TRUE(loadConfig({}, envOf(env)).ok());
  env.erase("PROXY_API_KEY");
  env["HOST"] = "::1";
  EXPECT_TRUE(loadConfig({}, envOf(env)).ok());
}

TEST(ConfigLoader, CommandsAndUnknownFlags) {
  auto login = loadConfig({"login", "--print"}, envOf(base()));
  ASSERT_TRUE(login.ok());
  EXPECT_EQ(login->invocation.command, "login");
  EXPECT_TRUE(login->invocation.print);
  EXPECT_FALSE(loadConfig({"frobnicate"}, envOf(base())).ok());
  auto unknown = loadConfig({"--prot", "1"}, envOf(base()));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("prot"), std::string::npos);
  // Secrets are not accepted as flags (they would show in ps).
  EXPECT_FALSE(loadConfig({"--refresh-token", "x"}, envOf(base())).ok());
}

// Found by fuzz_config: Boost's error text replaced %placeholders% until none was left, so an
// unknown option named like one looped forever (start-up hung instead of exiting 78).
TEST(ConfigLoader, OptionNamesLikePlaceholdersDoNotHang) {
  auto flag = loadConfig({"--%canonical_option%"}, envOf(base()));
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.error().message, "command line: unrecognised option '--%canonical_option%' (see --help)");

  cosp::test::TempDir dir;
  const std::string file = dir.file("proxy.conf");
  cosp::test::writeFile(file, "%canonical_option% = 1\n");
  auto r = loadConfig({"--config", file}, envOf(base()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "config file " + file + ": unrecognised option '%canonical_option%'");
  cosp::test::writeFile(file, "no equals sign %invalid_line%\n");
  r = loadConfig({"--config", file}, envOf(base()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("invalid line 'no equals sign %invalid_line%'"), std::string::npos)
      << r.error().message;
}

TEST(ConfigCodec, WorkerConfigRoundTripsWithoutSecrets) {
  auto env = base();
  env["PROXY_API_KEY"] = "caller-key";
  env["OPENAI_REFRESH_TOKEN"] = "refresh-secret";
  env["OPENAI_ACCESS_TOKEN"] = "access-secret";
  env["CODEX_MODELS"] = "m1,m2";
  env["WORKER_THREADS"] = "64";
  auto r = loadConfig({}, envOf(env));
  ASSERT_TRUE(r.ok());
  std::string json = cosp::common::encodeWorkerConfig(r->config);
  EXPECT_EQ(json.find("refresh-secret"), std::string::npos);
  EXPECT_EQ(json.find("access-secret"), std::string::npos);
  auto decoded = cosp::common::decodeWorkerConfig(json);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->api_keys, std::vector<std::string>{"caller-key"});
  EXPECT_EQ(decoded->models, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(decoded->worker_threads, 64);
  EXPECT_EQ(decoded->port, r->config.port);
  EXPECT_TRUE(decoded->refresh_token.empty());
  EXPECT_FALSE(cosp::common::decodeWorkerConfig("{\"type\":\"config\"}"));
  EXPECT_FALSE(cosp::common::decodeWorkerConfig("not json"));
}
