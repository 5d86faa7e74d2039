// Worker capacity: a worker whose every connection thread holds a stream leaves new connections
// to a worker with room, and serves them again once it has room.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"
#include "tests/support/harness/raw_client.h"

using namespace cosp::test;
using namespace std::chrono_literals;

namespace {

constexpr int kWorkers = 2;
constexpr int kThreadsPerWorker = 4;  // WORKER_THREADS' minimum
// Output first: the proxy commits at once (nothing held back), then the upstream goes silent.
const std::string kHeldStream =
    R"({"model":"gpt-5.5","stream":true,"input":"hold [[scenario:output_first+stall:60]]"})";

// Per-worker active streams from `ctl status` (heartbeats, once a second).
std::vector<int> activeStreamsPerWorker(ProxyProcess& proxy) {
  std::vector<int> streams;
  auto status = proxy.status();
  if (!status) return streams;
  auto workers = status->getArray("workers");
  for (std::size_t i = 0; i < workers->size(); ++i) {
    streams.push_back(workers->getObject(static_cast<unsigned>(i))->optValue<int>("active_streams", -1));
  }
  return streams;
}

}  // namespace

TEST(Capacity, AFullWorkerLeavesConnectionsToTheOthersAndResumesWithRoom) {
  FakeBackendOptions options;
  options.fixtures_dir = fixturePath("responses");
  FakeCodexBackend backend(options);
  ProxyProcess proxy({{"CODEX_BASE_URL", backend.baseUrl()},
                      {"OPENAI_ACCESS_TOKEN", "upstream-access-token"},
                      {"WORKERS", std::to_string(kWorkers)},
                      {"WORKER_THREADS", std::to_string(kThreadsPerWorker)}});
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();

  // Exactly the server's capacity in held streams. Which worker accepts a connection is the
  // kernel's choice; a worker that queued connections beyond its threads (POCO's dispatcher did)
  // would leave some of these waiting behind 60 s streams, so their headers would never come.
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < kWorkers * kThreadsPerWorker; ++i) {
    held.push_back(std::make_unique<RawClient>(proxy.port()));
    ASSERT_TRUE(held.back()->post("/v1/responses", kHeldStream));
    ASSERT_TRUE(held.back()->readUntil("response.output_item.added"))
        << "stream " << i << ": " << held.back()->received();
  }
  ASSERT_TRUE(backend.waitForRequests(kWorkers * kThreadsPerWorker, 5s));
  ASSERT_TRUE(
      eventually([&] { return activeStreamsPerWorker(proxy) == std::vector<int>(kWorkers, kThreadsPerWorker); }, 5s))
      << "active streams per worker never became " << kThreadsPerWorker << " each";

  // Full everywhere: one more connection waits in the backlog, neither served nor refused...
  RawClient waiting(proxy.port(), 1000);
  ASSERT_TRUE(waiting.connected());  // the kernel completes the handshake for the backlog
  ASSERT_TRUE(waiting.post("/v1/responses", kHeldStream));
  EXPECT_FALSE(waiting.readUntil("HTTP/1.1")) << "answered beyond capacity: " << waiting.received();
  EXPECT_EQ(backend.requestCount(), static_cast<std::size_t>(kWorkers * kThreadsPerWorker));

  // ...until a stream ends and frees a thread. A full worker still accepts now and then (so it
  // can answer health probes), so the waiting connection may sit in either worker: streams end
  // one by one until its worker has room. At worst every stream of the other worker ends first,
  // then one of its own: one worker's worth plus one.
  bool served = false;
  std::size_t closed = 0;
  while (!served && closed < held.size()) {
    held[closed]->close();
    ASSERT_TRUE(backend.waitForClientClose(closed, 5s).has_value()) << "the proxy kept the upstream of a closed client";
    ++closed;
    served = eventually([&] { return waiting.readUntil("response.output_item.added"); }, 2s);
  }
  ASSERT_TRUE(served) << "the waiting connection was never served: " << waiting.received();
  EXPECT_LE(closed, static_cast<std::size_t>(kThreadsPerWorker + 1));
  EXPECT_NE(waiting.received().find("HTTP/1.1 200"), std::string::npos) << waiting.received();
  EXPECT_EQ(backend.requestCount(), static_cast<std::size_t>(kWorkers * kThreadsPerWorker + 1));

  // Nothing was refused, and every worker is still the one that started.
  auto status = proxy.status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->getValue<int>("worker_restarts"), 0);
}
