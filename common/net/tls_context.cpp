#include "common/net/tls_context.h"

#include <Poco/Exception.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <mutex>

namespace cosp::common {

namespace {

constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

std::once_flag g_ssl_init_once;
std::once_flag g_manager_init_once;

}  // namespace

void ensureSslInitialized() {
  // docs/ARCHITECTURE.md §6.13: NetSSL needs initializeSSL() before first use; it is
  // reference-counted, so calling it once and never uninitialising is the simple,
  // correct lifetime for a process.
  std::call_once(g_ssl_init_once, [] { Poco::Net::initializeSSL(); });
}

Poco::Net::Context::Ptr makeClientTlsContext(const TlsOptions& options) {
  ensureSslInitialized();

  Poco::Net::Context::Params params;
  // docs/ARCHITECTURE.md §6.13: VERIFY_RELAXED skips the host-name check for loopback peers
  // (SecureSocketImpl::verifyPeerCertificateImpl). For a client, VERIFY_STRICT only
  // adds SSL_VERIFY_FAIL_IF_NO_PEER_CERT (meaningful on servers) and turns the
  // host-name check on for every host, so tests against a TLS fake on 127.0.0.1
  // exercise the very same verification as production.
  params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  params.verificationDepth = 9;
  if (!options.ca_file.empty()) {
    params.caLocation = options.ca_file;
    params.loadDefaultCAs = false;
  } else {
    // docs/ARCHITECTURE.md §6.13: Params does not load any CA by default, which is how people end
    // up with VERIFY_NONE. Load both the Debian bundle and OpenSSL's default paths.
    if (::access(kSystemCaBundle, R_OK) == 0) params.caLocation = kSystemCaBundle;
    params.loadDefaultCAs = true;
  }
  // POCO's default "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH" produces a ClientHello that
  // looks nothing like mainstream OpenSSL clients, and Cloudflare challenges
  // unusual fingerprints (docs/ARCHITECTURE.md §6.13). "DEFAULT" is OpenSSL's own TLS <= 1.2 list;
  // TLS 1.3 suites are configured separately and stay at OpenSSL's defaults.
  params.cipherList = "DEFAULT";

  Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
  context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  // Resumption would need Session objects threaded through every connect; with
  // keep-alive pooling it buys little and is one more piece of shared state.
  context->enableSessionCache(false);

  // ALPN: advertise HTTP/1.1 only (wire format: length-prefixed protocol names).
  // We speak HTTP/1.1 ourselves, so the server must never pick h2.
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  if (SSL_CTX_set_alpn_protos(context->sslContext(), kAlpn, sizeof(kAlpn)) != 0) {
    throw Poco::Net::SSLContextException("cannot set ALPN protocols");
  }

  // docs/ARCHITECTURE.md §6.13: the per-context handler is consulted first by
  // SSLManager::verifyCallback; it rejects (never ConsoleCertificateHandler, which
  // reads stdin inside a Poco::Util::Application).
  Poco::Net::Context::InvalidCertificateHandlerPtr reject(new Poco::Net::RejectCertificateHandler(false));
  context->setInvalidCertificateHandler(reject);

  // Give SSLManager an explicit client configuration once, so nothing ever falls
  // back to its lazy "configure from Application properties" path (which would
  // install the console handler) — e.g. a stray HTTPSClientSession built without a
  // context gets this verified context instead.
  std::call_once(g_manager_init_once,
                 [&] { Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, context); });
  return context;
}

Result<Poco::Net::Context::Ptr, std::string> tryMakeClientTlsContext(const TlsOptions& options) {
  try {
    if (!options.ca_file.empty() && ::access(options.ca_file.c_str(), R_OK) != 0) {
      return "cannot read CA file '" + options.ca_file + "'";
    }
    return makeClientTlsContext(options);
  } catch (const Poco::Exception& e) {
    return (options.ca_file.empty() ? std::string("cannot build TLS context: ")
                                    : "cannot build TLS context from CA file '" + options.ca_file + "': ") +
           e.displayText();
  } catch (const std::exception& e) {
    return std::string("cannot build TLS context: ") + e.what();
  }
}

}  // namespace cosp::common
