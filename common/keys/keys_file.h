#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/util/result.h"

namespace cosp::common::keys {

using Digest = std::array<unsigned char, 32>;

// One caller key of API_KEYS_FILE (SPEC §10). The file holds only the SHA-256 of the key.
// Absent limits are std::nullopt (unlimited).
struct KeyEntry {
  std::string name;
  Digest sha256{};
  std::vector<std::string> models;    // empty: every model
  std::vector<std::string> accounts;  // empty: every account
  std::optional<std::int64_t> rpm;
  std::optional<std::int64_t> tpm;
  std::optional<std::int64_t> daily_tokens;
  std::optional<std::int64_t> monthly_tokens;
  std::optional<std::int64_t> max_concurrent;
  std::optional<std::int64_t> expires_at;  // unix seconds
  std::string expires_at_text;             // as written, for the round trip
  std::optional<bool> forward_quota_headers;
  bool disabled = false;

  friend bool operator==(const KeyEntry& a, const KeyEntry& b);
};

struct KeysFile {
  std::vector<KeyEntry> keys;
};

// Strict parse of `{"keys":[…]}`: unknown fields, bad types, duplicate names, bad names or
// digests are refused with a message naming the key and the field. Never echoes a digest.
Result<KeysFile, std::string> parseKeysFile(std::string_view text);
// Reads `path`; refuses a file whose mode is not 0600 or 0640 (it guards who may call).
Result<KeysFile, std::string> loadKeysFile(const std::string& path);
// The file's JSON text (stable field order), for ctl's atomic rewrite.
std::string serializeKeysFile(const KeysFile& file);
// Writes `text` to `path` atomically (temp file in the same directory, fsync, rename) with `mode`.
// Returns an error text or nullopt.
std::optional<std::string> writeFileAtomically(const std::string& path, std::string_view text, unsigned mode);

// A new caller key: "csp-" and 32 random bytes (OpenSSL's RAND_bytes) in unpadded base64url.
// Empty if the random generator fails.
std::string generateKey();

Digest sha256(std::string_view data);
std::string toHex(const Digest& digest);
std::optional<Digest> digestFromHex(std::string_view hex);
// RFC 3339 date-time ("2026-01-31T12:00:00Z", "…+02:00", optional fraction) → unix seconds.
std::optional<std::int64_t> parseRfc3339(std::string_view text);
bool validKeyName(std::string_view name);

// Presented key → entry: one SHA-256 and one hash-map lookup on the digest, then a constant-time
// comparison of the digests (CRYPTO_memcmp), so timing reveals nothing about near misses.
class KeyTable {
 public:
  KeyTable() = default;
  explicit KeyTable(std::vector<KeyEntry> entries);
  // Index into entries() or nullopt.
  std::optional<std::size_t> find(std::string_view presented) const;
  std::optional<std::size_t> findByName(std::string_view name) const;
  const std::vector<KeyEntry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  struct DigestHash {
    std::size_t operator()(const Digest& d) const noexcept;
  };
  std::vector<KeyEntry> entries_;
  std::unordered_map<Digest, std::size_t, DigestHash> by_digest_;
};

}  // namespace cosp::common::keys
