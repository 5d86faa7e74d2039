#include "supervisor/credentials/http_transport.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Timespan.h>
#include <sys/socket.h>

#include <mutex>

#include "common/net/proxy_rules.h"
#include "common/net/tls_context.h"
#include "common/net/url.h"

namespace cosp::supervisor {

namespace {

constexpr size_t kMaxReplyBytes = 1u << 20;

Poco::Timespan toTimespan(std::chrono::milliseconds ms) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000);
}

class PocoHttpTransport final : public HttpTransport {
 public:
  PocoHttpTransport(HttpTransportOptions options, common::ProxyRules rules, Poco::Net::Context::Ptr tls)
      : options_(std::move(options)),
        rules_(std::move(rules)),
        tls_(std::move(tls)),
        fingerprint_(options_.fingerprint) {}

  common::Result<HttpReply, std::string> post(const std::string& url, const std::string& content_type,
                                              const std::string& body) override {
    auto answer = exchange(Poco::Net::HTTPRequest::HTTP_POST, url, {{"Content-Type", content_type}}, &body,
                           kMaxReplyBytes, false);
    if (!answer.ok()) return answer.error();
    return HttpReply{answer->status, std::move(answer->body), std::move(answer->retry_after)};
  }

  common::Result<HttpDocument, std::string> get(const std::string& url, const HttpHeaders& headers,
                                                size_t max_bytes) override {
    auto answer = exchange(Poco::Net::HTTPRequest::HTTP_GET, url, headers, nullptr, max_bytes, true);
    if (!answer.ok()) return answer.error();
    return HttpDocument{answer->status, std::move(answer->body), std::move(answer->etag)};
  }

  void setFingerprint(common::CodexFingerprint fingerprint) override {
    std::lock_guard<std::mutex> lock(mu_);
    fingerprint_ = std::move(fingerprint);
  }

  void cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    // shutdown(2) (not close) wakes a thread blocked in recv/SSL_read on this fd; calling into
    // the POCO/OpenSSL objects from this thread would race with that thread.
    if (active_fd_ >= 0) ::shutdown(active_fd_, SHUT_RDWR);
  }

 private:
  struct Answer {
    int status = 0;
    std::string body, retry_after, etag;
  };

  // One request on a fresh connection. `body` null = none. Past `max_bytes` the reply body is cut
  // there (post: the token endpoint's answers are small, a cut one fails to parse) or refused
  // (`refuse_longer`: a cut document would look like a different, valid one).
  common::Result<Answer, std::string> exchange(const std::string& method, const std::string& url,
                                               const HttpHeaders& headers, const std::string* body, size_t max_bytes,
                                               bool refuse_longer) {
    common::CodexFingerprint fingerprint;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_) return std::string("cancelled");
      fingerprint = fingerprint_;
    }
    auto parsed = common::parseUrl(url);
    if (!parsed.ok()) return "bad URL: " + parsed.error();
    const common::Url& target = parsed.value();
    try {
      std::unique_ptr<Poco::Net::HTTPClientSession> session;
      if (target.isHttps()) {
        session = std::make_unique<Poco::Net::HTTPSClientSession>(target.host, target.port, tlsContext());
      } else {
        session = std::make_unique<Poco::Net::HTTPClientSession>(target.host, target.port);
      }
      if (auto proxy = rules_.proxyFor(target)) {
        // POCO 1.11 HTTPSClientSession tunnels through the proxy with CONNECT and then starts TLS
        // on the tunnel with the target host name (SNI + verification); plain http goes
        // absolute-form. nonProxyHosts stays empty: NO_PROXY was already decided by ProxyRules.
        Poco::Net::HTTPClientSession::ProxyConfig config;
        config.host = proxy->host;
        config.port = proxy->port;
        config.username = proxy->username;
        config.password = proxy->password;
        session->setProxyConfig(config);
      }
      // docs/ARCHITECTURE.md §6.14: timeouts only apply at connect(), so set them first.
      session->setTimeout(toTimespan(options_.connect_timeout), toTimespan(options_.io_timeout),
                          toTimespan(options_.io_timeout));

      Poco::Net::HTTPRequest request(method, target.path.empty() ? "/" : target.path, Poco::Net::HTTPMessage::HTTP_1_1);
      if (body != nullptr) request.setContentLength(static_cast<std::streamsize>(body->size()));
      request.set("Accept", "application/json");
      request.set("User-Agent", fingerprint.user_agent);
      if (!fingerprint.originator.empty()) request.set("originator", fingerprint.originator);
      if (!fingerprint.version.empty()) request.set("version", fingerprint.version);
      for (const auto& [name, value] : headers) request.set(name, value);
      request.setKeepAlive(false);

      std::ostream& out = session->sendRequest(request);  // connects (and handshakes)
      // From here on a blocked receive can be interrupted by cancel(); the guard unregisters
      // the fd before `session` (declared earlier, destroyed later) closes it, so cancel()
      // never shuts down a recycled descriptor.
      FdRegistration registration(*this, session->socket().impl()->sockfd());
      if (body != nullptr) {
        out << *body;
        out.flush();
        if (!out) return std::string("connection lost while sending the request");
      }

      Poco::Net::HTTPResponse response;
      std::istream& in = session->receiveResponse(response);
      Answer reply;
      reply.status = static_cast<int>(response.getStatus());
      reply.retry_after = response.get("Retry-After", "");
      reply.etag = response.get("ETag", "");
      char buf[4096];
      while (in && reply.body.size() <= max_bytes) {
        in.read(buf, sizeof buf);
        reply.body.append(buf, static_cast<size_t>(in.gcount()));
      }
      if (isCancelled()) return std::string("cancelled");
      if (reply.body.size() > max_bytes) {
        if (refuse_longer) {
          return "the answer of " + target.hostPort() + " is longer than " + std::to_string(max_bytes) + " bytes";
        }
        reply.body.resize(max_bytes);
      }
      return reply;
    } catch (const Poco::TimeoutException&) {
      return std::string("timed out talking to ") + target.hostPort();
    } catch (const Poco::Exception& e) {
      if (isCancelled()) return std::string("cancelled");
      // displayText names the host and the failure (connection refused, certificate, ...),
      // never request content.
      return std::string("HTTP request to ") + target.hostPort() + " failed: " + e.displayText();
    } catch (const std::exception& e) {
      return std::string("HTTP request to ") + target.hostPort() + " failed: " + e.what();
    }
  }

  struct FdRegistration {
    FdRegistration(PocoHttpTransport& t, int fd) : transport(t) {
      std::lock_guard<std::mutex> lock(transport.mu_);
      transport.active_fd_ = fd;
      if (transport.cancelled_ && fd >= 0) ::shutdown(fd, SHUT_RDWR);
    }
    ~FdRegistration() {
      std::lock_guard<std::mutex> lock(transport.mu_);
      transport.active_fd_ = -1;
    }
    PocoHttpTransport& transport;
  };

  bool isCancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

  Poco::Net::Context::Ptr tlsContext() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!tls_) tls_ = common::makeClientTlsContext(common::TlsOptions{options_.ca_file});
    return tls_;
  }

  const HttpTransportOptions options_;
  const common::ProxyRules rules_;
  Poco::Net::Context::Ptr tls_;           // guarded by mu_ (built lazily)
  common::CodexFingerprint fingerprint_;  // guarded by mu_ (setFingerprint)
  std::mutex mu_;
  bool cancelled_ = false;
  int active_fd_ = -1;
};

}  // namespace

common::Result<HttpDocument, std::string> HttpTransport::get(const std::string& url, const HttpHeaders&, size_t) {
  return "this transport cannot GET " + url;
}

common::Result<std::shared_ptr<HttpTransport>, std::string> makePocoHttpTransport(HttpTransportOptions options) {
  auto rules = common::ProxyRules::parse(options.https_proxy, options.no_proxy);
  if (!rules.ok()) return rules.error();
  // A CA file is operator input: load it now so a bad path is a start-up error (exit 78), not a
  // refresh failure an hour later. Without one the context is built on first HTTPS use.
  Poco::Net::Context::Ptr tls;
  if (!options.ca_file.empty()) {
    auto made = common::tryMakeClientTlsContext(common::TlsOptions{options.ca_file});
    if (!made.ok()) return made.error();
    tls = made.value();
  }
  return std::shared_ptr<HttpTransport>(
      std::make_shared<PocoHttpTransport>(std::move(options), std::move(rules.value()), std::move(tls)));
}

common::Result<std::shared_ptr<HttpTransport>, std::string> makeTransportFor(const CredentialSettings& settings) {
  HttpTransportOptions options;
  options.https_proxy = settings.https_proxy;
  options.no_proxy = settings.no_proxy;
  options.ca_file = settings.ca_file;
  options.connect_timeout = settings.http_connect_timeout;
  options.io_timeout = settings.http_timeout;
  if (!settings.fingerprint.user_agent.empty()) options.fingerprint = settings.fingerprint;
  return makePocoHttpTransport(std::move(options));
}

}  // namespace cosp::supervisor
