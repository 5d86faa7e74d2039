// The fake backend itself: scenario grammar, body markers, transcripts, and the
// standalone program's contract (LISTENING line, control endpoints, stdin EOF).
#include "tests/support/fakes/fake_codex_backend.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/support/harness/paths.h"
#include "tests/support/harness/piped_process.h"
#include "tests/support/harness/temp_dir.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::test {
namespace {

using namespace std::chrono_literals;

TEST(FakeScenarioTest, ParsesTokens) {
  auto s = parseScenario("tool_call + delay:25, slow:100+framing:length+dribble+conn-close");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->transcript, "tool_call");
  EXPECT_EQ(s->delay.count(), 25);
  EXPECT_EQ(s->slow.count(), 100);
  EXPECT_EQ(s->framing, Scenario::Framing::Length);
  EXPECT_TRUE(s->dribble);
  EXPECT_TRUE(s->connection_close);
  EXPECT_FALSE(s->status);

  auto e = parseScenario("status:429:usage_limit_429.json");
  ASSERT_TRUE(e);
  EXPECT_EQ(*e->status, 429);
  EXPECT_EQ(e->status_body, "usage_limit_429.json");

  auto st = parseScenario("stall");
  ASSERT_TRUE(st);
  EXPECT_DOUBLE_EQ(*st->stall_seconds, 60.0);
  EXPECT_DOUBLE_EQ(*parseScenario("stall:0.5")->stall_seconds, 0.5);
  EXPECT_EQ(*parseScenario("abrupt")->abrupt_after, 1);
  EXPECT_EQ(*parseScenario("abrupt:3")->abrupt_after, 3);
  EXPECT_TRUE(parseScenario("echo")->echo);
  EXPECT_EQ(parseScenario("")->transcript, "");
}

TEST(FakeScenarioTest, RejectsBadTokens) {
  for (const char* bad : {"status:abc", "status:99", "delay:x", "framing:gzip", "bogus:1", "stall:-1", "a/b"}) {
    EXPECT_FALSE(parseScenario(bad)) << bad;
  }
}

TEST(FakeScenarioTest, ParsesTheOversizeTokens) {
  EXPECT_FALSE(parseScenario("text")->endless_line_after);
  EXPECT_EQ(*parseScenario("text+endless-line")->endless_line_after, 1);
  EXPECT_EQ(*parseScenario("endless-line:0")->endless_line_after, 0);
  EXPECT_EQ(*parseScenario("text+huge-event:1048576")->huge_event_bytes, 1048576u);
  for (const char* bad : {"endless-line:x", "endless-line:-1", "huge-event", "huge-event:0", "huge-event:1k"}) {
    EXPECT_FALSE(parseScenario(bad)) << bad;
  }
}

TEST(FakeScenarioTest, BodyMarkerTakesTheLastOne) {
  EXPECT_FALSE(scenarioFromBody("{\"input\":\"hello\"}"));
  EXPECT_EQ(*scenarioFromBody("[[scenario:text]] ... [[scenario: status:500 ]]"), "status:500");
  EXPECT_FALSE(scenarioFromBody("[[scenario:unterminated"));
}

TEST(FakeScenarioTest, SplitsSseEvents) {
  const auto ev = splitSseEvents("event: a\r\ndata: 1\r\n\r\n\n: comment\n\nevent: b\ndata: 2\ndata: 3\n");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0], "event: a\ndata: 1");
  EXPECT_EQ(ev[1], ": comment");
  EXPECT_EQ(ev[2], "event: b\ndata: 2\ndata: 3");
  EXPECT_EQ(jsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
}

TEST(FakeBackendTest, FixturesDirectoryIsUsedAndUnknownNamesFail) {
  TempDir dir;
  std::ofstream(dir.file("custom.sse")) << "event: x\ndata: {\"type\":\"x\"}\n\n";
  std::ofstream(dir.file("page.html")) << "<html>challenge</html>";
  FakeBackendOptions o;
  o.fixtures_dir = dir.path();
  o.default_scenario = "custom";
  FakeCodexBackend backend(o);
  worker::UpstreamSettings s;
  s.base_url = backend.baseUrl();
  worker::UpstreamPool pool(s);
  worker::UpstreamRequestSpec spec;
  spec.path = "/responses";
  spec.body = kAcceptedCodexBody;
  {
    auto ex = pool.send(spec);  // default scenario
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_NE((*ex)->readAll(4096, 2s).find("data: {\"type\":\"x\"}"), std::string::npos);
  }
  spec.headers = {{"x-fake-scenario", "status:403:page.html"}};
  {
    auto ex = pool.send(spec);
    ASSERT_TRUE(ex);
    EXPECT_EQ((*ex)->head().status, 403);
    EXPECT_EQ(*(*ex)->head().header("content-type"), "text/html; charset=UTF-8");
    EXPECT_EQ((*ex)->readAll(4096, 2s), "<html>challenge</html>");
  }
  spec.headers = {{"x-fake-scenario", "missing_transcript"}};
  {
    auto ex = pool.send(spec);
    ASSERT_TRUE(ex);
    EXPECT_EQ((*ex)->head().status, 500);
    (*ex)->readAll(4096, 2s);
  }
  EXPECT_EQ(backend.requestCount(), 3u);
  backend.reset();
  EXPECT_EQ(backend.requestCount(), 0u);
}

// Every shared fixture replays through the fake: each .sse event arrives once
// (stamped), each error body byte for byte.
TEST(FakeBackendTest, ReplaysEverySharedFixture) {
  const std::string fixtures = fixturePath("responses");
  FakeBackendOptions o;
  o.fixtures_dir = fixtures;
  FakeCodexBackend backend(o);
  worker::UpstreamSettings s;
  s.base_url = backend.baseUrl();
  worker::UpstreamPool pool(s);
  int replayed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fixtures)) {
    const std::string name = entry.path().filename().string();
    const std::string ext = entry.path().extension().string();
    worker::UpstreamRequestSpec spec;
    spec.path = "/responses";
    spec.body = kAcceptedCodexBody;
    const std::string content = readFile(entry.path().string());
    if (ext == ".sse") {
      spec.headers = {{"x-fake-scenario", entry.path().stem().string()}};
      auto ex = pool.send(spec);
      ASSERT_TRUE(ex) << name << ": " << ex.error().message;
      EXPECT_EQ((*ex)->head().status, 200) << name;
      const std::string body = (*ex)->readAll(4 << 20, 5s);
      EXPECT_TRUE((*ex)->finished()) << name;
      const auto events = splitSseEvents(content);
      EXPECT_GT(events.size(), 0u) << name;
      std::size_t stamps = 0;
      for (auto pos = body.find(": t="); pos != std::string::npos; pos = body.find(": t=", pos + 1)) ++stamps;
      EXPECT_EQ(stamps, events.size()) << name;
      for (const auto& ev : events) EXPECT_NE(body.find(ev), std::string::npos) << name;
      ++replayed;
    } else if (ext == ".json" || ext == ".html") {
      spec.headers = {{"x-fake-scenario", "status:502:" + name}};
      auto ex = pool.send(spec);
      ASSERT_TRUE(ex) << name << ": " << ex.error().message;
      EXPECT_EQ((*ex)->head().status, 502) << name;
      EXPECT_EQ((*ex)->readAll(4 << 20, 5s), content) << name;
      ++replayed;
    }
  }
  EXPECT_GE(replayed, 10);
  EXPECT_EQ(backend.distinctConnections(), 1u);  // all on one kept-alive connection
}

// The standalone program with pipes on stdin/stdout.
class FakeProcess : public PipedProcess {
 public:
  explicit FakeProcess(std::vector<std::string> args) : PipedProcess(COSP_FAKE_CODEX_BACKEND_BIN, std::move(args)) {}
};

worker::UpstreamRequestSpec request(std::string method, std::string path, std::string body = {}) {
  worker::UpstreamRequestSpec s;
  s.method = std::move(method);
  s.path = std::move(path);
  s.body = std::move(body);
  return s;
}

TEST(FakeBackendProgramTest, ListensRecordsResetsAndExitsOnStdinEof) {
  TempDir dir;
  std::ofstream(dir.file("text.sse")) << "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n";
  FakeProcess proc({"--port", "0", "--fixtures", dir.path()});
  ASSERT_GT(proc.pid(), 0);
  const int port = proc.waitListening(10s);
  ASSERT_GT(port, 0);

  worker::UpstreamSettings s;
  s.base_url = "http://127.0.0.1:" + std::to_string(port);
  worker::UpstreamPool pool(s);
  {
    auto ex = pool.send(request("POST", "/backend-api/codex/responses",
                                R"({"model":"gpt-5.4","instructions":"","store":false,"stream":true,)"
                                R"("input":"please [[scenario:text+delay:1]]"})"));
    ASSERT_TRUE(ex) << ex.error().message;
    EXPECT_NE((*ex)->readAll(4096, 3s).find("response.completed"), std::string::npos);
  }
  {
    auto ex = pool.send(request("GET", "/__fake/requests"));
    ASSERT_TRUE(ex);
    const std::string json = (*ex)->readAll(1 << 20, 3s);
    EXPECT_NE(json.find("\"scenario\":\"text+delay:1\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"completed\":true"), std::string::npos) << json;
    EXPECT_NE(json.find("\"path\":\"/backend-api/codex/responses\""), std::string::npos) << json;
  }
  {
    auto ex = pool.send(request("POST", "/__fake/scenario", "status:503"));
    ASSERT_TRUE(ex);
    EXPECT_EQ((*ex)->head().status, 200);
    (*ex)->readAll(4096, 3s);
    auto err = pool.send(request("POST", "/backend-api/codex/responses", kAcceptedCodexBody));
    ASSERT_TRUE(err);
    EXPECT_EQ((*err)->head().status, 503);
    (*err)->readAll(4096, 3s);
  }
  {
    auto ex = pool.send(request("POST", "/__fake/reset"));
    ASSERT_TRUE(ex);
    (*ex)->readAll(4096, 3s);
    auto list = pool.send(request("GET", "/__fake/requests"));
    ASSERT_TRUE(list);
    EXPECT_EQ((*list)->readAll(4096, 3s), "[]");
  }
  pool.closeIdle();
  proc.closeStdin();
  EXPECT_EQ(proc.waitExit(5s), 0);
}

TEST(FakeBackendProgramTest, StopsOnSigterm) {
  FakeProcess proc({"--port", "0"});
  ASSERT_GT(proc.waitListening(10s), 0);
  ::kill(proc.pid(), SIGTERM);
  EXPECT_EQ(proc.waitExit(5s), 0);
}

}  // namespace
}  // namespace cosp::test
