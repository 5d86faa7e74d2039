// Configuration: loadConfig() with an INI file whose contents are the fuzz input, and the worker
// config codec (decodeWorkerConfig) on the same bytes.
//
// Invariants:
//  - an error is one non-empty line (the supervisor prints it and exits 78);
//  - an accepted configuration holds every documented range (config_loader.cpp), never binds a
//    non-loopback address without a caller key unless told to, and reaches a worker intact: its
//    worker config encodes, decodes, and encodes again to the same text, without the secrets;
//  - loading is deterministic;
//  - whatever decodeWorkerConfig accepts re-encodes to a message that decodes and re-encodes
//    identically (the codec is a fixpoint after one round).

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "common/config/config.h"
#include "common/config/config_codec.h"
#include "common/config/config_loader.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using cosp::common::Config;
using namespace std::chrono_literals;

const std::string& configPath() {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("cosp-fuzz-config-" + std::to_string(::getpid()) + ".ini")).string();
  return path;
}

// Only HOME is set, so the defaults of STATE_DIR and CONTROL_SOCKET are computed from it.
std::optional<std::string> env(const std::string& name) {
  if (name == "HOME") return std::string("/home/fuzz");
  return std::nullopt;
}

bool isHttpUrl(const std::string& url) {
  return (url.starts_with("http://") || url.starts_with("https://")) && !url.ends_with("/");
}

void checkRanges(const Config& c) {
  FUZZ_CHECK(c.config_file == configPath());
  FUZZ_CHECK(!c.host.empty() && c.port >= 1);
  FUZZ_CHECK(isHttpUrl(c.auth_base_url) && isHttpUrl(c.codex_base_url));
  FUZZ_CHECK(c.codex_responses_path.starts_with("/"));
  for (const std::string& m : c.models) FUZZ_CHECK(!m.empty());  // empty list: unset, the backend's catalog
  for (const std::string& k : c.api_keys) FUZZ_CHECK(!k.empty());
  FUZZ_CHECK(c.https_proxy.empty() || c.https_proxy.starts_with("http://"));
  FUZZ_CHECK(c.reasoning_compat == "none" || c.reasoning_compat == "reasoning_content" ||
             c.reasoning_compat == "think-tags");
  FUZZ_CHECK(!c.originator.empty() && !c.state_dir.empty());
  FUZZ_CHECK(!c.control_socket.empty() && c.control_socket.size() <= 107);
  FUZZ_CHECK(c.workers >= 1 && c.workers <= 256);
  FUZZ_CHECK(c.worker_threads >= 4 && c.worker_threads <= 65536);
  FUZZ_CHECK(c.max_body_bytes >= 1024);
  FUZZ_CHECK(!c.expires_at_ms || *c.expires_at_ms > 0);
  FUZZ_CHECK(c.upstream_connect_timeout >= 100ms && c.upstream_idle_timeout >= 1000ms);
  FUZZ_CHECK(c.shutdown_grace >= 0ms && c.refresh_margin >= 0s);
  FUZZ_CHECK(!c.api_keys.empty() || cosp::common::isLoopbackHost(c.host) || c.allow_unauthenticated);
}

void checkWorkerCodec(const Config& c) {
  const std::string encoded = cosp::common::encodeWorkerConfig(c);
  const auto decoded = cosp::common::decodeWorkerConfig(encoded);
  FUZZ_CHECK(decoded.has_value());
  FUZZ_CHECK(cosp::common::encodeWorkerConfig(*decoded) == encoded);
  FUZZ_CHECK(decoded->refresh_token.empty() && decoded->access_token.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  {
    std::ofstream out(configPath(), std::ios::binary | std::ios::trunc);
    out << text;
  }
  const std::vector<std::string> args = {"--config", configPath()};
  const auto loaded = cosp::common::loadConfig(args, env);
  if (loaded.ok()) {
    checkRanges(loaded.value().config);
    checkWorkerCodec(loaded.value().config);
    const auto again = cosp::common::loadConfig(args, env);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(cosp::common::encodeWorkerConfig(again.value().config) ==
               cosp::common::encodeWorkerConfig(loaded.value().config));
  } else {
    const std::string& message = loaded.error().message;
    FUZZ_CHECK(!message.empty());
    FUZZ_CHECK(message.find('\n') == std::string::npos);
    const auto again = cosp::common::loadConfig(args, env);
    FUZZ_CHECK(!again.ok() && again.error().message == message);
  }

  if (const auto decoded = cosp::common::decodeWorkerConfig(text)) checkWorkerCodec(*decoded);
  return 0;
}
