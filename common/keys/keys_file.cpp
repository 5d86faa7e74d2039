#include "common/keys/keys_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "common/json/json_parser.h"
#include "common/json/json_writer.h"
#include "common/util/http_syntax.h"

namespace cosp::common::keys {

bool operator==(const KeyEntry& a, const KeyEntry& b) {
  return a.name == b.name && a.sha256 == b.sha256 && a.models == b.models && a.accounts == b.accounts &&
         a.rpm == b.rpm && a.tpm == b.tpm && a.daily_tokens == b.daily_tokens && a.monthly_tokens == b.monthly_tokens &&
         a.max_concurrent == b.max_concurrent && a.expires_at == b.expires_at &&
         a.forward_quota_headers == b.forward_quota_headers && a.disabled == b.disabled;
}

Digest sha256(std::string_view data) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  return d;
}

std::string generateKey() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "csp-";
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  OPENSSL_cleanse(bytes, sizeof bytes);
  return out;
}

std::string toHex(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<Digest> digestFromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Digest d{};
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = common::hexDigitValue(hex[2 * i]);
    int lo = common::hexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return d;
}

std::optional<std::int64_t> parseRfc3339(std::string_view s) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, hour) ||
      s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t = ::timegm(&tm);
  if (tm.tm_mday != day) return std::nullopt;  // 31 February and the like normalise away
  return static_cast<std::int64_t>(t) - offset;
}

bool validKeyName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

std::string where(std::size_t index, const std::string& name, std::string_view field) {
  std::string out = "keys[" + std::to_string(index) + "]";
  if (!name.empty()) out += " (\"" + name + "\")";
  if (!field.empty()) out += " field \"" + std::string(field) + "\"";
  return out;
}

Result<KeyEntry, std::string> parseEntry(const JsonValue& value, std::size_t index) {
  const JsonObject* object = value.getObject();
  if (object == nullptr) return where(index, "", "") + ": must be an object";
  KeyEntry entry;
  // The name first, so every later message can name the key.
  if (const JsonValue* name = value.find("name")) {
    auto text = name->stringView();
    if (!text) return where(index, "", "name") + ": must be a string";
    if (!validKeyName(*text)) return where(index, "", "name") + ": must match [A-Za-z0-9_.-]{1,64}";
    entry.name = std::string(*text);
  } else {
    return where(index, "", "name") + ": is required";
  }
  bool has_digest = false;
  std::unordered_set<std::string> seen;
  for (const JsonMember& member : *object) {
    const std::string& field = member.key;
    const JsonValue& v = member.value;
    auto fail = [&](const std::string& what) { return where(index, entry.name, field) + ": " + what; };
    if (!seen.insert(field).second) return fail("appears twice");
    if (field == "name") continue;
    if (field == "sha256") {
      auto text = v.stringView();
      auto digest = text ? digestFromHex(*text) : std::nullopt;
      if (!digest) return fail("must be 64 hexadecimal digits (the SHA-256 of the key)");
      entry.sha256 = *digest;
      has_digest = true;
    } else if (field == "models" || field == "accounts") {
      const JsonArray* items = v.getArray();
      if (items == nullptr) return fail("must be an array of strings");
      auto& out = field == "models" ? entry.models : entry.accounts;
      for (const JsonValue& item : *items) {
        auto text = item.stringView();
        if (!text || text->empty()) return fail("must be an array of non-empty strings");
        out.emplace_back(*text);
      }
    } else if (field == "rpm" || field == "tpm" || field == "daily_tokens" || field == "monthly_tokens" ||
               field == "max_concurrent") {
      auto number = v.getInt64();
      if (!number || *number < 0 || (v.rawDouble() != nullptr)) return fail("must be a non-negative integer");
      std::optional<std::int64_t>* slot = field == "rpm"              ? &entry.rpm
                                          : field == "tpm"            ? &entry.tpm
                                          : field == "daily_tokens"   ? &entry.daily_tokens
                                          : field == "monthly_tokens" ? &entry.monthly_tokens
                                                                      : &entry.max_concurrent;
      *slot = *number;
    } else if (field == "expires_at") {
      auto text = v.stringView();
      auto when = text ? parseRfc3339(*text) : std::nullopt;
      if (!when) return fail("must be an RFC 3339 date-time such as 2026-12-31T23:59:59Z");
      entry.expires_at = *when;
      entry.expires_at_text = std::string(*text);
    } else if (field == "forward_quota_headers" || field == "disabled") {
      auto flag = v.getBool();
      if (!flag) return fail("must be true or false");
      if (field == "disabled")
        entry.disabled = *flag;
      else
        entry.forward_quota_headers = *flag;
    } else {
      return fail("is not a known field");
    }
  }
  if (!has_digest) return where(index, entry.name, "sha256") + ": is required";
  return entry;
}

}  // namespace

Result<KeysFile, std::string> parseKeysFile(std::string_view text) {
  auto parsed = parseJson(text);
  if (!parsed)
    return "not valid JSON: " + parsed.error().message + " at offset " + std::to_string(parsed.error().offset);
  const JsonValue& root = *parsed;
  const JsonObject* object = root.getObject();
  if (object == nullptr) return std::string("must be a JSON object {\"keys\":[…]}");
  for (const JsonMember& member : *object)
    if (member.key != "keys") return "unknown top-level field \"" + member.key + "\"";
  const JsonValue* keys = root.find("keys");
  if (keys == nullptr || keys->getArray() == nullptr) return std::string("\"keys\" must be an array");
  KeysFile file;
  std::unordered_set<std::string> names;
  std::unordered_set<std::string> digests;
  const JsonArray& items = *keys->getArray();
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto entry = parseEntry(items[i], i);
    if (!entry) return entry.takeError();
    if (!names.insert(entry->name).second) return where(i, entry->name, "name") + ": another key has this name";
    std::string raw(entry->sha256.begin(), entry->sha256.end());
    if (!digests.insert(raw).second) return where(i, entry->name, "sha256") + ": another key has this digest";
    file.keys.push_back(std::move(entry).value());
  }
  return file;
}

Result<KeysFile, std::string> loadKeysFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return "cannot stat " + path + ": " + std::strerror(err);
  }
  unsigned mode = st.st_mode & 07777;
  if (mode != 0600 && mode != 0640) {
    ::close(fd);
    std::ostringstream text;
    text << path << ": mode is 0" << std::oct << mode << "; it must be 0600 or 0640 (chmod 600 " << path << ")";
    return text.str();
  }
  std::string content;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return "cannot read " + path + ": " + std::strerror(err);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > (64u << 20)) {
      ::close(fd);
      return path + ": larger than 64 MiB";
    }
  }
  ::close(fd);
  auto parsed = parseKeysFile(content);
  if (!parsed) return path + ": " + parsed.error();
  return parsed;
}

std::string serializeKeysFile(const KeysFile& file) {
  JsonArray keys;
  for (const KeyEntry& e : file.keys) {
    JsonValue k = JsonValue::object();
    k.set("name", e.name);
    k.set("sha256", toHex(e.sha256));
    auto list = [](const std::vector<std::string>& items) {
      JsonArray out;
      for (const auto& s : items) out.emplace_back(s);
      return JsonValue(std::move(out));
    };
    if (!e.models.empty()) k.set("models", list(e.models));
    if (!e.accounts.empty()) k.set("accounts", list(e.accounts));
    if (e.rpm) k.set("rpm", static_cast<long long>(*e.rpm));
    if (e.tpm) k.set("tpm", static_cast<long long>(*e.tpm));
    if (e.daily_tokens) k.set("daily_tokens", static_cast<long long>(*e.daily_tokens));
    if (e.monthly_tokens) k.set("monthly_tokens", static_cast<long long>(*e.monthly_tokens));
    if (e.max_concurrent) k.set("max_concurrent", static_cast<long long>(*e.max_concurrent));
    if (e.expires_at) k.set("expires_at", e.expires_at_text);
    if (e.forward_quota_headers) k.set("forward_quota_headers", *e.forward_quota_headers);
    if (e.disabled) k.set("disabled", true);
    keys.push_back(std::move(k));
  }
  JsonValue root = JsonValue::object();
  root.set("keys", JsonValue(std::move(keys)));
  return toPrettyJson(root) + "\n";
}

std::optional<std::string> writeFileAtomically(const std::string& path, std::string_view text, unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return "cannot create " + tmp + ": " + std::strerror(errno);
  auto fail = [&](const char* what) {
    std::string message = std::string(what) + " " + tmp + ": " + std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return message;
  };
  // fchmod: the mode must not depend on the umask.
  if (::fchmod(fd, mode) != 0) return fail("cannot chmod");
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync");
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string message = "cannot rename onto " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return message;
  }
  return std::nullopt;
}

std::size_t KeyTable::DigestHash::operator()(const Digest& d) const noexcept {
  // The digest is already uniformly distributed: its first 8 bytes are a good hash.
  std::size_t h = 0;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

KeyTable::KeyTable(std::vector<KeyEntry> entries) : entries_(std::move(entries)) {
  for (std::size_t i = 0; i < entries_.size(); ++i) by_digest_.emplace(entries_[i].sha256, i);
}

std::optional<std::size_t> KeyTable::find(std::string_view presented) const {
  if (presented.empty()) return std::nullopt;
  Digest digest = sha256(presented);
  auto it = by_digest_.find(digest);
  if (it == by_digest_.end()) return std::nullopt;
  // The map compared with ==; confirm in constant time all the same (cheap, and keeps the
  // comparison's timing independent of the matched prefix whatever the map does inside).
  if (CRYPTO_memcmp(entries_[it->second].sha256.data(), digest.data(), digest.size()) != 0) return std::nullopt;
  return it->second;
}

std::optional<std::size_t> KeyTable::findByName(std::string_view name) const {
  for (std::size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].name == name) return i;
  return std::nullopt;
}

}  // namespace cosp::common::keys
