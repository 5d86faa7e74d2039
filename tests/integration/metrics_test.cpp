// GET /metrics on the real binaries: counters aggregated across workers by the supervisor.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"

using namespace cosp::test;
using namespace std::chrono_literals;

namespace {

// A Prometheus text-format (0.0.4) check: every sample belongs to a family declared by a TYPE
// line before it, names and labels are well-formed, values are numbers, each family's lines are
// contiguous, and histogram buckets are cumulative, end in +Inf and match _count.
std::vector<std::string> checkPrometheusText(const std::string& text, std::map<std::string, double>& samples) {
  std::vector<std::string> problems;
  static const std::regex sample_re(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)\})? (-?[0-9.eE+-]+|\+Inf|NaN)$)");
  static const std::regex type_re(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::map<std::string, std::string> types;
  std::set<std::string> closed;
  std::string current;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (std::regex_match(line, m, type_re)) {
      if (types.count(m[1])) problems.push_back("family declared twice: " + m[1].str());
      types[m[1]] = m[2];
      if (!current.empty()) closed.insert(current);
      current = m[1];
      continue;
    }
    if (line[0] == '#') continue;
    if (!std::regex_match(line, m, sample_re)) {
      problems.push_back("line " + std::to_string(n) + " is not a sample: " + line);
      continue;
    }
    std::string name = m[1];
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
          types.count(name.substr(0, name.size() - s.size())) &&
          types[name.substr(0, name.size() - s.size())] == "histogram") {
        family = name.substr(0, name.size() - s.size());
      }
    }
    if (!types.count(family)) problems.push_back("sample without TYPE: " + name);
    if (closed.count(family)) problems.push_back("family lines not contiguous: " + family);
    samples[name + (m[2].matched ? m[2].str() : "")] = std::stod(m[4]);
  }
  // Histograms: cumulative buckets, +Inf == _count.
  for (const auto& [family, type] : types) {
    if (type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;  // labels -> (le, value)
    for (const auto& [key, value] : samples) {
      if (key.rfind(family + "_bucket{", 0) != 0) continue;
      auto le_pos = key.find("le=\"");
      std::string le = key.substr(le_pos + 4, key.find('"', le_pos + 4) - le_pos - 4);
      std::string labels = key.substr(family.size() + 8, le_pos - family.size() - 8);
      buckets[labels].emplace_back(le == "+Inf" ? 1e300 : std::stod(le), value);
    }
    for (auto& [labels, list] : buckets) {
      std::sort(list.begin(), list.end());
      for (size_t i = 1; i < list.size(); ++i) {
        if (list[i].second < list[i - 1].second) problems.push_back("buckets not cumulative: " + family + labels);
      }
      if (list.back().first != 1e300) problems.push_back("no +Inf bucket: " + family + labels);
      std::string base = labels.empty() ? "" : "{" + labels.substr(0, labels.size() - 1) + "}";
      auto count = samples.find(family + "_count" + base);
      if (count == samples.end() || count->second != list.back().second) {
        problems.push_back("+Inf bucket != _count for " + family + base);
      }
    }
  }
  return problems;
}

}  // namespace

TEST(Metrics, CountsKnownTrafficAcrossWorkers) {
  FakeBackendOptions options;
  options.fixtures_dir = fixturePath("responses");
  FakeCodexBackend backend(options);
  ProxyProcess proxy(ProxyProcess::Env{{"WORKERS", "2"},
                                       {"PROXY_API_KEY", "metrics-key"},
                                       {"CODEX_BASE_URL", backend.baseUrl()},
                                       {"OPENAI_ACCESS_TOKEN", "metrics-access-token"}});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer metrics-key"}};
  for (int i = 0; i < 5; ++i) ASSERT_EQ(httpRequest(proxy.port(), "GET", "/v1/models", auth).status, 200);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(httpRequest(proxy.port(), "GET", "/v1/models").status, 401);
  std::string chat = R"({"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]})";
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(httpRequest(proxy.port(), "POST", "/v1/chat/completions", auth, chat).status, 200);
  ASSERT_EQ(httpRequest(proxy.port(), "GET", "/metrics").status, 401) << "metrics need the key";

  std::map<std::string, double> samples;
  std::vector<std::string> problems;
  std::string text;
  bool seen = eventually(
      [&] {
        auto r = httpRequest(proxy.port(), "GET", "/metrics", auth);
        if (r.status != 200) return false;
        text = r.body;
        samples.clear();
        problems = checkPrometheusText(text, samples);
        // Each worker reports once a second: wait until both reports hold all of the traffic,
        // not just the part one worker served.
        return samples["codex_sub_proxy_http_requests_total{route=\"models\",status=\"200\"}"] == 5 &&
               samples["codex_sub_proxy_http_requests_total{route=\"models\",status=\"401\"}"] == 3 &&
               samples["codex_sub_proxy_http_requests_total{route=\"chat_completions\",status=\"200\"}"] == 2 &&
               samples["codex_sub_proxy_upstream_responses_total{status=\"200\"}"] == 2;
      },
      10s);
  ASSERT_TRUE(seen) << text;
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << "\n" << text;
  EXPECT_EQ(samples["codex_sub_proxy_http_requests_total{route=\"models\",status=\"401\"}"], 3);
  EXPECT_EQ(samples["codex_sub_proxy_upstream_responses_total{status=\"200\"}"], 2);
  EXPECT_EQ(samples["codex_sub_proxy_http_request_duration_seconds_count{route=\"chat_completions\"}"], 2);
  EXPECT_EQ(samples["codex_sub_proxy_time_to_first_byte_seconds_count{route=\"chat_completions\"}"], 2);
  EXPECT_EQ(samples["codex_sub_proxy_workers{state=\"ready\"}"], 2);
  EXPECT_EQ(samples["codex_sub_proxy_worker_restarts_total"], 0);
  EXPECT_EQ(samples["codex_sub_proxy_credential_state{state=\"ok\"}"], 1);
  EXPECT_EQ(samples["codex_sub_proxy_build_info{version=\"0.1.0\"}"], 1);
  EXPECT_GE(samples["codex_sub_proxy_connections_accepted_total"], 10);
  EXPECT_EQ(text.find("metrics-access-token"), std::string::npos);
  EXPECT_NE(text.find("# HELP codex_sub_proxy_http_requests_total "), std::string::npos);

  // ctl status totals agree.
  auto status = proxy.status();
  ASSERT_TRUE(status);
  EXPECT_GE(status->getObject("totals")->getValue<int>("requests"), 10);
  EXPECT_GE(status->getObject("totals")->getValue<int>("responses_4xx"), 3);
}
