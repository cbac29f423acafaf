#pragma once
// Helpers for the file-format tests: a per-test temporary directory and raw file writes, so
// hostile files can be crafted byte by byte.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.h"

namespace lvk::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lvk_test_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void write_raw(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// EXPECT that `stmt` throws lvk::Error whose message contains every one of `parts`.
#define LVK_EXPECT_ERROR(stmt, ...)                                         \
  do {                                                                      \
    try {                                                                   \
      stmt;                                                                 \
      ADD_FAILURE() << "expected lvk::Error from " #stmt;                   \
    } catch (const ::lvk::Error& e) {                                       \
      for (const std::string& part : std::vector<std::string>{__VA_ARGS__}) \
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos)      \
            << "message \"" << e.what() << "\" lacks \"" << part << "\"";   \
    }                                                                       \
  } while (0)

}  // namespace lvk::test
