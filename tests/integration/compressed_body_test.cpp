// Compressed request bodies on the real binaries (README "HTTP surface"): the Codex CLI logged in
// with ChatGPT sends its bodies with Content-Encoding: zstd; other clients use gzip or deflate. The
// proxy decodes them before translation, so the fake backend records plain JSON without a
// Content-Encoding; bombs are refused from the decoded size without inflating them; unknown
// codings are a 415.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/compression.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/paths.h"
#include "tests/support/harness/proxy_process.h"
#include "tests/support/harness/temp_dir.h"

using namespace cosp::test;

namespace {

// Small enough that a bomb's 2 GiB is 1000 times over it, large enough for any test body.
constexpr uint64_t kMaxBody = 2 * 1024 * 1024;

std::unique_ptr<FakeCodexBackend> makeBackend() {
  FakeBackendOptions options;
  options.fixtures_dir = fixturePath("responses");
  return std::make_unique<FakeCodexBackend>(options);
}

std::unique_ptr<ProxyProcess> startProxy(const FakeCodexBackend& backend) {
  auto proxy = std::make_unique<ProxyProcess>(ProxyProcess::Env{{"CODEX_BASE_URL", backend.baseUrl()},
                                                                {"OPENAI_ACCESS_TOKEN", "upstream-access-token"},
                                                                {"OPENAI_CHATGPT_ACCOUNT_ID", "acct-123"},
                                                                {"MAX_BODY_BYTES", std::to_string(kMaxBody)},
                                                                {"WORKERS", "1"}});
  proxy->start();
  EXPECT_TRUE(proxy->waitReady()) << proxy->stderrText();
  return proxy;
}

const std::string kChat = R"({"model":"gpt-5.5","stream":false,"messages":[{"role":"user","content":"zipped hi"}]})";
const std::string kResponses = R"({"model":"gpt-5.5","stream":false,"input":"zipped hello"})";

HttpResult postEncoded(int port, const std::string& path, const std::string& encoding, const std::string& body) {
  return httpRequest(port, "POST", path, {{"Content-Type", "application/json"}, {"Content-Encoding", encoding}}, body,
                     20000);
}

// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or -1.
long procStatusKiB(int pid, const std::string& field) {
  const std::string status = readFile("/proc/" + std::to_string(pid) + "/status");
  const std::size_t at = status.find(field + ":");
  if (at == std::string::npos) return -1;
  return std::strtol(status.c_str() + at + field.size() + 1, nullptr, 10);
}

std::string errorCode(const std::string& body) {
  auto v = cosp::common::parseJsonObject(body);
  if (!v) return "<not json>";
  const auto* error = cosp::common::jsonMember(*v, "error");
  const auto* code = error != nullptr ? cosp::common::jsonMember(*error, "code") : nullptr;
  return code != nullptr ? std::string(code->stringView().value_or("")) : "";
}

struct Case {
  const char* encoding;
  Coding coding;
};
const Case kCases[] = {
    {"zstd", Coding::Zstd}, {"gzip", Coding::Gzip}, {"deflate", Coding::Zlib}, {"Deflate", Coding::RawDeflate}};

}  // namespace

TEST(CompressedBody, EveryCodingReachesTheBackendDecoded) {
  auto backend = makeBackend();
  auto proxy = startProxy(*backend);
  for (const Case& c : kCases) {
    for (const auto& [path, body, marker] : {std::tuple{"/v1/chat/completions", kChat, "zipped hi"},
                                             std::tuple{"/v1/responses", kResponses, "zipped hello"}}) {
      SCOPED_TRACE(std::string(c.encoding) + " " + path);
      const std::size_t before = backend->requests().size();
      auto r = postEncoded(proxy->port(), path, c.encoding, compress(c.coding, body));
      ASSERT_EQ(r.status, 200) << r.body;
      const auto recorded = backend->requests();
      ASSERT_EQ(recorded.size(), before + 1);
      const RecordedRequest& up = recorded.back();
      EXPECT_FALSE(up.header("content-encoding").has_value());
      auto json = cosp::common::parseJsonObject(up.body);
      ASSERT_TRUE(json) << up.body.substr(0, 200);
      EXPECT_NE(up.body.find(marker), std::string::npos) << up.body.substr(0, 400);
    }
  }
}

TEST(CompressedBody, IdentityListedWithACodingIsThatCoding) {
  auto backend = makeBackend();
  auto proxy = startProxy(*backend);
  auto r = postEncoded(proxy->port(), "/v1/responses", "gzip, identity", compress(Coding::Gzip, kResponses));
  EXPECT_EQ(r.status, 200) << r.body;
  auto plain = postEncoded(proxy->port(), "/v1/responses", "identity", kResponses);
  EXPECT_EQ(plain.status, 200) << plain.body;
}

TEST(CompressedBody, BombsAre413WithoutTheWorkerGrowing) {
  auto backend = makeBackend();
  auto proxy = startProxy(*backend);
  const int worker = proxy->workerPids().at(0);
  // One ordinary compressed call first: threads, pools and decoders exist before the baseline.
  ASSERT_EQ(postEncoded(proxy->port(), "/v1/responses", "zstd", compress(Coding::Zstd, kResponses)).status, 200);
  const long rss_before = procStatusKiB(worker, "VmRSS");
  const long peak_before = procStatusKiB(worker, "VmHWM");
  ASSERT_GT(rss_before, 0);

  const std::pair<const char*, std::string> bombs[] = {
      {"zstd", compressedZeros(Coding::Zstd, 2ull << 30)},
      {"gzip", compressedZeros(Coding::Gzip, 1ull << 30)},
      {"deflate", compressedZeros(Coding::Zlib, 1ull << 30)},
  };
  const std::size_t requests_before = backend->requests().size();
  for (const auto& [encoding, bomb] : bombs) {
    SCOPED_TRACE(encoding);
    ASSERT_LT(bomb.size(), kMaxBody);  // passes the compressed-size check; only decoding finds it
    // How fast the refusal comes is a measurement (bench/README.md), not a test assertion:
    // that it comes without the worker growing by the gigabytes is what this test shows.
    auto r = postEncoded(proxy->port(), "/v1/chat/completions", encoding, bomb);
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_EQ(errorCode(r.body), "request_too_large") << r.body;
  }
  EXPECT_EQ(backend->requests().size(), requests_before);  // nothing reached the backend

#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed blocks in a quarantine of its own (256 MiB by default) beside their shadow
  // memory, so the worker keeps what each refused bomb's 16 MiB cost: the bounds still tell that
  // from the gigabytes (1-2 GiB each).
  constexpr long kRssGrowthKiB = 256 * 1024, kPeakGrowthKiB = 256 * 1024;
#else
  // The peak rose by at most the decoded limit and the compressed body, never by the gigabytes.
  constexpr long kRssGrowthKiB = 8 * 1024, kPeakGrowthKiB = 16 * 1024;
#endif
  const long rss_after = procStatusKiB(worker, "VmRSS");
  const long peak_after = procStatusKiB(worker, "VmHWM");
  EXPECT_LT(rss_after - rss_before, kRssGrowthKiB) << "worker RSS " << rss_before << " -> " << rss_after << " KiB";
  EXPECT_LT(peak_after - peak_before, kPeakGrowthKiB)
      << "worker peak " << peak_before << " -> " << peak_after << " KiB";
}

TEST(CompressedBody, UnknownOrStackedCodingsAre415AndCorruptBodiesAre400) {
  auto backend = makeBackend();
  auto proxy = startProxy(*backend);
  for (const char* encoding : {"br", "compress", "gzip, zstd"}) {
    SCOPED_TRACE(encoding);
    auto r = postEncoded(proxy->port(), "/v1/chat/completions", encoding, kChat);
    EXPECT_EQ(r.status, 415) << r.body;
    EXPECT_EQ(errorCode(r.body), "unsupported_content_encoding") << r.body;
    EXPECT_NE(r.body.find("\"type\":\"invalid_request_error\""), std::string::npos) << r.body;
  }
  auto corrupt = postEncoded(proxy->port(), "/v1/responses", "zstd", kResponses);  // not zstd at all
  EXPECT_EQ(corrupt.status, 400) << corrupt.body;
  EXPECT_EQ(errorCode(corrupt.body), "invalid_content_encoding") << corrupt.body;
  EXPECT_TRUE(backend->requests().empty());
}
