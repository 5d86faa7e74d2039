#include "supervisor/accounts/account_state_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "supervisor/accounts/account_names.h"

namespace cosp::supervisor {

namespace {

std::string errnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::optional<std::string> readSmallFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    return errnoText("cannot open", path);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  out = buf.str();
  return std::nullopt;
}

}  // namespace

std::optional<std::string> writeFileAtomic0600(const std::string& dir, const std::string& name,
                                               const std::string& content) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errnoText("cannot create", dir);
  // A dot name: a scan of the directory for accounts never takes it for one.
  const std::string tmp = dir + "/." + name + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errnoText("cannot create", tmp);
  bool ok = ::fchmod(fd, 0600) == 0;
  size_t off = 0;
  while (ok && off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      off += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  const std::string file = dir + "/" + name;
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    std::string error = errnoText("cannot write", file);
    ::unlink(tmp.c_str());
    return error;
  }
  // The rename is only durable once the directory entry is on disk.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return std::nullopt;
}

std::set<std::string> AccountStateFiles::loadPaused(std::string* error) const {
  std::set<std::string> names;
  if (dir.empty()) return names;
  std::string text;
  if (auto e = readSmallFile(dir + "/" + kPausedFile, text)) {
    if (error) *error = *e;
    return names;
  }
  if (text.empty()) return names;
  auto root = common::parseJsonObject(text);
  const common::JsonArray* list = root ? common::jsonArray(*root, "paused") : nullptr;
  if (list == nullptr) {
    if (error) *error = dir + "/" + kPausedFile + ": not {\"paused\":[...]}";
    return names;
  }
  for (const auto& item : *list) {
    if (auto name = item.stringView(); name && validAccountName(std::string(*name))) names.insert(std::string(*name));
  }
  return names;
}

std::optional<std::string> AccountStateFiles::savePaused(const std::set<std::string>& names) const {
  if (dir.empty()) return std::nullopt;
  common::JsonWriter w;
  w.beginObject().key("paused").beginArray();
  for (const auto& n : names) w.value(n);
  w.endArray().endObject();
  return writeFileAtomic0600(dir, kPausedFile, w.take() + "\n");
}

std::map<std::string, int64_t> AccountStateFiles::loadCooling(std::string* error) const {
  std::map<std::string, int64_t> out;
  if (dir.empty()) return out;
  std::string text;
  if (auto e = readSmallFile(dir + "/" + kCoolingFile, text)) {
    if (error) *error = *e;
    return out;
  }
  if (text.empty()) return out;
  auto root = common::parseJsonObject(text);
  const common::JsonObject* map = root ? common::jsonObject(*root, "cooling") : nullptr;
  if (map == nullptr) {
    if (error) *error = dir + "/" + kCoolingFile + ": not {\"cooling\":{...}}";
    return out;
  }
  for (const auto& m : *map) {
    auto until = m.value.getInt64();
    if (until && *until > 0 && validAccountName(m.key)) out[m.key] = *until;
  }
  return out;
}

std::optional<std::string> AccountStateFiles::saveCooling(const std::map<std::string, int64_t>& until_ms) const {
  if (dir.empty()) return std::nullopt;
  common::JsonWriter w;
  w.beginObject().key("cooling").beginObject();
  for (const auto& [name, until] : until_ms) w.member(name, until);
  w.endObject().endObject();
  return writeFileAtomic0600(dir, kCoolingFile, w.take() + "\n");
}

}  // namespace cosp::supervisor
