#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cosp::test {

// One HTTP/1.x response read off a byte stream (1xx interim responses count as responses too).
struct RawResponse {
  int status = 0;
  std::string head;  // status line and header lines, CRLFs included, without the empty line
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;                                          // decoded when chunked
  bool complete = false;

  std::optional<std::string> header(const std::string& name) const;
};

// Parses the response at the start of `raw` into `r`: the bytes it used, or npos while it is
// incomplete (then `r` holds what there is). `closed`: the stream ended, so a body delimited by
// the end of the connection is complete.
std::size_t parseResponse(std::string_view raw, bool closed, RawResponse& r);
// Every response in `raw`, in order; the last may be incomplete.
std::vector<RawResponse> parseResponses(std::string_view raw, bool closed);

// A request as bytes: Host 127.0.0.1, `Authorization: Bearer <bearer_key>` unless the key is
// empty, `extra_headers` (whole lines, CRLFs included), and a JSON Content-Type and
// Content-Length when there is a body or the method is POST.
std::string rawRequest(const std::string& method, const std::string& path, const std::string& body,
                       const std::string& bearer_key, const std::string& extra_headers = "");

// A raw client socket on 127.0.0.1 (non-blocking, TCP_NODELAY): sends exactly the bytes given,
// reads with deadlines, keeps everything it received, and notices when the server ends the
// connection (end of file, or a reset). For what a plain client library would hide: held
// streams, malformed and hostile requests, several requests on one kept-alive connection.
class RawClient {
 public:
  // Connects to 127.0.0.1:port. `read_timeout_ms` is the deadline of readUntil(marker).
  explicit RawClient(int port, int read_timeout_ms = 5000);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  std::chrono::steady_clock::time_point opened() const { return opened_; }

  // Every byte before the deadline (5 s), or false.
  bool send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // A POST with a JSON body and a Content-Length (no key).
  bool post(const std::string& path, const std::string& body);
  void shutdownWrite();

  enum class Read { Data, Closed, Timeout };
  // At most one recv, waiting up to `timeout_ms` for it.
  Read readSome(int timeout_ms);
  // Until `marker` has arrived; false when the connection ended or the deadline passed first.
  bool readUntil(const std::string& marker, std::chrono::milliseconds timeout);
  bool readUntil(const std::string& marker) { return readUntil(marker, std::chrono::milliseconds(read_timeout_ms_)); }
  // Until the server ends the connection; true when it did before the deadline.
  bool readToClose(std::chrono::milliseconds timeout);
  // Until `n` complete final (non-1xx) responses have arrived, the connection ended, or the deadline.
  bool readResponses(std::size_t n, std::chrono::milliseconds timeout);
  // Every response received so far.
  std::vector<RawResponse> responses() const { return parseResponses(received_, closed_); }
  // Sends `bytes` and reads the next response on the connection (one request at a time on a
  // kept-alive connection): whole, or what there is at the deadline or when the server closed.
  RawResponse exchange(const std::string& bytes, std::chrono::milliseconds timeout);

  bool closed() const { return closed_; }
  bool wasReset() const { return reset_; }
  std::chrono::steady_clock::time_point closedAt() const { return closed_at_; }
  const std::string& received() const { return received_; }
  void close();

 private:
  int fd_ = -1;
  int read_timeout_ms_;
  bool connected_ = false;
  bool closed_ = false;
  bool reset_ = false;
  std::chrono::steady_clock::time_point opened_;
  std::chrono::steady_clock::time_point closed_at_;
  std::string received_;
  std::size_t consumed_ = 0;  // bytes of received_ that exchange() has handed out
};

// For failure messages: how the connection ended and what was received.
std::string describe(const RawClient& client);

}  // namespace cosp::test
