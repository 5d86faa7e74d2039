#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/util/result.h"
#include "supervisor/credentials/credential_types.h"

namespace cosp::supervisor {

// STATE_DIR/credentials.json. Format (JSON object):
//   {"version":1,"refresh_token":"…","access_token":"…","id_token":"…"|absent,
//    "expires_at":<unix s>|absent,"account_id":"…","last_refresh":<unix s>,"seed_hash":"<sha256 hex>"}
// Writes are crash-safe: temp file (0600, O_EXCL) + fsync + rename + fsync of the directory, so
// after save() returns the new refresh token survives a power cut. That ordering matters: the
// token endpoint rotates refresh tokens, so the old one is dead the moment the new one exists.
class CredentialStore {
 public:
  // `file_name` inside `state_dir`: credentials.json for the account `default`, <name>.json in
  // STATE_DIR/accounts for the others (docs/ARCHITECTURE.md §5, several accounts).
  explicit CredentialStore(std::string state_dir, std::string file_name = "credentials.json");

  const std::string& stateDir() const { return state_dir_; }
  std::string path() const;

  // nullopt when the file does not exist; an error (no secrets) when it is unreadable or corrupt.
  common::Result<std::optional<StoredCredentials>, std::string> load() const;

  // Creates the directory (0700) if needed. Returns an error message on failure.
  std::optional<std::string> save(const StoredCredentials& creds) const;

  // Whether the directory accepts new files: creates it if missing, then creates and removes a
  // probe file. (Permission bits alone say nothing when running as root.) Error on failure.
  std::optional<std::string> probeWritable() const;

  // Identity of the file on disk (inode, size, mtime), to notice a rewrite by another process
  // (`codex-sub-proxy login`) cheaply. nullopt when absent.
  struct FileStamp {
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };
  std::optional<FileStamp> stamp() const;

  static std::string serialize(const StoredCredentials& creds);
  static common::Result<StoredCredentials, std::string> parse(const std::string& json);

 private:
  std::string state_dir_;
  std::string file_name_;
};

// Lower-case hex SHA-256, used for the seed hash (never store the seed itself twice).
std::string sha256Hex(const std::string& data);

}  // namespace cosp::supervisor
