#pragma once

#include <Poco/Net/Context.h>

#include <string>

#include "common/util/result.h"

namespace cosp::common {

struct TlsOptions {
  // PEM bundle of trusted CAs. Empty = the system store
  // (/etc/ssl/certs/ca-certificates.crt plus OpenSSL's default paths).
  // Tests point this at a throw-away CA; then ONLY that CA is trusted.
  std::string ca_file;
};

// Calls Poco::Net::initializeSSL() exactly once per process (thread-safe,
// idempotent). makeClientTlsContext() calls it; call it yourself before using any
// other NetSSL API.
void ensureSslInitialized();

// Builds a client TLS context for the Codex backend and the OAuth endpoint:
//  - TLS >= 1.2, OpenSSL's default cipher list (not POCO's "ALL:..."), ALPN
//    "http/1.1" only, SNI (sent by POCO whenever the socket has a peer host name,
//    i.e. SecureStreamSocket::attach(sock, host, ctx) or the (addr, host, ctx) ctor);
//  - the chain is verified against `ca_file` or the system store, AND the host name
//    is verified for every host, loopback included (VERIFY_STRICT, see the .cpp);
//  - an invalid certificate is rejected by a RejectCertificateHandler (never the
//    console handler that would read stdin);
//  - no client session cache (every connection does a full handshake; pooled
//    keep-alive connections make resumption pointless and avoid shared state).
// Thread-safe; the returned context may be shared by every connection of the
// process. Throws Poco::Exception (e.g. SSLContextException) when the CA file
// cannot be loaded — use tryMakeClientTlsContext() for a Result.
Poco::Net::Context::Ptr makeClientTlsContext(const TlsOptions& options);

// Same, but failures come back as a message naming the CA file (config errors
// should exit 78 with one clear line).
Result<Poco::Net::Context::Ptr, std::string> tryMakeClientTlsContext(const TlsOptions& options);

}  // namespace cosp::common
