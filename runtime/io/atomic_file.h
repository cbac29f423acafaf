#pragma once
// Crash-safe file output shared by every writer (safetensors, npy, PNG, checkpoints): the bytes go
// to a temporary file in the destination's directory, which is fsynced and then renamed over the
// destination, and the directory is fsynced so the rename itself is durable. A crash at any point
// leaves either the old file or the new one, never a torn mix.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lvk::io {

class AtomicFile {
 public:
  // Creates "<dir>/.<name>.tmp.<pid>.<n>" next to `path`. Throws lvk::Error naming the path.
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded; never throws
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Throws naming the path on failure. A file-size limit (ulimit -f) is reported as such, provided
  // SIGXFSZ is ignored (the lvk binary does so) rather than killing the process.
  void write(const void* data, size_t bytes);
  // fsync, close, rename over the destination, fsync the directory.
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Removes the temporary files that AtomicFile writers left in `dir` when they were killed: names of
// the form ".<name>.tmp.<pid>.<n>" whose process <pid> no longer exists. A temp file of a live
// process (another run writing into the same folder) is left alone. Returns the paths removed.
std::vector<std::string> remove_stale_temp_files(const std::string& dir);

// One-shot form of AtomicFile.
void write_file_atomic(const std::string& path, const void* data, size_t bytes);

// Reads a whole file. Throws lvk::Error naming the file when it cannot be opened or read, or when
// it is larger than max_bytes (a guard against reading an unexpected multi-gigabyte file).
std::vector<uint8_t> read_file(const std::string& path, size_t max_bytes = size_t{1} << 36);

}  // namespace lvk::io
