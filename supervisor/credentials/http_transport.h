#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/codex/fingerprint.h"
#include "common/util/result.h"
#include "supervisor/credentials/credential_types.h"

namespace cosp::supervisor {

struct HttpReply {
  int status = 0;
  std::string body;         // capped (1 MiB); token endpoint answers are small
  std::string retry_after;  // raw Retry-After header, empty when absent
};

// What get() returns: a document and the validator a conditional GET sends back.
struct HttpDocument {
  int status = 0;
  std::string body;  // at most get()'s max_bytes
  std::string etag;  // raw ETag header, empty when absent
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The HTTP operations the supervisor's own calls need: POST a small body and read a small reply
// (token and device endpoints), GET a document (the model catalog). An interface so the schedules
// can be tested with a scripted transport and the device login with a fake server, and so a
// background thread can be interrupted at shutdown. Every request carries the client fingerprint
// of HttpTransportOptions.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Transport-level failure (DNS, connect, TLS, timeout, reset) -> error text without secrets.
  virtual common::Result<HttpReply, std::string> post(const std::string& url, const std::string& content_type,
                                                      const std::string& body) = 0;
  // GET with extra request headers (Authorization, If-None-Match, …). A reply body longer than
  // `max_bytes` is an error, never a truncated document. The default refuses: only the POCO
  // transport and the tests that need it implement it.
  virtual common::Result<HttpDocument, std::string> get(const std::string& url, const HttpHeaders& headers,
                                                        size_t max_bytes);
  // The fingerprint later requests present (a reload that changed CODEX_CLIENT_VERSION or
  // CODEX_ORIGINATOR); a request already sent keeps its own. Called on the supervisor's loop
  // thread while a background thread may be sending. The scripted transports of the tests ignore it.
  virtual void setFingerprint(common::CodexFingerprint /*fingerprint*/) {}
  // Called from another thread: make an in-flight post() return promptly with an error and
  // every later post() fail at once. Irreversible.
  virtual void cancel() = 0;
};

struct HttpTransportOptions {
  std::string https_proxy;  // HTTPS_PROXY (http://[user:pass@]host:port); empty = direct
  std::string no_proxy;     // NO_PROXY
  std::string ca_file;      // empty = system CA store
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds io_timeout{30000};
  // The client fingerprint (common/codex/fingerprint.h) until setFingerprint(); an empty
  // originator or version is not sent.
  common::CodexFingerprint fingerprint{.originator = "", .version = "", .user_agent = "codex-sub-proxy"};
};

// POCO HTTPClientSession / HTTPSClientSession based transport; one connection per call (the
// token endpoint is called a few times an hour, keep-alive buys nothing). Errors: an invalid
// HTTPS_PROXY / NO_PROXY (message names the variable).
common::Result<std::shared_ptr<HttpTransport>, std::string> makePocoHttpTransport(HttpTransportOptions options);

// The transport for the token and device endpoints, built from the operator's settings
// (proxy, CA file, timeouts). Shared by the refresh path and `codex-sub-proxy login`.
common::Result<std::shared_ptr<HttpTransport>, std::string> makeTransportFor(const CredentialSettings& settings);

}  // namespace cosp::supervisor
