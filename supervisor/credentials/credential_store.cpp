#include "supervisor/credentials/credential_store.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "supervisor/credentials/jwt.h"

namespace cosp::supervisor {

namespace {

std::string errnoText(const std::string& what, const std::string& path, int err) {
  return what + " " + path + ": " + std::strerror(err);
}

// mkdir -p with mode 0700 for the components we create (the state dir holds a refresh token).
std::optional<std::string> makeDirs(const std::string& dir) {
  if (dir.empty()) return std::string("state directory is empty");
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return dir + " exists and is not a directory";
    return std::nullopt;
  }
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (auto err = makeDirs(dir.substr(0, slash))) return err;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errnoText("cannot create", dir, errno);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return dir + " is not a directory";
  return std::nullopt;
}

bool writeAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

// A dot name: a scan of STATE_DIR/accounts skips it (it never names an account).
std::string tempName(const std::string& dir, const std::string& file_name) {
  static std::atomic<unsigned> counter{0};
  return dir + "/." + file_name + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

}  // namespace

std::string sha256Hex(const std::string& data) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(data);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

CredentialStore::CredentialStore(std::string state_dir, std::string file_name)
    : state_dir_(std::move(state_dir)), file_name_(std::move(file_name)) {
  while (state_dir_.size() > 1 && state_dir_.back() == '/') state_dir_.pop_back();
}

std::string CredentialStore::path() const { return state_dir_ + "/" + file_name_; }

std::string CredentialStore::serialize(const StoredCredentials& c) {
  common::JsonValue obj = common::JsonValue::object();
  obj.set("version", c.version);
  obj.set("refresh_token", c.refresh_token);
  obj.set("access_token", c.access_token);
  if (!c.id_token.empty()) obj.set("id_token", c.id_token);
  if (c.expires_at_ms > 0) obj.set("expires_at", c.expires_at_ms / 1000);
  obj.set("account_id", c.account_id);
  obj.set("last_refresh", c.last_refresh_s);
  obj.set("seed_hash", c.seed_hash);
  return common::toPrettyJson(obj) + "\n";
}

common::Result<StoredCredentials, std::string> CredentialStore::parse(const std::string& json) {
  std::optional<common::JsonValue> obj = common::parseJsonObject(json, kCredentialJsonOptions);
  if (!obj) return std::string("not a JSON object");
  StoredCredentials c;
  c.version = static_cast<int>(common::jsonInt(*obj, "version").value_or(0));
  if (c.version != StoredCredentials::kVersion) return "unsupported version " + std::to_string(c.version);
  auto str = [&](const char* key) { return common::jsonStringOr(*obj, key); };
  c.refresh_token = str("refresh_token");
  c.access_token = str("access_token");
  c.id_token = str("id_token");
  c.account_id = str("account_id");
  c.expires_at_ms = normalizeExpiresAtMs(common::jsonInt(*obj, "expires_at").value_or(0));
  c.last_refresh_s = common::jsonInt(*obj, "last_refresh").value_or(0);
  c.seed_hash = str("seed_hash");
  return c;
}

common::Result<std::optional<StoredCredentials>, std::string> CredentialStore::load() const {
  const std::string file = path();
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<StoredCredentials>{};
    return errnoText("cannot open", file, errno);
  }
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return errnoText("cannot read", file, err);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > (1u << 20)) {
      ::close(fd);
      return file + " is larger than 1 MiB";
    }
  }
  ::close(fd);
  auto parsed = parse(data);
  if (!parsed.ok()) return file + ": " + parsed.error();
  return std::optional<StoredCredentials>(std::move(parsed.value()));
}

std::optional<std::string> CredentialStore::save(const StoredCredentials& creds) const {
  if (auto err = makeDirs(state_dir_)) return err;
  const std::string tmp = tempName(state_dir_, file_name_);
  // 0600 at creation; fchmod below makes it independent of the umask as well.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errnoText("cannot create", tmp, errno);
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return std::optional<std::string>(errnoText(what, tmp, err));
  };
  if (::fchmod(fd, 0600) != 0) return fail("cannot chmod");
  if (!writeAll(fd, serialize(creds))) return fail("cannot write");
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errnoText("cannot close", tmp, err);
  }
  const std::string file = path();
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errnoText("cannot rename onto", file, err);
  }
  // The rename is only durable once the directory entry is on disk.
  int dfd = ::open(state_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errnoText("cannot open directory", state_dir_, errno);
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) return errnoText("cannot fsync directory", state_dir_, err);
  return std::nullopt;
}

std::optional<std::string> CredentialStore::probeWritable() const {
  if (auto err = makeDirs(state_dir_)) return err;
  const std::string tmp = tempName(state_dir_, file_name_);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errnoText("cannot create files in", state_dir_, errno);
  ::close(fd);
  ::unlink(tmp.c_str());
  return std::nullopt;
}

std::optional<CredentialStore::FileStamp> CredentialStore::stamp() const {
  struct stat st {};
  if (::stat(path().c_str(), &st) != 0) return std::nullopt;
  FileStamp s;
  s.inode = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return s;
}

}  // namespace cosp::supervisor
