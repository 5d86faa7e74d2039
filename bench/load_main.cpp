// cosp-bench-load: the loopback load tool. It drives the same workloads, in the same run,
// against the fake upstream directly, nginx in front of it, and the proxy in front of it, so
// the proxy's added cost is read as a difference and a ratio, not as an absolute time.
//
//   cosp-bench-load run --out DIR --direct PORT --nginx PORT --nginx-pid PID
//                       --proxy PORT --proxy-pid PID [--fake-pid PID] [--micro FILE]
//                       [--rounds 3] [--hold 2000] [--hold-large 8000] [--ws-hold N] [--lifecycle 1000]
//                       [--quick]
//
// Everything is bounded in count and time and stops by itself. Writes DIR/load.json (every
// measurement), DIR/samples/*.txt (raw samples in microseconds) and DIR/summary.txt (also
// printed), which includes the microbenchmark figures from --micro (Google Benchmark JSON)
// and the verdict on every bar of the performance issue.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_clock.h"
#include "bench/corpus.h"
#include "bench/load_engine.h"
#include "bench/proc_stats.h"
#include "bench/session_id.h"
#include "bench/stats.h"
#include "bench/ws_engine.h"
#include "common/json/json_parser.h"

namespace cosp::bench {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000'000'000;

struct Options {
  std::string out = "bench-results";
  std::uint16_t direct_port = 0;
  std::uint16_t nginx_port = 0;
  std::uint16_t proxy_port = 0;
  pid_t nginx_pid = 0;
  pid_t proxy_pid = 0;
  std::uint16_t proxy_b_port = 0;  // optional second proxy build (A/B of a proposed change)
  pid_t proxy_b_pid = 0;
  pid_t fake_pid = 0;
  std::string micro;
  int rounds = 3;
  int hold = 2000;
  int hold_large = 8000;  // streams of the `holdlarge` phase (issue 17's capacity figure); 0 = skip
  int ws_hold = 0;        // WebSockets held in ws-hold; 0 = as many as `hold`
  int lifecycle = 1000;
  bool quick = false;
  std::set<std::string> phases;  // empty = all
  std::string command_line;
};

struct Target {
  std::string name;
  std::uint16_t port = 0;
  std::string path;
  bool chat = false;
  pid_t pss_root = 0;  // 0 = not measured
};

// What every request adds for the proxy's features under test, set once in main before any
// request is built: the caller key of API_KEYS_FILE (bench/run's BENCH_KEYS; every target gets
// it, so the requests stay the same size everywhere) and per-connection session ids
// (BENCH_ACCOUNTS > 1, so sessions spread over the accounts). Both are off by default, so figures
// stay comparable with runs made before they existed.
struct RequestExtras {
  std::string authorization;  // "Authorization: Bearer …\r\n" or empty
  bool session_ids = false;
};

RequestExtras& requestExtras() {
  static RequestExtras extras;
  return extras;
}

// --api-key-file FILE (the key read from a file, so it is never on a command line) and
// --session-ids; false when `a` is neither. A key file that cannot be read ends the program.
bool parseRequestExtra(const std::string& a, const std::function<std::string()>& next) {
  if (a == "--session-ids") {
    requestExtras().session_ids = true;
    return true;
  }
  if (a != "--api-key-file") return false;
  const std::string path = next();
  std::ifstream in(path);
  std::string key;
  if (!in || !std::getline(in, key) || key.empty()) {
    std::fprintf(stderr, "cosp-bench-load: cannot read a key from %s\n", path.c_str());
    std::exit(2);
  }
  requestExtras().authorization = "Authorization: Bearer " + key + "\r\n";
  return true;
}

// ------------------------------------------------------------------------------------------
// Requests: a realistic short agent turn (~1 KB): instructions, a user message, a tool.

std::string responsesBody(bool stream) {
  return std::string(
             R"({"model":"gpt-5.5","instructions":"You are a coding agent. Answer briefly and use the tools when they help.",)") +
         R"("input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Summarise the build )" +
         R"(failure below in one sentence and suggest the fix.\nerror: no matching function for call to 'parse(std::string_view)'\n)" +
         R"(  note: candidate expects 2 arguments, 1 provided\n  note: in instantiation of template 'Decoder<Utf8>' requested here"}]}],)" +
         R"("tools":[{"type":"function","name":"read_file","description":"Read a file of the repository",)" +
         R"("parameters":{"type":"object","properties":{"path":{"type":"string"},"offset":{"type":"integer"}},"required":["path"]},"strict":false}],)" +
         R"("tool_choice":"auto","parallel_tool_calls":true,"reasoning":{"effort":"low"},"stream":)" +
         (stream ? "true" : "false") + "}";
}

std::string chatBody(bool stream) {
  return std::string(
             R"({"model":"gpt-5.5","messages":[{"role":"system","content":"You are a coding agent. Answer briefly and use the tools when they help."},)") +
         R"({"role":"user","content":"Summarise the build failure below in one sentence and suggest the fix.\nerror: no matching )" +
         R"(function for call to 'parse(std::string_view)'\n  note: candidate expects 2 arguments, 1 provided\n  note: in )" +
         R"(instantiation of template 'Decoder<Utf8>' requested here"}],)" +
         R"("tools":[{"type":"function","function":{"name":"read_file","description":"Read a file of the repository",)" +
         R"("parameters":{"type":"object","properties":{"path":{"type":"string"},"offset":{"type":"integer"}},"required":["path"]}}}],)" +
         R"("tool_choice":"auto","reasoning_effort":"low","temperature":0.2,"stream":)" + (stream ? "true" : "false") +
         "}";
}

std::string makeRequestWithBody(const Target& t, const std::string& body, bool stream, int deltas, int interval_ms) {
  return "POST " + t.path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(t.port) +
         "\r\nContent-Type: application/json\r\nAccept: " + (stream ? "text/event-stream" : "application/json") +
         "\r\nUser-Agent: cosp-bench-load\r\n" + requestExtras().authorization +
         "x-codex-bench: n=" + std::to_string(deltas) + ",iv=" + std::to_string(interval_ms) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string makeRequest(const Target& t, bool stream, int deltas, int interval_ms) {
  return makeRequestWithBody(t, t.chat ? chatBody(stream) : responsesBody(stream), stream, deltas, interval_ms);
}

// A tiny blocking GET (for the fake's /__stats), with a 2 s budget.
std::string httpGet(std::uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  std::size_t body = out.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : out.substr(body + 4);
}

// Status code of a GET, 0 when nothing answered.
int httpStatus(std::uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    char buf[64] = {};
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()) &&
        ::recv(fd, buf, sizeof buf - 1, MSG_WAITALL) >= 12) {
      status = std::atoi(buf + 9);
    }
  }
  ::close(fd);
  return status;
}

// A port nothing listens on right now (bound to 0, read back, released).
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::int64_t jsonInt(const std::string& json, const std::string& key) {
  std::size_t p = json.find("\"" + key + "\":");
  if (p == std::string::npos) return -1;
  return std::strtoll(json.c_str() + p + key.size() + 3, nullptr, 10);
}

// ------------------------------------------------------------------------------------------
// Results

struct Record {
  std::string phase;
  std::string target;
  int round = 0;
  std::string loadavg;
  std::map<std::string, double> values;  // named figures (µs, counts, KiB, ...)
  std::map<std::string, std::string> notes;
  std::map<std::string, std::int64_t> errors;
};

// A record of `phase` against `t`, started when the load average was `loadavg`.
Record record(std::string phase, const Target& t, int round, std::string loadavg) {
  Record r;
  r.phase = std::move(phase);
  r.target = t.name;
  r.round = round;
  r.loadavg = std::move(loadavg);
  return r;
}

double us(std::int64_t ns) { return static_cast<double>(ns) / 1000.0; }

void putSummary(Record& r, const std::string& prefix, const Summary& s) {
  r.values[prefix + "_count"] = static_cast<double>(s.count);
  if (s.count == 0) return;
  r.values[prefix + "_p50_us"] = us(s.p50);
  r.values[prefix + "_p90_us"] = us(s.p90);
  r.values[prefix + "_p99_us"] = us(s.p99);
  r.values[prefix + "_p999_us"] = us(s.p999);
  r.values[prefix + "_max_us"] = us(s.max);
  r.values[prefix + "_mean_us"] = s.mean / 1000.0;
  r.values[prefix + "_over_40ms"] = static_cast<double>(s.over_40ms);
}

// What every SSE phase reports of its group: the event and first-byte latencies, the outcomes,
// stalls and the longest silence, the errors.
void putStreamCommon(Record& r, const GroupStats& s) {
  putSummary(r, "event", summarize(s.event_ns));
  putSummary(r, "ttfb", summarize(s.ttfb_ns));
  r.values["ok"] = static_cast<double>(s.ok);
  r.values["failed"] = static_cast<double>(s.failed);
  r.values["stalled"] = static_cast<double>(s.stalled_streams);
  r.values["max_gap_us"] = us(s.max_gap_ns);
  r.errors = s.errors;
}

std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += c;
    }
  }
  return o;
}

std::string fmtNum(double v) {
  if (std::isnan(v) || std::isinf(v)) return "null";
  char b[64];
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15)
    std::snprintf(b, sizeof b, "%.0f", v);
  else
    std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

class Bench {
 public:
  explicit Bench(Options o) : opt_(std::move(o)) {}
  int run();

 private:
  std::vector<Target> latencyTargets() const;
  std::vector<Target> allTargets() const;
  void writeSamples(const std::string& name, const std::vector<std::int64_t>& ns);
  Record& add(Record r);

  // What one sequential phase sends: the record's phase name, whether it streams, warm-up and
  // measured request counts, and the request of each target.
  struct SeqSpec {
    std::string phase;
    bool stream = false;
    int warm = 0, n = 0;
    std::function<std::string(const Target&)> request;
  };
  void phaseSequential(int round, const std::vector<Target>& targets, const SeqSpec& spec);
  void phaseSequential(int round, const std::vector<Target>& targets, bool stream);
  void phaseLongConversations(int round);
  void phaseRps(int round, const Target& t, int concurrency);
  void phaseEvents(int round, const Target& t, int streams);
  void phaseHold(const Target& t, int streams, const std::string& phase, int opened_per_second);
  void phaseWsEvents(int round, const Target& t);
  void phaseWsHold(const Target& t, int sockets);
  std::vector<Target> wsTargets() const;
  void phaseReload(int streams);
  void phaseKill(int streams);
  void settle(std::int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

  void writeJson();
  std::string summary();

  const Record* find(const std::string& phase, const std::string& target, int round = -1) const;
  // Median over rounds of one value, with the min and max.
  struct Spread {
    double median = NAN, lo = NAN, hi = NAN;
    int n = 0;
  };
  Spread spread(const std::string& phase, const std::string& target, const std::string& key) const;
  // Per round: target's value minus direct's; median, min and max over the rounds.
  Spread addedSpread(const std::string& phase, const std::string& target, const std::string& key) const;

  Options opt_;
  std::vector<Record> records_;
  std::string started_at_;
  std::string load_at_start_;
};

std::vector<Target> Bench::latencyTargets() const {
  return {
      {"direct", opt_.direct_port, "/v1/responses", false, opt_.fake_pid},
      {"nginx", opt_.nginx_port, "/v1/responses", false, opt_.nginx_pid},
      {"proxy", opt_.proxy_port, "/v1/responses", false, opt_.proxy_pid},
      {"proxy-chat", opt_.proxy_port, "/v1/chat/completions", true, opt_.proxy_pid},
  };
}

std::vector<Target> Bench::allTargets() const {
  std::vector<Target> t = latencyTargets();
  if (opt_.proxy_b_port != 0) t.push_back({"proxy-b", opt_.proxy_b_port, "/v1/responses", false, opt_.proxy_b_pid});
  return t;
}

Record& Bench::add(Record r) {
  if (r.loadavg.empty()) r.loadavg = loadAverage();
  records_.push_back(std::move(r));
  return records_.back();
}

void Bench::writeSamples(const std::string& name, const std::vector<std::int64_t>& ns) {
  std::ofstream f(opt_.out + "/samples/" + name + ".txt");
  for (std::int64_t v : ns) f << static_cast<double>(v) / 1000.0 << "\n";
}

// Sequential requests on one keep-alive connection: latency without queueing.
// One blocking keep-alive connection per target, for the sequential phases.
struct SeqConn {
  Target target;
  std::string request;
  int fd = -1;
  bool reused = false;
};

void closeSeq(SeqConn& c) {
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
  c.reused = false;
}

bool connectSeq(SeqConn& c, std::string& error) {
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{10, 0};
  ::setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(c.target.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = std::string("connect: ") + std::strerror(errno);
    closeSeq(c);
    return false;
  }
  return true;
}

struct SeqResult {
  bool ok = false;
  std::string error;
  std::int64_t latency = 0;
  std::int64_t ttfb = 0;
};

// Sends one request and reads the whole response; per-event latencies go to `events`.
SeqResult seqRequest(SeqConn& c, std::vector<std::int64_t>* events) {
  SeqResult r;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (c.fd < 0 && !connectSeq(c, r.error)) return r;
    const bool reused = c.reused;
    const std::int64_t start = monoNs();
    if (::send(c.fd, c.request.data(), c.request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(c.request.size())) {
      closeSeq(c);
      if (reused) continue;  // the server closed the kept-alive connection: once more, fresh
      r.error = "send failed";
      return r;
    }
    ResponseReader reader;
    std::string body;
    std::size_t scan = 0;
    bool terminal = false, error_event = false, got = false;
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      const std::int64_t now = monoNs();
      if (n <= 0) {
        closeSeq(c);
        if (!got && reused) break;  // retry
        r.error = n == 0 ? "closed" : std::string("recv: ") + std::strerror(errno);
        return r;
      }
      if (!got) {
        got = true;
        r.ttfb = now - start;
      }
      auto st = reader.feed(buf, static_cast<std::size_t>(n), body);
      if (reader.eventStream()) {
        std::size_t pos;
        while ((pos = body.find("\n\n", scan)) != std::string::npos) {
          std::string_view block(body.data(), pos);
          if (block.find("data:") != std::string_view::npos) {
            if (events) {
              std::size_t t = block.find("t=");
              while (t != std::string_view::npos) {
                std::size_t e = t + 2;
                while (e < block.size() && block[e] >= '0' && block[e] <= '9') ++e;
                if (e - t - 2 >= 10) {
                  events->push_back(now - std::atoll(std::string(block.substr(t + 2, e - t - 2)).c_str()));
                  break;
                }
                t = block.find("t=", t + 2);
              }
            }
            if (block.find("response.completed") != std::string_view::npos ||
                block.find("data: [DONE]") != std::string_view::npos)
              terminal = true;
            if (block.find("event: error") != std::string_view::npos ||
                block.find("data: {\"error\"") != std::string_view::npos)
              error_event = true;
          }
          body.erase(0, pos + 2);
          scan = 0;
        }
        scan = body.size() > 0 ? body.size() - 1 : 0;
      }
      if (st == ResponseReader::Status::Error) {
        closeSeq(c);
        r.error = "protocol: " + reader.error();
        return r;
      }
      if (st == ResponseReader::Status::Done) {
        r.latency = now - start;
        r.ok = reader.status() == 200 && (!reader.eventStream() || (terminal && !error_event));
        if (!r.ok) r.error = reader.status() != 200 ? "status " + std::to_string(reader.status()) : "stream incomplete";
        if (!reader.keepAlive())
          closeSeq(c);
        else
          c.reused = true;
        return r;
      }
    }
  }
  r.error = "closed before the response";
  return r;
}

// Sequential requests, one at a time, rotating over every target request by request: the
// targets share the same moments of background load (other processes on the 2 cores), which
// a target-after-target run does not give.
void Bench::phaseSequential(int round, const std::vector<Target>& targets, bool stream) {
  SeqSpec spec;
  spec.phase = stream ? "stream_seq" : "nonstream_seq";
  spec.stream = stream;
  spec.warm = opt_.quick ? 20 : 100;
  spec.n = opt_.quick ? 200 : (stream ? 1000 : 2000);
  spec.request = [stream](const Target& t) { return makeRequest(t, stream, 8, 0); };
  phaseSequential(round, targets, spec);
}

// Long conversations (issue 17): the text-heavy chat bodies of the microbenchmarks (~100 KB and
// ~1 MB: hundreds of turns with tool calls and escapes, no image) sent one at a time, streaming
// as agents do, to the fake directly, through nginx and through the Chat route, which translates
// every byte of them. The fake does not read the body, so direct and nginx carry the same bytes.
void Bench::phaseLongConversations(int round) {
  std::vector<Target> targets;
  for (const Target& t : latencyTargets()) {
    if (t.name != "proxy") targets.push_back(t);
  }
  if (opt_.proxy_b_port != 0)
    // The second build's Chat route, in the proxy-b column of the summary.
    targets.push_back({"proxy-b", opt_.proxy_b_port, "/v1/chat/completions", true, opt_.proxy_b_pid});
  for (const auto& [label, bytes, n] : {std::tuple<const char*, std::size_t, int>{"100KB", 100 * 1024, 300},
                                        std::tuple<const char*, std::size_t, int>{"1MB", 1024 * 1024, 100}}) {
    const std::string body = chatRequestTextBody(bytes);
    SeqSpec spec;
    spec.phase = std::string("conversation_") + label;
    spec.stream = true;
    spec.warm = opt_.quick ? 3 : 10;
    spec.n = opt_.quick ? n / 10 : n;
    spec.request = [&body](const Target& t) { return makeRequestWithBody(t, body, true, 8, 0); };
    phaseSequential(round, targets, spec);
  }
}

void Bench::phaseSequential(int round, const std::vector<Target>& targets, const SeqSpec& spec) {
  const bool stream = spec.stream;
  const int warm = spec.warm;
  const int n = spec.n;
  std::vector<SeqConn> conns;
  for (const auto& t : targets) {
    std::string request = spec.request(t);
    if (requestExtras().session_ids) request = withSessionId(request, 0);
    conns.push_back(SeqConn{t, request});
  }
  struct Acc {
    std::vector<std::int64_t> latency, ttfb, events;
    std::int64_t ok = 0, failed = 0;
    std::map<std::string, std::int64_t> errors;
  };
  std::vector<Acc> acc(conns.size());
  const std::string loadavg = loadAverage();
  for (int i = 0; i < warm + n; ++i) {
    for (std::size_t k = 0; k < conns.size(); ++k) {
      const std::size_t j = (k + static_cast<std::size_t>(i)) % conns.size();
      const bool measured = i >= warm;
      SeqResult res = seqRequest(conns[j], measured && stream ? &acc[j].events : nullptr);
      if (!res.ok) {
        ++acc[j].failed;
        ++acc[j].errors[res.error];
        continue;
      }
      if (!measured) continue;
      ++acc[j].ok;
      acc[j].latency.push_back(res.latency);
      acc[j].ttfb.push_back(res.ttfb);
    }
  }
  for (std::size_t j = 0; j < conns.size(); ++j) {
    closeSeq(conns[j]);
    Record r = record(spec.phase, conns[j].target, round, loadavg);
    putSummary(r, "latency", summarize(acc[j].latency));
    putSummary(r, "ttfb", summarize(acc[j].ttfb));
    if (stream) putSummary(r, "event", summarize(acc[j].events));
    r.values["ok"] = static_cast<double>(acc[j].ok);
    r.values["failed"] = static_cast<double>(acc[j].failed);
    r.errors = acc[j].errors;
    writeSamples(r.phase + "-" + r.target + "-r" + std::to_string(round) + (stream ? "-ttfb" : "-latency"),
                 stream ? acc[j].ttfb : acc[j].latency);
    add(std::move(r));
  }
}

// Closed loop: `concurrency` keep-alive connections, each sending the next request as soon as
// the previous answer ended.
void Bench::phaseRps(int round, const Target& t, int concurrency) {
  const std::int64_t warm = (opt_.quick ? 200 : 500) * kMs;
  const std::int64_t window = (opt_.quick ? 1000 : 2500) * kMs;
  Engine e;
  GroupSpec g;
  g.name = t.name;
  g.port = t.port;
  g.request = makeRequest(t, false, 8, 0);
  g.session_ids = requestExtras().session_ids;
  g.connections = concurrency;
  const std::int64_t start = monoNs();
  g.start_ns = start;
  g.measure_from_ns = start + warm;
  g.stop_issuing_ns = start + warm + window;
  g.request_timeout_ns = 10 * kSec;
  const std::string loadavg = loadAverage();
  int id = e.addGroup(g);
  // CPU spent by the target's processes (and the fake's) per request: a figure that, unlike
  // latency, does not depend on what else the 2 cores are doing.
  std::int64_t cpu_at_window = -1, fake_cpu_at_window = -1;
  e.at(start + warm, [&] {
    if (t.pss_root) cpu_at_window = treeCpuMs(t.pss_root);
    if (opt_.fake_pid) fake_cpu_at_window = cpuMs(opt_.fake_pid);
  });
  std::int64_t cpu_at_end = -1, fake_cpu_at_end = -1;
  e.at(start + warm + window, [&] {
    if (t.pss_root) cpu_at_end = treeCpuMs(t.pss_root);
    if (opt_.fake_pid) fake_cpu_at_end = cpuMs(opt_.fake_pid);
  });
  e.run(start + warm + window + 15 * kSec);
  GroupStats& s = e.stats(id);
  Record r = record("rps_c" + std::to_string(concurrency), t, round, loadavg);
  const double seconds = static_cast<double>(s.window_end_ns - (start + warm)) / 1e9;
  r.values["rps"] = seconds > 0 ? static_cast<double>(s.ok) / seconds : 0;
  const double window_requests = r.values["rps"] * static_cast<double>(window) / 1e9;
  if (cpu_at_window >= 0 && cpu_at_end >= 0 && window_requests > 0) {
    // The fake serves every target; its CPU is the same work each time and is not part of
    // the target's own cost unless the target is the fake itself.
    r.values["cpu_us_per_request"] = static_cast<double>(cpu_at_end - cpu_at_window) * 1000.0 / window_requests;
  }
  if (fake_cpu_at_window >= 0 && fake_cpu_at_end >= 0 && window_requests > 0) {
    r.values["upstream_cpu_us_per_request"] =
        static_cast<double>(fake_cpu_at_end - fake_cpu_at_window) * 1000.0 / window_requests;
  }
  putSummary(r, "latency", summarize(s.latency_ns));
  r.values["ok"] = static_cast<double>(s.ok);
  r.values["failed"] = static_cast<double>(s.failed);
  r.values["reconnects"] = static_cast<double>(s.reconnects);
  r.errors = s.errors;
  add(std::move(r));
}

// The group of an events phase (SSE or WebSocket), from now: `connections` against `t`, their
// starts spread over one interval, a warm-up, then the measured window, after which no request
// or turn starts; per-event latencies recorded, a silence over 1 s a stall. The group's start.
template <class Spec>
std::int64_t eventsLoop(Spec& g, const Target& t, int connections, int interval_ms, std::int64_t warm,
                        std::int64_t window) {
  g.name = t.name;
  g.port = t.port;
  g.connections = connections;
  g.ramp_ns = interval_ms * kMs;
  const std::int64_t start = monoNs();
  g.start_ns = start;
  g.measure_from_ns = start + warm;
  g.stop_issuing_ns = start + warm + window;
  g.record_events = true;
  g.stall_ns = 1 * kSec;
  return start;
}

// 100 concurrent streams, one text delta every 25 ms each (phases spread over the interval):
// per-event delivery latency = receive time - the fake's send stamp.
void Bench::phaseEvents(int round, const Target& t, int streams) {
  const int interval = 25;
  const int deltas = 40;  // 1 s per stream, then the connection asks for the next one
  const std::int64_t warm = (opt_.quick ? 500 : 1000) * kMs;
  const std::int64_t window = (opt_.quick ? 1500 : 3000) * kMs;
  Engine e;
  GroupSpec g;
  g.request = makeRequest(t, true, deltas, interval);
  g.session_ids = requestExtras().session_ids;
  g.request_timeout_ns = 20 * kSec;
  const std::int64_t start = eventsLoop(g, t, streams, interval, warm, window);
  const std::string loadavg = loadAverage();
  int id = e.addGroup(g);
  // CPU of the target's processes per event relayed over the measured window (issue 17): every
  // event received counts, those of streams started in the warm-up included, since the target
  // spent CPU on them inside the window too.
  std::int64_t cpu0 = -1, cpu1 = -1, events0 = 0, events1 = 0;
  if (t.pss_root) {
    e.at(start + warm, [&] {
      cpu0 = treeCpuMs(t.pss_root);
      events0 = e.stats(id).events_received;
    });
    e.at(start + warm + window, [&] {
      cpu1 = treeCpuMs(t.pss_root);
      events1 = e.stats(id).events_received;
    });
  }
  e.run(start + warm + window + 20 * kSec);
  GroupStats& s = e.stats(id);
  const std::string phase = "events_" + std::to_string(streams);
  Record r = record(phase, t, round, loadavg);
  putStreamCommon(r, s);
  if (cpu0 >= 0 && cpu1 >= 0 && events1 > events0)
    r.values["cpu_us_per_event"] = static_cast<double>(cpu1 - cpu0) * 1000.0 / static_cast<double>(events1 - events0);
  writeSamples(phase + "-" + t.name + "-r" + std::to_string(round), s.event_ns);
  add(std::move(r));
}

// What is read once every stream (or WebSocket) of a hold phase is held: PSS and threads of the
// target's processes, the fake's count of responses in progress, the spread over the workers.
void holdSnapshot(Record& held, const Target& t, std::int64_t pss_before, int streams, std::uint16_t direct_port) {
  if (t.pss_root) {
    const std::int64_t pss = treePssKiB(t.pss_root);
    held.values["pss_before_kib"] = static_cast<double>(pss_before);
    held.values["pss_held_kib"] = static_cast<double>(pss);
    held.values["pss_per_stream_kib"] = static_cast<double>(pss - pss_before) / streams;
    int threads = 0;
    std::string per_process;
    for (pid_t p : processTree(t.pss_root)) {
      threads += threadCount(p);
      per_process +=
          std::to_string(p) + ":" + std::to_string(pssKiB(p)) + "KiB/" + std::to_string(threadCount(p)) + "thr ";
    }
    held.values["threads_held"] = threads;
    held.notes["per_process_held"] = per_process;
  }
  const std::string fake = httpGet(direct_port, "/__stats");
  held.values["upstream_active_streams_held"] = static_cast<double>(jsonInt(fake, "active_streams"));
  held.values["upstream_ws_open_held"] = static_cast<double>(jsonInt(fake, "ws_open"));
  if (t.name.rfind("proxy", 0) == 0) {
    // How the shared listening socket spread the streams over the workers.
    std::map<pid_t, int> per_worker;
    for (const auto& [port, pid] : serverSocketOwners(t.port, childrenOf(t.pss_root))) ++per_worker[pid];
    std::string spread;
    for (const auto& [pid, n] : per_worker) spread += std::to_string(pid) + ":" + std::to_string(n) + " ";
    held.notes["streams_per_worker"] = spread;
  }
}

// The group of a hold phase (SSE or WebSocket), from now: `connections` against `t`, started
// over `ramp_ms`, per-event latencies recorded, a silence over 3 s a stall. The group's start.
template <class Spec>
std::int64_t holdLoop(Spec& g, const Target& t, int connections, std::int64_t ramp_ms) {
  g.name = t.name;
  g.port = t.port;
  g.connections = connections;
  g.ramp_ns = ramp_ms * kMs;
  g.record_events = true;
  g.stall_ns = 3 * kSec;
  const std::int64_t start = monoNs();
  g.start_ns = start;
  return start;
}

// The part of a hold phase that is the same for streams and WebSockets. Once every one is held
// (or failed before): the ramp's outcome, holdSnapshot() and the CPU the target burns just holding
// them. The snapshot runs on a thread of its own: reading smaps_rollup of 2,000 thread stacks and
// /proc/net/tcp with 4,000 sockets takes tens of milliseconds, and done inside the event loop it
// delayed every event in flight by as much (a client-side stall that showed up as ~60 "events
// >= 40 ms" of the target).
class HoldProbe {
 public:
  HoldProbe(Record& r, const Target& t, std::int64_t start, std::int64_t pss_before, int held,
            std::uint16_t direct_port)
      : r_(r), t_(t), start_(start), pss_before_(pss_before), held_(held), direct_port_(direct_port) {}
  ~HoldProbe() { finish(); }

  // Inside the event loop of `e` (Engine or WsEngine), when every stream has its first event or
  // failed before it. `weigh` false: only the ramp's outcome (nothing is held to weigh).
  template <class LoadEngine>
  void onHeld(LoadEngine& e, std::int64_t first_events, std::int64_t failed, bool weigh) {
    r_.values["held_first_event"] = static_cast<double>(first_events);
    r_.values["failed_before_held"] = static_cast<double>(failed);
    r_.values["ramp_to_held_ms"] = static_cast<double>(monoNs() - start_) / 1e6;
    if (!weigh) return;
    snapshot_ = std::thread([this] { holdSnapshot(snapshot_record_, t_, pss_before_, held_, direct_port_); });
    // CPU the target burns just holding the streams (one event per stream per second).
    if (t_.pss_root) {
      const std::int64_t cpu0 = treeCpuMs(t_.pss_root);
      const std::int64_t t0 = monoNs();
      e.at(t0 + 4 * kSec, [this, cpu0, t0] {
        const double secs = static_cast<double>(monoNs() - t0) / 1e9;
        r_.values["cpu_percent_holding"] = static_cast<double>(treeCpuMs(t_.pss_root) - cpu0) / 10.0 / secs;
      });
    }
  }

  // After the event loop: waits for the snapshot and adds what it read to the record.
  void finish() {
    if (!snapshot_.joinable()) return;
    snapshot_.join();
    for (auto& [key, value] : snapshot_record_.values) r_.values[key] = value;
    for (auto& [key, value] : snapshot_record_.notes) r_.notes[key] = value;
  }

 private:
  Record& r_;
  const Target& t_;
  const std::int64_t start_;
  const std::int64_t pss_before_;
  const int held_;
  const std::uint16_t direct_port_;
  Record snapshot_record_;
  std::thread snapshot_;
};

// `streams` concurrent streams opened over 2 s, each one event per second for ~10 s: how many
// are held without error or stall, and what each costs in PSS.
//
// `opened_per_second` 0 opens them over 2 s (1 s when quick); otherwise at that rate, each
// stream then lasting long enough (10 s past the ramp) that all are held at once.
void Bench::phaseHold(const Target& t, int streams, const std::string& phase, int opened_per_second) {
  const std::int64_t ramp_ms =
      opened_per_second > 0 ? std::int64_t{streams} * 1000 / opened_per_second : (opt_.quick ? 1000 : 2000);
  const int deltas = static_cast<int>(ramp_ms / 1000) + (opt_.quick ? 5 : 10);
  const int interval = 1000;
  const std::int64_t pss_before = t.pss_root ? treePssKiB(t.pss_root) : -1;
  Engine e;
  GroupSpec g;
  g.request = makeRequest(t, true, deltas, interval);
  g.session_ids = requestExtras().session_ids;
  g.requests_per_conn = 1;
  g.first_byte_stall_ns = 1 * kSec;  // a stream queued behind others is not held
  g.request_timeout_ns = 60 * kSec;
  const std::int64_t start = holdLoop(g, t, streams, ramp_ms);
  const std::string loadavg = loadAverage();
  int id = e.addGroup(g);
  Record r = record(phase, t, 0, loadavg);
  HoldProbe probe(r, t, start, pss_before, streams, opt_.direct_port);
  e.onAllFirstEvents(id, [&] {
    const GroupStats& s = e.stats(id);
    probe.onHeld(e, s.first_events, s.failed, true);
  });
  const bool finished = e.run(start + ramp_ms * kMs + 90 * kSec);
  probe.finish();
  GroupStats& s = e.stats(id);
  r.values["streams"] = streams;
  r.values["finished_in_time"] = finished ? 1 : 0;
  putStreamCommon(r, s);
  if (t.pss_root) {
    // Spare threads leave after the pool's 2 s idle time; give them 3.
    settle(3000);
    r.values["pss_after_kib"] = static_cast<double>(treePssKiB(t.pss_root));
  }
  writeSamples(phase + "-" + t.name + "-events", s.event_ns);
  add(std::move(r));
}

// ------------------------------------------------------------------------------------------
// WebSocket phases: the Codex CLI's transport (GET /v1/responses with an Upgrade, then
// response.create messages and one event per text frame).

// A turn's message: the same ~1 KB agent request as the HTTP phases, as a response.create.
std::string wsMessage() {
  std::string body = responsesBody(true);
  const std::string stream = ",\"stream\":true";
  body.erase(body.rfind(stream), stream.size());  // a WebSocket turn always streams
  return "{\"type\":\"response.create\"," + body.substr(1);
}

std::string benchSpec(int deltas, int interval_ms) {
  return "n=" + std::to_string(deltas) + ",iv=" + std::to_string(interval_ms);
}

// A group whose turns are the same ~1 KB agent request on `t`'s route, each answered with
// `deltas` text deltas `interval_ms` apart (checked).
WsGroupSpec wsTurns(const Target& t, int deltas, int interval_ms) {
  WsGroupSpec g;
  g.path = t.path;
  g.bench = benchSpec(deltas, interval_ms);
  g.message = wsMessage();
  g.extra_headers = requestExtras().authorization;
  g.session_ids = requestExtras().session_ids;
  g.expected_deltas = deltas;
  return g;
}

// The WebSocket targets: the route is /v1/responses everywhere (the fake takes any path, nginx
// forwards it); there is no Chat Completions WebSocket.
std::vector<Target> Bench::wsTargets() const {
  std::vector<Target> out;
  for (const Target& t : allTargets()) {
    if (!t.chat) out.push_back(t);
  }
  return out;
}

void putWsCommon(Record& r, const WsGroupStats& s) {
  putSummary(r, "event", summarize(s.event_ns));
  putSummary(r, "first_event", summarize(s.first_event_ns));
  putSummary(r, "turn", summarize(s.turn_ns));
  putSummary(r, "upgrade", summarize(s.upgrade_ns));
  r.values["upgrades_ok"] = static_cast<double>(s.upgrades_ok);
  r.values["upgrades_refused"] = static_cast<double>(s.upgrades_refused);
  r.values["turns_ok"] = static_cast<double>(s.turns_ok);
  r.values["failed"] = static_cast<double>(s.turns_failed);
  r.values["warmup_turns"] = static_cast<double>(s.warmup_turns);
  r.values["reconnects"] = static_cast<double>(s.reconnects);
  r.values["stalled"] = static_cast<double>(s.stalled);
  r.values["max_gap_us"] = us(s.max_gap_ns);
  r.values["closes_clean"] = static_cast<double>(s.closes_clean);
  r.errors = s.errors;
}

// 100 WebSockets, each running turns one after the other (a text delta every 25 ms, 40 per
// turn: several turns per socket over the window), per-event latency = receive time - the
// fake's stamp in the delta: the same workload as `events`, over the WebSocket transport.
void Bench::phaseWsEvents(int round, const Target& t) {
  const int sockets = 100;
  const int interval = 25;
  const int deltas = 40;
  const std::int64_t warm = (opt_.quick ? 500 : 1000) * kMs;
  const std::int64_t window = (opt_.quick ? 1500 : 3000) * kMs;
  WsEngine e;
  WsGroupSpec g = wsTurns(t, deltas, interval);
  g.turn_timeout_ns = 20 * kSec;
  const std::int64_t start = eventsLoop(g, t, sockets, interval, warm, window);
  const std::string loadavg = loadAverage();
  const int id = e.addGroup(g);
  e.run(start + warm + window + 20 * kSec);
  Record r = record("ws_events_100", t, round, loadavg);
  putWsCommon(r, e.stats(id));
  writeSamples("ws_events_100-" + t.name + "-r" + std::to_string(round), e.stats(id).event_ns);
  add(std::move(r));
}

// `sockets` WebSockets opened over 2 s, each in the middle of a slow call (one delta per second
// for ~10 s): how many are held without error or stall, and what each costs in PSS.
void Bench::phaseWsHold(const Target& t, int sockets) {
  const int deltas = opt_.quick ? 5 : 10;
  const int interval = 1000;
  const std::int64_t pss_before = t.pss_root ? treePssKiB(t.pss_root) : -1;
  WsEngine e;
  WsGroupSpec g = wsTurns(t, deltas, interval);
  g.turns_per_conn = 1;
  g.first_event_stall_ns = 1 * kSec;  // a socket queued behind others is not held
  g.turn_timeout_ns = 60 * kSec;
  const std::int64_t start = holdLoop(g, t, sockets, opt_.quick ? 1000 : 2000);
  const std::string loadavg = loadAverage();
  const int id = e.addGroup(g);
  Record r = record("ws_hold", t, 0, loadavg);
  HoldProbe probe(r, t, start, pss_before, sockets, opt_.direct_port);
  e.onAllFirstEvents(id, [&] {
    const WsGroupStats& s = e.stats(id);
    // Nothing held (the upgrade refused): nothing to weigh.
    probe.onHeld(e, s.first_events, s.turns_failed, s.first_events > 0);
  });
  const bool finished = e.run(start + 90 * kSec);
  probe.finish();
  const WsGroupStats& s = e.stats(id);
  putWsCommon(r, s);
  r.values["sockets"] = sockets;
  r.values["ok"] = static_cast<double>(s.turns_ok + s.warmup_turns);
  r.values["finished_in_time"] = finished ? 1 : 0;
  if (t.pss_root && s.first_events > 0) {
    settle(3000);  // as in phaseHold: spare threads leave after 2 s idle
    r.values["pss_after_kib"] = static_cast<double>(treePssKiB(t.pss_root));
  }
  writeSamples("ws_hold-" + t.name + "-events", s.event_ns);
  add(std::move(r));
}

// The reload and kill -9 phases hold `streams` streams of 16 deltas 500 ms apart (8 s),
// opened over 1 s, and meanwhile send non-streaming requests on 4 keep-alive connections.
constexpr int kLifecycleDeltas = 16;
constexpr int kLifecycleIntervalMs = 500;

GroupSpec lifecycleStreams(const Target& t, int streams) {
  GroupSpec g;
  g.name = "held";
  g.port = t.port;
  g.request = makeRequest(t, true, kLifecycleDeltas, kLifecycleIntervalMs);
  g.session_ids = requestExtras().session_ids;
  g.connections = streams;
  g.requests_per_conn = 1;
  g.ramp_ns = 1000 * kMs;
  g.stall_ns = 3 * kSec;
  g.request_timeout_ns = 60 * kSec;
  return g;
}

// Starts now and stops issuing when the held streams end.
GroupSpec lifecycleTraffic(const Target& bg) {
  GroupSpec b;
  b.name = "background";
  b.port = bg.port;
  b.request = makeRequest(bg, false, 8, 0);
  b.session_ids = requestExtras().session_ids;
  b.connections = 4;
  b.stop_issuing_ns = monoNs() + (kLifecycleDeltas * kLifecycleIntervalMs) * kMs;
  b.request_timeout_ns = 20 * kSec;
  return b;
}

void putLifecycleTraffic(Record& r, Engine& e, int bg_id) {
  if (bg_id < 0) return;
  GroupStats& b = e.stats(bg_id);
  r.values["background_ok"] = static_cast<double>(b.ok + b.warmup);
  r.values["background_failed"] = static_cast<double>(b.failed);
  r.values["background_stale_retries"] = static_cast<double>(b.stale_retries);
  for (const auto& [k, v] : b.errors) r.errors["background: " + k] += v;
}

// SIGHUP to the supervisor while `streams` streams are held; meanwhile 4 connections keep
// sending non-streaming requests. Every stream must end with response.completed and no
// request may fail.
void Bench::phaseReload(int streams) {
  const Target t{"proxy", opt_.proxy_port, "/v1/responses", false, opt_.proxy_pid};
  const Target bg{"proxy-chat", opt_.proxy_port, "/v1/chat/completions", true, opt_.proxy_pid};
  Engine e;
  GroupSpec g = lifecycleStreams(t, streams);
  const std::int64_t start = monoNs();
  g.start_ns = start;
  Record r;
  r.phase = "reload";
  r.target = "proxy";
  int id = e.addGroup(g);
  int bg_id = -1;
  const std::vector<pid_t> before = childrenOf(opt_.proxy_pid);
  e.onAllFirstEvents(id, [&] {
    r.values["held_when_signalled"] = static_cast<double>(e.stats(id).first_events - e.stats(id).failed);
    ::kill(opt_.proxy_pid, SIGHUP);
    bg_id = e.addGroup(lifecycleTraffic(bg));
  });
  e.run(start + 90 * kSec);
  GroupStats& s = e.stats(id);
  r.values["streams"] = streams;
  r.values["streams_ok"] = static_cast<double>(s.ok);
  r.values["streams_failed"] = static_cast<double>(s.failed);
  r.values["streams_stalled"] = static_cast<double>(s.stalled_streams);
  r.values["max_gap_us"] = us(s.max_gap_ns);
  r.errors = s.errors;
  putLifecycleTraffic(r, e, bg_id);
  // The reload is finished when none of the old workers is left (they drain their streams).
  std::set<pid_t> old(before.begin(), before.end());
  const std::int64_t wait_until = monoNs() + 40 * kSec;
  bool old_gone = false;
  std::vector<pid_t> after;
  while (monoNs() < wait_until) {
    after = childrenOf(opt_.proxy_pid);
    old_gone = std::none_of(after.begin(), after.end(), [&](pid_t p) { return old.count(p) > 0; });
    if (old_gone && after.size() >= before.size()) break;
    settle(100);
  }
  r.values["old_workers_replaced"] = old_gone ? 1 : 0;
  std::string b, a;
  for (pid_t p : before) b += std::to_string(p) + " ";
  for (pid_t p : after) a += std::to_string(p) + " ";
  r.notes["workers_before"] = b;
  r.notes["workers_after"] = a;
  add(std::move(r));
}

// kill -9 of the worker holding the most streams while `streams` are held; the streams of
// the surviving workers must all complete, and new requests must all succeed.
void Bench::phaseKill(int streams) {
  const Target t{"proxy", opt_.proxy_port, "/v1/responses", false, opt_.proxy_pid};
  const Target bg{"proxy-chat", opt_.proxy_port, "/v1/chat/completions", true, opt_.proxy_pid};
  Engine e;
  GroupSpec g = lifecycleStreams(t, streams);
  const std::int64_t start = monoNs();
  g.start_ns = start;
  Record r;
  r.phase = "kill9";
  r.target = "proxy";
  int id = e.addGroup(g);
  int bg_id = -1;
  pid_t victim = 0;
  std::map<pid_t, int> per_worker;
  e.onAllFirstEvents(id, [&] {
    const std::vector<pid_t> workers = childrenOf(opt_.proxy_pid);
    const auto owners = serverSocketOwners(t.port, workers);
    for (const auto& [index, port] : e.localPorts(id)) {
      auto it = owners.find(port);
      if (it == owners.end()) continue;
      e.setTag(id, index, static_cast<int>(it->second));
      ++per_worker[it->second];
    }
    int most = -1;
    for (const auto& [pid, n] : per_worker) {
      if (n > most) {
        most = n;
        victim = pid;
      }
    }
    if (victim > 0) ::kill(victim, SIGKILL);
    bg_id = e.addGroup(lifecycleTraffic(bg));
  });
  e.run(start + 90 * kSec);
  GroupStats& s = e.stats(id);
  r.values["streams"] = streams;
  r.values["victim_pid"] = victim;
  std::int64_t victim_streams = per_worker.count(victim) ? per_worker[victim] : 0;
  r.values["victim_streams"] = static_cast<double>(victim_streams);
  std::int64_t survivor_ok = 0, survivor_failed = 0, victim_failed = 0, victim_ok = 0;
  for (const auto& [tag, o] : s.by_tag) {
    if (tag == victim) {
      victim_failed += o.failed;
      victim_ok += o.ok;
    } else {
      survivor_ok += o.ok;
      survivor_failed += o.failed;
    }
  }
  std::int64_t mapped = 0;
  for (const auto& [pid, n] : per_worker) mapped += n;
  r.values["streams_mapped_to_workers"] = static_cast<double>(mapped);
  r.values["survivor_streams_ok"] = static_cast<double>(survivor_ok);
  r.values["survivor_streams_failed"] = static_cast<double>(survivor_failed);
  r.values["victim_streams_failed"] = static_cast<double>(victim_failed);
  r.values["victim_streams_ok"] = static_cast<double>(victim_ok);
  r.values["streams_ok"] = static_cast<double>(s.ok);
  r.values["streams_failed"] = static_cast<double>(s.failed);
  r.values["streams_stalled"] = static_cast<double>(s.stalled_streams);
  r.errors = s.errors;
  putLifecycleTraffic(r, e, bg_id);
  // The supervisor replaces the dead worker.
  const std::int64_t wait_until = monoNs() + 15 * kSec;
  std::vector<pid_t> after;
  while (monoNs() < wait_until) {
    after = childrenOf(opt_.proxy_pid);
    if (after.size() >= per_worker.size() && std::find(after.begin(), after.end(), victim) == after.end()) break;
    settle(100);
  }
  std::string a;
  for (pid_t p : after) a += std::to_string(p) + " ";
  r.notes["workers_after"] = a;
  std::string spread;
  for (const auto& [pid, n] : per_worker) spread += std::to_string(pid) + ":" + std::to_string(n) + " ";
  r.notes["streams_per_worker"] = spread;
  add(std::move(r));
}

const Record* Bench::find(const std::string& phase, const std::string& target, int round) const {
  for (const auto& r : records_) {
    if (r.phase == phase && r.target == target && (round < 0 || r.round == round)) return &r;
  }
  return nullptr;
}

Bench::Spread Bench::spread(const std::string& phase, const std::string& target, const std::string& key) const {
  std::vector<double> v;
  for (const auto& r : records_) {
    if (r.phase != phase || r.target != target) continue;
    auto it = r.values.find(key);
    if (it != r.values.end()) v.push_back(it->second);
  }
  Spread s;
  if (v.empty()) return s;
  s.n = static_cast<int>(v.size());
  s.median = median(v);
  s.lo = *std::min_element(v.begin(), v.end());
  s.hi = *std::max_element(v.begin(), v.end());
  return s;
}

Bench::Spread Bench::addedSpread(const std::string& phase, const std::string& target, const std::string& key) const {
  std::vector<double> v;
  for (const auto& r : records_) {
    if (r.phase != phase || r.target != target) continue;
    const Record* d = find(phase, "direct", r.round);
    if (!d) continue;
    auto a = r.values.find(key);
    auto b = d->values.find(key);
    if (a != r.values.end() && b != d->values.end()) v.push_back(a->second - b->second);
  }
  Spread s;
  if (v.empty()) return s;
  s.n = static_cast<int>(v.size());
  s.median = median(v);
  s.lo = *std::min_element(v.begin(), v.end());
  s.hi = *std::max_element(v.begin(), v.end());
  return s;
}

void Bench::writeJson() {
  std::ofstream f(opt_.out + "/load.json");
  f << "{\"started_at\":\"" << jsonEscape(started_at_) << "\",\"command\":\"" << jsonEscape(opt_.command_line)
    << "\",\"loadavg_at_start\":\"" << load_at_start_ << "\",\"records\":[\n";
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const Record& r = records_[i];
    f << "{\"phase\":\"" << r.phase << "\",\"target\":\"" << r.target << "\",\"round\":" << r.round << ",\"loadavg\":\""
      << r.loadavg << "\"";
    for (const auto& [k, v] : r.values) f << ",\"" << k << "\":" << fmtNum(v);
    for (const auto& [k, v] : r.notes) f << ",\"" << k << "\":\"" << jsonEscape(v) << "\"";
    f << ",\"errors\":{";
    bool first = true;
    for (const auto& [k, v] : r.errors) {
      f << (first ? "" : ",") << "\"" << jsonEscape(k) << "\":" << v;
      first = false;
    }
    f << "}}" << (i + 1 < records_.size() ? ",\n" : "\n");
  }
  f << "]}\n";
}

// ------------------------------------------------------------------------------------------
// Summary

std::string cell(double median, double lo, double hi, int n, int precision = 0) {
  if (std::isnan(median)) return "-";
  char b[96];
  if (n > 1)
    std::snprintf(b, sizeof b, "%.*f [%.*f-%.*f]", precision, median, precision, lo, precision, hi);
  else
    std::snprintf(b, sizeof b, "%.*f", precision, median);
  return b;
}

struct MicroResult {
  std::string name;
  double real_time = 0;
  std::string unit;
  double bytes_per_second = 0;
  double items_per_second = 0;
  double min_bps = 0, max_bps = 0;
  double min_time = 0, max_time = 0;
};

std::vector<MicroResult> readMicro(const std::string& path) {
  std::vector<MicroResult> out;
  std::ifstream f(path);
  if (!f) return out;
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  auto doc = common::parseJson(text);
  if (!doc) return out;
  const common::JsonValue* benchmarks = doc->find("benchmarks");
  if (!benchmarks || !benchmarks->getArray()) return out;
  // With repetitions: keep the median aggregate, and the min/max over the repetitions.
  std::map<std::string, MicroResult> by_name;
  std::vector<std::string> order;
  for (const auto& b : *benchmarks->getArray()) {
    auto str = [&](const char* k) {
      const common::JsonValue* v = b.find(k);
      auto sv = v ? v->stringView() : std::nullopt;
      return sv ? std::string(*sv) : std::string();
    };
    auto num = [&](const char* k) {
      const common::JsonValue* v = b.find(k);
      auto d = v ? v->getDouble() : std::nullopt;
      return d ? *d : 0.0;
    };
    const std::string run_name = str("run_name").empty() ? str("name") : str("run_name");
    if (!by_name.count(run_name)) {
      order.push_back(run_name);
      by_name[run_name].name = run_name;
      by_name[run_name].min_bps = 1e300;
      by_name[run_name].min_time = 1e300;
    }
    MicroResult& m = by_name[run_name];
    const std::string run_type = str("run_type");
    const std::string aggregate = str("aggregate_name");
    if (run_type == "iteration") {
      m.min_bps = std::min(m.min_bps, num("bytes_per_second"));
      m.max_bps = std::max(m.max_bps, num("bytes_per_second"));
      m.min_time = std::min(m.min_time, num("real_time"));
      m.max_time = std::max(m.max_time, num("real_time"));
      if (m.unit.empty()) {  // without repetitions the single run is the figure
        m.real_time = num("real_time");
        m.unit = str("time_unit");
        m.bytes_per_second = num("bytes_per_second");
        m.items_per_second = num("items_per_second");
      }
    } else if (aggregate == "median") {
      m.real_time = num("real_time");
      m.unit = str("time_unit");
      m.bytes_per_second = num("bytes_per_second");
      m.items_per_second = num("items_per_second");
    }
  }
  for (const auto& n : order) out.push_back(by_name[n]);
  return out;
}

std::string Bench::summary() {
  std::ostringstream o;
  char line[512];
  o << "codex-sub-proxy benchmark run " << started_at_ << "\n";
  o << "command: " << opt_.command_line << "\n";
  o << "load average at start: " << load_at_start_ << "; at end: " << loadAverage() << "\n";
  o << "Figures: median over " << opt_.rounds << " rounds [min-max across rounds]; latencies in microseconds.\n\n";

  // --- microbenchmarks
  std::vector<MicroResult> micro = readMicro(opt_.micro);
  double chat10 = NAN;
  double chat_text_1mb = NAN;
  if (!micro.empty()) {
    o << "Microbenchmarks (Google Benchmark; median of repetitions [min-max])\n";
    std::snprintf(line, sizeof line, "  %-44s %14s %22s %16s\n", "benchmark", "time", "throughput MB/s", "items/s");
    o << line;
    for (const auto& m : micro) {
      char thr[64] = "-";
      if (m.bytes_per_second > 0) {
        if (m.max_bps > 0 && m.min_bps < 1e299)
          std::snprintf(thr, sizeof thr, "%.0f [%.0f-%.0f]", m.bytes_per_second / 1e6, m.min_bps / 1e6,
                        m.max_bps / 1e6);
        else
          std::snprintf(thr, sizeof thr, "%.0f", m.bytes_per_second / 1e6);
      }
      char items[32] = "-";
      if (m.items_per_second > 0) std::snprintf(items, sizeof items, "%.3g", m.items_per_second);
      char t[48];
      std::snprintf(t, sizeof t, "%.3g %s", m.real_time, m.unit.c_str());
      std::snprintf(line, sizeof line, "  %-44s %14s %22s %16s\n", m.name.c_str(), t, thr, items);
      o << line;
      if (m.name.find("ChatRequest/10MB") != std::string::npos) chat10 = m.bytes_per_second / 1e6;
      if (m.name.find("ChatRequestText/1MB") != std::string::npos) chat_text_1mb = m.bytes_per_second / 1e6;
    }
    o << "\n";
  }

  // --- load table
  std::vector<std::string> cols = {"direct", "nginx", "proxy", "proxy-chat"};
  if (opt_.proxy_b_port != 0) cols.push_back("proxy-b");
  auto row = [&](const std::string& label, const std::string& phase, const std::string& key, int precision = 0) {
    // A row no target has a figure for (its phase was not run: BENCH_PHASES) is left out.
    if (std::none_of(cols.begin(), cols.end(), [&](const std::string& c) { return spread(phase, c, key).n > 0; }))
      return;
    std::snprintf(line, sizeof line, "  %-34s", label.c_str());
    o << line;
    for (const auto& c : cols) {
      Spread s = spread(phase, c, key);
      std::snprintf(line, sizeof line, " %24s", cell(s.median, s.lo, s.hi, s.n, precision).c_str());
      o << line;
    }
    o << "\n";
  };
  o << "Loopback load (client -> [nginx | proxy] -> fake upstream); proxy = /v1/responses, proxy-chat = "
       "/v1/chat/completions";
  if (opt_.proxy_b_port != 0) o << ", proxy-b = /v1/responses on the second (A/B) proxy build";
  o << "\n";
  std::snprintf(line, sizeof line, "  %-34s", "figure");
  o << line;
  for (const auto& c : cols) {
    std::snprintf(line, sizeof line, " %24s", c.c_str());
    o << line;
  }
  o << "\n";
  row("non-stream sequential p50", "nonstream_seq", "latency_p50_us");
  row("non-stream sequential p99", "nonstream_seq", "latency_p99_us");
  // What holding costs, the same rows for streams and WebSockets ("WS " before the latter's).
  auto holdCostRows = [&](const std::string& ws, const std::string& phase, const std::string& held,
                          const std::string& idle) {
    row(ws + "hold: CPU % while holding", phase, "cpu_percent_holding");
    row(ws + "hold: event latency p99", phase, "event_p99_us");
    row(ws + "hold: event latency max", phase, "event_max_us");
    row(ws + "PSS KiB before hold" + idle, phase, "pss_before_kib");
    row(ws + "PSS KiB while holding", phase, "pss_held_kib");
    row(ws + "PSS KiB per held " + held, phase, "pss_per_stream_kib", 1);
    row(ws + "PSS KiB after load", phase, "pss_after_kib");
    row(ws + "threads while holding", phase, "threads_held");
  };
  row("requests/s, concurrency 8", "rps_c8", "rps");
  row("requests/s, concurrency 32", "rps_c32", "rps");
  row("requests/s, concurrency 64", "rps_c64", "rps");
  row("  p99 latency at c=64", "rps_c64", "latency_p99_us");
  row("CPU us per request (c=32)", "rps_c32", "cpu_us_per_request");
  row("CPU us per request (c=64)", "rps_c64", "cpu_us_per_request");
  row("stream TTFB p50 (sequential)", "stream_seq", "ttfb_p50_us");
  row("stream TTFB p99 (sequential)", "stream_seq", "ttfb_p99_us");
  row("100 KB conversation p50 (chat)", "conversation_100KB", "latency_p50_us");
  row("100 KB conversation TTFB p50", "conversation_100KB", "ttfb_p50_us");
  row("1 MB conversation p50 (chat)", "conversation_1MB", "latency_p50_us");
  row("1 MB conversation TTFB p50", "conversation_1MB", "ttfb_p50_us");
  row("event latency p50, 100 streams", "events_100", "event_p50_us");
  row("event latency p99, 100 streams", "events_100", "event_p99_us");
  row("event latency max, 100 streams", "events_100", "event_max_us");
  row("CPU us per event, 100 streams", "events_100", "cpu_us_per_event", 1);
  row("event latency p50, 200 streams", "events_200", "event_p50_us");
  row("event latency p99, 200 streams", "events_200", "event_p99_us");
  row("stream TTFB p90, 200 streams", "events_200", "ttfb_p90_us");
  row("CPU us per event, 200 streams", "events_200", "cpu_us_per_event", 1);
  // The SSE holds: `hold` (BENCH_HOLD streams over 2 s) and `hold_large` (issue 17: 8,000 at 500/s).
  for (const auto& [prefix, phase, idle] :
       {std::tuple<std::string, std::string, std::string>{"", "hold", " (idle)"},
        std::tuple<std::string, std::string, std::string>{"large ", "hold_large", ""}}) {
    row(prefix + "hold: streams", phase, "streams");
    row(prefix + "hold: ok", phase, "ok");
    row(prefix + "hold: failed", phase, "failed");
    row(prefix + "hold: stalled", phase, "stalled");
    row(prefix + "hold: open upstream at once", phase, "upstream_active_streams_held");
    row(prefix + "hold: TTFB p50 (during the ramp)", phase, "ttfb_p50_us");
    row(prefix + "hold: TTFB max", phase, "ttfb_max_us");
    holdCostRows(prefix, phase, "stream", idle);
  }
  row("WS event latency p50, 100 sockets", "ws_events_100", "event_p50_us");
  row("WS event latency p99, 100 sockets", "ws_events_100", "event_p99_us");
  row("WS event latency max, 100 sockets", "ws_events_100", "event_max_us");
  row("WS first event p50 (per turn)", "ws_events_100", "first_event_p50_us");
  row("WS upgrade p50 (connect -> 101)", "ws_events_100", "upgrade_p50_us");
  row("WS turns ok (measured)", "ws_events_100", "turns_ok");
  row("WS turns failed", "ws_events_100", "failed");
  row("WS held sockets ok", "ws_hold", "ok");
  row("WS held failed", "ws_hold", "failed");
  row("WS held stalled", "ws_hold", "stalled");
  row("WS responses open upstream at once", "ws_hold", "upstream_active_streams_held");
  row("WS hold: first event max", "ws_hold", "first_event_max_us");
  holdCostRows("WS ", "ws_hold", "socket", "");
  // A target that refused the WebSocket upgrade has no WebSocket figures: say so beside them.
  for (const std::string phase : {"ws_events_100", "ws_hold"}) {
    for (const auto& c : cols) {
      const Record* r = find(phase, c);
      if (!r || !r->values.count("upgrades_refused") || r->values.at("upgrades_refused") == 0) continue;
      std::string why;
      for (const auto& [k, v] : r->errors) {
        if (k.rfind("upgrade refused", 0) == 0 || k.rfind("bad upgrade", 0) == 0) why = k;
      }
      std::snprintf(line, sizeof line, "  ERROR %s/%s: %.0f of %.0f upgrades refused (%s); not measured\n",
                    phase.c_str(), c.c_str(), r->values.at("upgrades_refused"),
                    r->values.at("upgrades_refused") + r->values.at("upgrades_ok"), why.c_str());
      o << line;
    }
  }
  o << "\n";

  // --- added cost
  // Added cost = target minus direct within the same round, then the median over rounds: the
  // targets of one round ran within seconds of each other (the sequential phases even request
  // by request), so slow changes of the background load cancel out.
  auto val = [&](const std::string& phase, const std::string& target, const std::string& key) {
    return addedSpread(phase, target, key).median;
  };
  o << "Added cost over direct (per round: target - direct; median over rounds [min-max])\n";
  std::vector<std::string> proxies = {"proxy", "proxy-chat"};
  if (opt_.proxy_b_port != 0) proxies.push_back("proxy-b");
  for (const std::string& proxy : proxies) {
    auto show = [&](const char* label, const std::string& phase, const std::string& key) {
      Spread p = addedSpread(phase, proxy, key);
      Spread n = addedSpread(phase, "nginx", key);
      if (p.n == 0 && n.n == 0) return;  // the phase was not run
      std::snprintf(line, sizeof line, "  %-10s %-28s %+8.0f us [%+.0f..%+.0f]   nginx %+8.0f us [%+.0f..%+.0f]\n",
                    proxy.c_str(), label, p.median, p.lo, p.hi, n.median, n.lo, n.hi);
      o << line;
    };
    show("non-stream p50", "nonstream_seq", "latency_p50_us");
    show("non-stream p99", "nonstream_seq", "latency_p99_us");
    show("stream TTFB p50", "stream_seq", "ttfb_p50_us");
    show("per event p50 (100 streams)", "events_100", "event_p50_us");
    show("per event p99 (100 streams)", "events_100", "event_p99_us");
    show("per event p99 (200 streams)", "events_200", "event_p99_us");
    show("stream TTFB p90 (200 streams)", "events_200", "ttfb_p90_us");
    if (proxy != "proxy") {
      show("100 KB conversation p50", "conversation_100KB", "latency_p50_us");
      show("1 MB conversation p50", "conversation_1MB", "latency_p50_us");
    }
    if (proxy != "proxy-chat") {
      show("WS per event p50 (100 sock.)", "ws_events_100", "event_p50_us");
      show("WS per event p99 (100 sock.)", "ws_events_100", "event_p99_us");
    }
  }
  o << "\n";

  // --- lifecycle
  if (const Record* r = find("reload", "proxy")) {
    auto v = [&](const char* k) { return r->values.count(k) ? r->values.at(k) : NAN; };
    std::snprintf(line, sizeof line,
                  "HUP reload during a %.0f-stream hold: streams ok %.0f, failed %.0f, stalled %.0f; background "
                  "requests ok %.0f, failed %.0f; old workers replaced: %s\n",
                  v("streams"), v("streams_ok"), v("streams_failed"), v("streams_stalled"), v("background_ok"),
                  v("background_failed"), v("old_workers_replaced") > 0 ? "yes" : "no");
    o << line;
  }
  if (const Record* r = find("kill9", "proxy")) {
    auto v = [&](const char* k) { return r->values.count(k) ? r->values.at(k) : NAN; };
    std::snprintf(line, sizeof line,
                  "kill -9 of a worker during a %.0f-stream hold: the victim held %.0f streams (%.0f failed, as "
                  "expected); surviving workers' streams ok %.0f, failed %.0f; new requests ok %.0f, failed %.0f\n",
                  v("streams"), v("victim_streams"), v("victim_streams_failed"), v("survivor_streams_ok"),
                  v("survivor_streams_failed"), v("background_ok"), v("background_failed"));
    o << line;
  }
  o << "\n";

  // --- bars
  o << "Bars (performance issue)\n";
  auto bar = [&](bool measured, bool met, const std::string& what, const std::string& detail) {
    o << "  [" << (!measured ? "NOT MEASURED" : met ? "MET" : "MISSED") << "] " << what << ": " << detail << "\n";
  };
  {
    char d[160];
    std::snprintf(d, sizeof d, "%.0f MB/s (bar 150)", chat10);
    bar(!std::isnan(chat10), chat10 >= 150, "request translation, 10 MB chat body", d);
  }
  for (const std::string proxy : {"proxy", "proxy-chat"}) {
    const double n50 = val("nonstream_seq", "nginx", "latency_p50_us");
    const double p50 = val("nonstream_seq", proxy, "latency_p50_us");
    const double p99 = val("nonstream_seq", proxy, "latency_p99_us");
    char d[200];
    std::snprintf(d, sizeof d, "+%.0f us vs 2 x nginx's +%.0f = %.0f us", p50, n50, 2 * n50);
    bar(!std::isnan(p50), p50 <= 2 * n50, "added non-stream latency p50 (" + proxy + ")", d);
    std::snprintf(d, sizeof d, "+%.0f us (bar 1000)", p99);
    bar(!std::isnan(p99), p99 <= 1000, "added non-stream latency p99 (" + proxy + ")", d);
    const double nt = val("stream_seq", "nginx", "ttfb_p50_us");
    const double pt = val("stream_seq", proxy, "ttfb_p50_us");
    std::snprintf(d, sizeof d, "+%.0f us vs 2 x nginx's +%.0f = %.0f us", pt, nt, 2 * nt);
    bar(!std::isnan(pt), pt <= 2 * nt, "added streaming TTFB p50 (" + proxy + ")", d);
    const double pe50 = val("events_100", proxy, "event_p50_us");
    const double pe99 = val("events_100", proxy, "event_p99_us");
    std::snprintf(d, sizeof d, "+%.0f us (bar 50)", pe50);
    bar(!std::isnan(pe50), pe50 <= 50, "added per-event latency p50 at 100 streams (" + proxy + ")", d);
    std::snprintf(d, sizeof d, "+%.0f us (bar 1000)", pe99);
    bar(!std::isnan(pe99), pe99 <= 1000, "added per-event latency p99 at 100 streams (" + proxy + ")", d);
  }
  {
    double worst = 0;
    double over = 0;
    std::string where;
    for (const auto& r : records_) {
      if (r.target != "proxy" && r.target != "proxy-chat") continue;
      auto it = r.values.find("event_max_us");
      if (it != r.values.end() && it->second > worst) {
        worst = it->second;
        where = r.phase;
      }
      auto o40 = r.values.find("event_over_40ms");
      if (o40 != r.values.end()) over += o40->second;
    }
    char d[200];
    std::snprintf(d, sizeof d, "%.0f events >= 40 ms through the proxy; worst %.1f ms (%s)", over, worst / 1000,
                  where.c_str());
    bar(worst > 0, over == 0, "no event delayed by 40 ms anywhere", d);
  }
  if (const Record* r = find("hold", "proxy")) {
    auto v = [&](const char* k) { return r->values.count(k) ? r->values.at(k) : NAN; };
    char d[200];
    std::snprintf(d, sizeof d, "%.0f of %.0f streams ok, %.0f failed, %.0f stalled; %.0f open upstream at once",
                  v("ok"), v("streams"), v("failed"), v("stalled"), v("upstream_active_streams_held"));
    bar(true,
        v("streams") >= 2000 && v("ok") == v("streams") && v("stalled") == 0 &&
            v("upstream_active_streams_held") >= v("streams"),
        "2,000 concurrent streams held on the default configuration", d);
    std::snprintf(d, sizeof d, "%.1f KiB (bar 64)", v("pss_per_stream_kib"));
    bar(!std::isnan(v("pss_per_stream_kib")), v("pss_per_stream_kib") <= 64, "PSS per held stream", d);
  }
  // Issue 17: nginx's level on long conversations, throughput, CPU, tails and capacity.
  {
    char d[240];
    std::snprintf(d, sizeof d, "%.0f MB/s (bar 1000)", chat_text_1mb);
    bar(!std::isnan(chat_text_1mb), chat_text_1mb >= 1000, "request translation, 1 MB text-heavy chat body", d);
    for (const char* size : {"100KB", "1MB"}) {
      const std::string phase = std::string("conversation_") + size;
      const double p = val(phase, "proxy-chat", "latency_p50_us");
      const double n = val(phase, "nginx", "latency_p50_us");
      std::snprintf(d, sizeof d, "+%.0f us vs nginx's +%.0f us", p, n);
      bar(!std::isnan(p) && !std::isnan(n), p <= n,
          std::string("added latency p50 of a ") + size + " chat conversation", d);
    }
    for (const std::string proxy : {"proxy", "proxy-chat"}) {
      const double pr = spread("rps_c32", proxy, "rps").median;
      const double nr = spread("rps_c32", "nginx", "rps").median;
      std::snprintf(d, sizeof d, "%.0f vs nginx's %.0f requests/s (%.2fx)", pr, nr, pr / nr);
      bar(!std::isnan(pr) && !std::isnan(nr), pr >= nr, "throughput at 32 connections (" + proxy + ")", d);
      const double pc = spread("rps_c32", proxy, "cpu_us_per_request").median;
      const double nc = spread("rps_c32", "nginx", "cpu_us_per_request").median;
      std::snprintf(d, sizeof d, "%.0f vs 1.5 x nginx's %.0f = %.0f us (%.1fx)", pc, nc, 1.5 * nc, pc / nc);
      bar(!std::isnan(pc) && !std::isnan(nc), pc <= 1.5 * nc, "CPU per request at 32 connections (" + proxy + ")", d);
      const double pv = spread("events_100", proxy, "cpu_us_per_event").median;
      const double nv = spread("events_100", "nginx", "cpu_us_per_event").median;
      std::snprintf(d, sizeof d, "%.1f vs 1.5 x nginx's %.1f = %.1f us (%.1fx)", pv, nv, 1.5 * nv, pv / nv);
      bar(!std::isnan(pv) && !std::isnan(nv), pv <= 1.5 * nv, "CPU per event at 100 streams (" + proxy + ")", d);
      for (const auto& [key, what] :
           {std::pair<const char*, const char*>{"event_p99_us", "added per-event latency p99"},
            std::pair<const char*, const char*>{"ttfb_p90_us", "added TTFB p90"}}) {
        const double p = val("events_200", proxy, key);
        const double n = val("events_200", "nginx", key);
        std::snprintf(d, sizeof d, "+%.0f us vs 2 x nginx's +%.0f = %.0f us", p, n, 2 * n);
        bar(!std::isnan(p) && !std::isnan(n), p <= 2 * n, std::string(what) + " at 200 streams (" + proxy + ")", d);
      }
    }
    if (const Record* r = find("hold_large", "proxy")) {
      auto v = [&](const char* k) { return r->values.count(k) ? r->values.at(k) : NAN; };
      std::snprintf(d, sizeof d, "%.0f of %.0f streams ok, %.0f failed, %.0f stalled; %.0f open upstream at once",
                    v("ok"), v("streams"), v("failed"), v("stalled"), v("upstream_active_streams_held"));
      bar(true,
          v("streams") >= 8000 && v("ok") == v("streams") && v("failed") == 0 && v("stalled") == 0 &&
              v("upstream_active_streams_held") >= v("streams"),
          "8,000 streams held at once on the proxy's configuration", d);
      // Per stream only when every stream was held at once: PSS over streams that were never
      // served would flatter the figure.
      const bool all_held = v("upstream_active_streams_held") >= v("streams");
      if (all_held)
        std::snprintf(d, sizeof d, "%.1f KiB (bar 32; nginx %.1f)", v("pss_per_stream_kib"),
                      spread("hold_large", "nginx", "pss_per_stream_kib").median);
      else
        std::snprintf(d, sizeof d, "only %.0f of %.0f streams were held at once", v("upstream_active_streams_held"),
                      v("streams"));
      bar(all_held && !std::isnan(v("pss_per_stream_kib")), v("pss_per_stream_kib") <= 32,
          "PSS per stream of the large hold", d);
    }
  }
  // The WebSocket relay, within the same bars as SSE (issue 13). A refused upgrade is an error,
  // not a miss: the route is absent, nothing was measured.
  auto wsRefused = [&](const char* phase) -> std::string {
    const Record* r = find(phase, "proxy");
    if (!r || !r->values.count("upgrades_refused") || r->values.at("upgrades_refused") == 0) return {};
    for (const auto& [k, v] : r->errors) {
      if (k.rfind("upgrade refused", 0) == 0 || k.rfind("bad upgrade", 0) == 0) return k;
    }
    return "upgrade refused";
  };
  if (find("ws_events_100", "proxy")) {
    const std::string refused = wsRefused("ws_events_100");
    if (!refused.empty()) {
      o << "  [ERROR] added WebSocket per-event latency (proxy): " << refused << "\n";
    } else {
      const double pe50 = val("ws_events_100", "proxy", "event_p50_us");
      const double pe99 = val("ws_events_100", "proxy", "event_p99_us");
      char d[200];
      std::snprintf(d, sizeof d, "+%.0f us (bar 50; nginx +%.0f)", pe50, val("ws_events_100", "nginx", "event_p50_us"));
      bar(!std::isnan(pe50), pe50 <= 50, "added WebSocket per-event latency p50 at 100 sockets (proxy)", d);
      std::snprintf(d, sizeof d, "+%.0f us (bar 1000)", pe99);
      bar(!std::isnan(pe99), pe99 <= 1000, "added WebSocket per-event latency p99 at 100 sockets (proxy)", d);
    }
  }
  if (const Record* r = find("ws_hold", "proxy")) {
    const std::string refused = wsRefused("ws_hold");
    if (!refused.empty()) {
      o << "  [ERROR] WebSockets held on the default configuration (proxy): " << refused << "\n";
    } else {
      auto v = [&](const char* k) { return r->values.count(k) ? r->values.at(k) : NAN; };
      char d[200];
      std::snprintf(d, sizeof d, "%.0f of %.0f sockets ok, %.0f failed, %.0f stalled; %.0f responses open upstream",
                    v("ok"), v("sockets"), v("failed"), v("stalled"), v("upstream_active_streams_held"));
      bar(true,
          v("sockets") >= 2000 && v("ok") == v("sockets") && v("failed") == 0 && v("stalled") == 0 &&
              v("upstream_active_streams_held") >= v("sockets"),
          "2,000 WebSockets held mid-call on the default configuration", d);
      std::snprintf(d, sizeof d, "%.1f KiB (bar 64)", v("pss_per_stream_kib"));
      bar(!std::isnan(v("pss_per_stream_kib")), v("pss_per_stream_kib") <= 64, "PSS per held WebSocket", d);
    }
  }
  if (const Record* r = find("idle", "proxy")) {
    auto it = r->values.find("pss_kib");
    char d[160];
    std::snprintf(d, sizeof d, "%.1f MB (bar 30)", it->second / 1024.0);
    bar(true, it->second / 1024.0 <= 30, "PSS of the idle process tree", d);
  }
  if (const Record* r = find("reload", "proxy")) {
    auto v = [&](const char* k) { return r->values.count(k) ? r->values.at(k) : NAN; };
    char d[200];
    std::snprintf(d, sizeof d, "%.0f/%.0f streams completed, %.0f background failures", v("streams_ok"), v("streams"),
                  v("background_failed"));
    bar(true, v("streams_ok") == v("streams") && v("background_failed") == 0 && v("old_workers_replaced") > 0,
        "HUP reload during a hold drops no stream, fails no request", d);
  }
  if (const Record* r = find("kill9", "proxy")) {
    auto v = [&](const char* k) { return r->values.count(k) ? r->values.at(k) : NAN; };
    char d[200];
    std::snprintf(d, sizeof d, "%.0f survivor stream failures, %.0f new-request failures", v("survivor_streams_failed"),
                  v("background_failed"));
    bar(true, v("survivor_streams_failed") == 0 && v("background_failed") == 0 && v("streams_mapped_to_workers") > 0,
        "worker kill -9 during a hold: zero failed requests on the surviving workers", d);
  }
  // Anything that failed anywhere, so no error hides behind a median.
  std::map<std::string, std::int64_t> all_errors;
  for (const auto& r : records_) {
    for (const auto& [k, v] : r.errors) all_errors[r.phase + "/" + r.target + ": " + k] += v;
  }
  if (!all_errors.empty()) {
    o << "\nErrors seen\n";
    for (const auto& [k, v] : all_errors) o << "  " << k << " x" << v << "\n";
  }
  return o.str();
}

int Bench::run() {
  ::mkdir(opt_.out.c_str(), 0755);
  ::mkdir((opt_.out + "/samples").c_str(), 0755);
  {
    std::time_t now = std::time(nullptr);
    char b[64];
    std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
    started_at_ = b;
  }
  load_at_start_ = loadAverage();
  const std::vector<Target> targets = allTargets();

  // Idle process trees, before any load.
  for (const auto& [name, pid] : std::vector<std::pair<std::string, pid_t>>{{"proxy", opt_.proxy_pid},
                                                                            {"nginx", opt_.nginx_pid},
                                                                            {"direct", opt_.fake_pid},
                                                                            {"proxy-b", opt_.proxy_b_pid}}) {
    if (pid <= 0) continue;
    Record r;
    r.phase = "idle";
    r.target = name;
    r.values["pss_kib"] = static_cast<double>(treePssKiB(pid));
    r.values["processes"] = static_cast<double>(processTree(pid).size());
    std::int64_t rss = 0;
    for (pid_t p : processTree(pid)) rss += rssKiB(p);
    r.values["rss_kib"] = static_cast<double>(rss);
    add(std::move(r));
  }

  auto progress = [](const std::string& what) {
    std::fprintf(stderr, "[%s] %s\n", loadAverage().c_str(), what.c_str());
  };
  auto want = [&](const char* phase) { return opt_.phases.empty() || opt_.phases.count(phase) > 0; };
  for (int round = 1; round <= opt_.rounds; ++round) {
    // Targets alternate inside every phase and round, so a change in background load touches
    // all of them alike; the rounds show the spread.
    if (want("seq")) {
      progress("round " + std::to_string(round) + ": sequential non-streaming latency");
      phaseSequential(round, targets, false);
    }
    if (want("rps")) {
      progress("round " + std::to_string(round) + ": requests/s at concurrency 8, 32 and 64");
      for (int c : {8, 32, 64}) {
        for (const auto& t : targets) phaseRps(round, t, c);
      }
    }
    if (want("ttfb")) {
      progress("round " + std::to_string(round) + ": sequential streaming TTFB");
      phaseSequential(round, targets, true);
    }
    if (want("long")) {
      progress("round " + std::to_string(round) + ": long conversations (100 KB and 1 MB chat bodies)");
      phaseLongConversations(round);
    }
    if (want("events")) {
      progress("round " + std::to_string(round) + ": per-event latency at 100 streams");
      for (const auto& t : targets) phaseEvents(round, t, 100);
    }
    if (want("events200")) {
      progress("round " + std::to_string(round) + ": per-event latency and TTFB at 200 streams");
      for (const auto& t : targets) phaseEvents(round, t, 200);
    }
    if (want("wsevents")) {
      progress("round " + std::to_string(round) + ": WebSocket per-event latency at 100 sockets");
      for (const auto& t : wsTargets()) phaseWsEvents(round, t);
    }
  }
  if (want("hold")) {
    for (const auto& t : targets) {
      if (t.name == "proxy-chat") continue;
      progress("hold " + std::to_string(opt_.hold) + " streams: " + t.name);
      phaseHold(t, opt_.hold, "hold", 0);
    }
  }
  if (want("holdlarge") && opt_.hold_large > 0) {
    // Issue 17's capacity figure: many streams opened at 500/s, as agents arriving over a while
    // would, all held at once on the configuration the proxy was started with.
    for (const auto& t : targets) {
      if (t.name == "proxy-chat") continue;
      progress("hold " + std::to_string(opt_.hold_large) + " streams opened at 500/s: " + t.name);
      phaseHold(t, opt_.hold_large, "hold_large", 500);
    }
  }
  if (want("wshold")) {
    const int sockets = opt_.ws_hold > 0 ? opt_.ws_hold : opt_.hold;
    for (const auto& t : wsTargets()) {
      progress("hold " + std::to_string(sockets) + " WebSockets: " + t.name);
      phaseWsHold(t, sockets);
    }
  }
  if (opt_.proxy_pid > 0 && want("reload")) {
    progress("HUP reload during a " + std::to_string(opt_.lifecycle) + "-stream hold");
    phaseReload(opt_.lifecycle);
  }
  if (opt_.proxy_pid > 0 && want("kill9")) {
    progress("kill -9 of a worker during a " + std::to_string(opt_.lifecycle) + "-stream hold");
    phaseKill(opt_.lifecycle);
  }
  writeJson();
  const std::string text = summary();
  std::ofstream(opt_.out + "/summary.txt") << text;
  std::cout << text << std::flush;
  return 0;
}

// One line of `one`'s output: the order statistics of a sample, the name padded to `width`.
void showSummary(const char* what, const Summary& m, int width = 11) {
  std::printf("%-*s n=%zu p50=%.0f p90=%.0f p99=%.0f p99.9=%.0f max=%.0f mean=%.0f us (>=40ms: %zu)\n", width, what,
              m.count, us(m.p50), us(m.p90), us(m.p99), us(m.p999), us(m.max), m.mean / 1000, m.over_40ms);
}

// `one --ws`: `conns` WebSockets, each running `warm + requests` turns (or turns until
// `seconds` pass); exit status 1 when anything failed, the upgrade included.
int runOneWs(const Target& t, int deltas, int interval, int conns, int warm, std::int64_t turns, std::int64_t ramp_ms,
             double seconds) {
  WsEngine e;
  WsGroupSpec g = wsTurns(t, deltas, interval);
  g.port = t.port;
  g.connections = conns;
  g.ramp_ns = ramp_ms * kMs;
  g.record_events = true;
  const std::int64_t start = monoNs();
  g.start_ns = start;
  if (seconds > 0) {
    g.stop_issuing_ns = start + static_cast<std::int64_t>(seconds * 1e9);
    g.measure_from_ns = start + std::min<std::int64_t>(static_cast<std::int64_t>(seconds * 1e9) / 4, kSec);
  } else {
    g.turns_per_conn = warm + turns;
    g.warmup_per_conn = warm;
  }
  const int id = e.addGroup(g);
  e.run(start + static_cast<std::int64_t>((seconds > 0 ? seconds : 600) * 1e9) + 30 * kSec);
  const WsGroupStats& s = e.stats(id);
  showSummary("upgrade", summarize(s.upgrade_ns));
  showSummary("first event", summarize(s.first_event_ns));
  showSummary("turn", summarize(s.turn_ns));
  showSummary("event", summarize(s.event_ns));
  std::printf(
      "upgrades ok=%lld refused=%lld; turns ok=%lld warm-up=%lld failed=%lld; stalled=%lld reconnects=%lld "
      "clean closes=%lld load=%s\n",
      (long long)s.upgrades_ok, (long long)s.upgrades_refused, (long long)s.turns_ok, (long long)s.warmup_turns,
      (long long)s.turns_failed, (long long)s.stalled, (long long)s.reconnects, (long long)s.closes_clean,
      loadAverage().c_str());
  for (const auto& [k, v] : s.errors) std::printf("  error %s x%lld\n", k.c_str(), (long long)v);
  return s.turns_failed == 0 && s.upgrades_refused == 0 ? 0 : 1;
}

// One ad-hoc workload against one port, for investigating a figure:
//   one --port P [--path /v1/responses] [--chat] [--stream | --ws] [--n 8] [--iv 0] [--conns 1]
//       [--requests N per connection] [--seconds S] [--warmup N per connection] [--ramp-ms M]
int runOne(int argc, char** argv) {
  Target t{"one", 0, "/v1/responses", false, 0};
  bool stream = false;
  bool websocket = false;
  int deltas = 8, interval = 0, conns = 1, warm = 20;
  std::int64_t requests = 500, ramp_ms = 0;
  double seconds = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (a == "--port")
      t.port = static_cast<std::uint16_t>(std::atoi(next().c_str()));
    else if (a == "--path")
      t.path = next();
    else if (a == "--chat")
      t.chat = true;
    else if (a == "--stream")
      stream = true;
    else if (a == "--ws")
      websocket = true;
    else if (a == "--n")
      deltas = std::atoi(next().c_str());
    else if (a == "--iv")
      interval = std::atoi(next().c_str());
    else if (a == "--conns")
      conns = std::atoi(next().c_str());
    else if (a == "--requests")
      requests = std::atoll(next().c_str());
    else if (a == "--seconds")
      seconds = std::atof(next().c_str());
    else if (a == "--warmup")
      warm = std::atoi(next().c_str());
    else if (a == "--ramp-ms")
      ramp_ms = std::atoll(next().c_str());
    else if (!parseRequestExtra(a, next))
      return 2;
  }
  if (t.chat && t.path == "/v1/responses") t.path = "/v1/chat/completions";
  if (websocket) return runOneWs(t, deltas, interval, conns, warm, requests, ramp_ms, seconds);
  Engine e;
  GroupSpec g;
  g.port = t.port;
  g.request = makeRequest(t, stream, deltas, interval);
  g.session_ids = requestExtras().session_ids;
  g.connections = conns;
  g.warmup_per_conn = warm;
  g.ramp_ns = ramp_ms * kMs;
  g.record_events = stream;
  const std::int64_t start = monoNs();
  g.start_ns = start;
  if (seconds > 0)
    g.stop_issuing_ns = start + static_cast<std::int64_t>(seconds * 1e9);
  else
    g.requests_per_conn = warm + requests;
  int id = e.addGroup(g);
  e.run(start + static_cast<std::int64_t>((seconds > 0 ? seconds : 600) * 1e9) + 30 * kSec);
  GroupStats& s = e.stats(id);
  auto show = [](const char* what, const Summary& m) { showSummary(what, m, 8); };
  show("latency", summarize(s.latency_ns));
  show("ttfb", summarize(s.ttfb_ns));
  if (stream) show("event", summarize(s.event_ns));
  const double secs = static_cast<double>(s.window_end_ns - s.window_begin_ns) / 1e9;
  std::printf("ok=%lld failed=%lld stale_retries=%lld stalled=%lld rps=%.0f load=%s\n", (long long)s.ok,
              (long long)s.failed, (long long)s.stale_retries, (long long)s.stalled_streams,
              secs > 0 ? static_cast<double>(s.ok) / secs : 0.0, loadAverage().c_str());
  for (const auto& [k, v] : s.errors) std::printf("  error %s x%lld\n", k.c_str(), (long long)v);
  return s.failed == 0 ? 0 : 1;
}

int usage() {
  std::fprintf(
      stderr,
      "usage: cosp-bench-load run --out DIR --direct PORT --nginx PORT --nginx-pid PID --proxy PORT "
      "--proxy-pid PID [--fake-pid PID] [--micro FILE] [--rounds N] [--hold N] [--hold-large N] [--ws-hold N]\n"
      "                           [--lifecycle N] [--quick]\n"
      "                           [--phases seq,rps,ttfb,long,events,events200,wsevents,hold,holdlarge,wshold,\n"
      "                                     reload,kill9]\n"
      "                           [--proxy-b PORT --proxy-b-pid PID] [--api-key-file FILE] [--session-ids]\n"
      "       cosp-bench-load one --port P [--path P] [--chat] [--stream | --ws] [--n N] [--iv MS] [--conns C]\n"
      "                           [--requests N | --seconds S] [--warmup N] [--ramp-ms MS]\n"
      "                           [--api-key-file FILE] [--session-ids]\n"
      "       cosp-bench-load free-port\n"
      "       cosp-bench-load wait-http PORT PATH SECONDS [any]   (until GET answers 200, or anything)\n");
  return 2;
}

}  // namespace
}  // namespace cosp::bench

int main(int argc, char** argv) {
  using cosp::bench::Options;
  if (argc < 2) return cosp::bench::usage();
  std::signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  Options o;
  for (int i = 0; i < argc; ++i) o.command_line += std::string(i ? " " : "") + argv[i];
  const std::string cmd = argv[1];
  if (cmd == "one") {
    int rc = cosp::bench::runOne(argc, argv);
    return rc == 2 ? cosp::bench::usage() : rc;
  }
  if (cmd == "free-port") {
    std::printf("%d\n", cosp::bench::freePort());
    return 0;
  }
  if (cmd == "wait-http" && (argc == 5 || argc == 6)) {
    const auto port = static_cast<std::uint16_t>(std::atoi(argv[2]));
    const std::int64_t until = cosp::bench::monoNs() + std::atoll(argv[4]) * 1'000'000'000LL;
    const bool any = argc == 6 && std::string(argv[5]) == "any";
    while (cosp::bench::monoNs() < until) {
      const int status = cosp::bench::httpStatus(port, argv[3]);
      if (status == 200 || (any && status > 0)) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 1;
  }
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (a == "--out")
      o.out = next();
    else if (a == "--direct")
      o.direct_port = static_cast<std::uint16_t>(std::atoi(next().c_str()));
    else if (a == "--nginx")
      o.nginx_port = static_cast<std::uint16_t>(std::atoi(next().c_str()));
    else if (a == "--proxy")
      o.proxy_port = static_cast<std::uint16_t>(std::atoi(next().c_str()));
    else if (a == "--nginx-pid")
      o.nginx_pid = std::atoi(next().c_str());
    else if (a == "--proxy-pid")
      o.proxy_pid = std::atoi(next().c_str());
    else if (a == "--proxy-b")
      o.proxy_b_port = static_cast<std::uint16_t>(std::atoi(next().c_str()));
    else if (a == "--proxy-b-pid")
      o.proxy_b_pid = std::atoi(next().c_str());
    else if (a == "--fake-pid")
      o.fake_pid = std::atoi(next().c_str());
    else if (a == "--micro")
      o.micro = next();
    else if (a == "--rounds")
      o.rounds = std::max(1, std::atoi(next().c_str()));
    else if (a == "--hold")
      o.hold = std::max(1, std::atoi(next().c_str()));
    else if (a == "--hold-large")
      o.hold_large = std::max(0, std::atoi(next().c_str()));
    else if (a == "--ws-hold")
      o.ws_hold = std::max(0, std::atoi(next().c_str()));
    else if (a == "--lifecycle")
      o.lifecycle = std::max(1, std::atoi(next().c_str()));
    else if (a == "--quick")
      o.quick = true;
    else if (a == "--phases") {
      std::stringstream list(next());
      std::string item;
      while (std::getline(list, item, ',')) o.phases.insert(item);
    } else if (!cosp::bench::parseRequestExtra(a, next))
      return cosp::bench::usage();
  }
  if (cmd != "run") return cosp::bench::usage();
  if (o.direct_port == 0 || o.nginx_port == 0 || o.proxy_port == 0) return cosp::bench::usage();
  cosp::bench::Bench bench(o);
  return bench.run();
}
