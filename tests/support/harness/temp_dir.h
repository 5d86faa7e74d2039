#pragma once

#include <string>

namespace cosp::test {

// A fresh directory under /tmp, removed with its contents on destruction. Short paths on purpose:
// AF_UNIX socket paths must fit in 107 bytes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string readFile(const std::string& path);
void writeFile(const std::string& path, const std::string& content);

}  // namespace cosp::test
