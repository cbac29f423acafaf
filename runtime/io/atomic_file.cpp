#include "runtime/io/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace lvk::io {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

// The two ways a write runs out of room, said in the user's terms.
std::string write_error_text(int err) {
  if (err == EFBIG) return std::string(std::strerror(err)) + " (the file-size limit, ulimit -f, was reached)";
  if (err == ENOSPC) return std::string(std::strerror(err)) + " (the disk is full)";
  return std::strerror(err);
}

constexpr const char* kTempMarker = ".tmp.";

// The writer's pid when `name` is ".<base>.tmp.<pid>.<n>", else 0.
pid_t temp_file_writer(const std::string& name) {
  if (name.size() < 2 || name[0] != '.') return 0;
  const size_t marker = name.rfind(kTempMarker);
  if (marker == std::string::npos || marker == 0) return 0;
  const std::string tail = name.substr(marker + std::strlen(kTempMarker));
  const size_t dot = tail.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == tail.size()) return 0;
  const std::string pid = tail.substr(0, dot), n = tail.substr(dot + 1);
  const auto digits = [](const std::string& s) { return s.find_first_not_of("0123456789") == std::string::npos; };
  if (!digits(pid) || !digits(n) || pid.size() > 9) return 0;
  return static_cast<pid_t>(std::stol(pid));
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Without this the rename may be lost on power failure even though the data was fsynced.
void fsync_directory(const std::string& dir, const std::string& for_path) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("write ", for_path, ": cannot open directory ", dir, " to fsync it: ", errno_text());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some filesystems (e.g. certain FUSE mounts) do not support fsync on directories.
  if (rc != 0 && err != EINVAL && err != ENOTSUP)
    fail("write ", for_path, ": fsync of directory ", dir, " failed: ", std::strerror(err));
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  LVK_CHECK(!path_.empty(), "write: empty output path");
  static std::atomic<uint64_t> counter{0};
  temp_path_ = directory_of(path_) + "/." + base_of(path_) + kTempMarker + std::to_string(::getpid()) + "." +
               std::to_string(counter.fetch_add(1));
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("write ", path_, ": cannot create temporary file ", temp_path_, ": ", errno_text());
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
  LVK_CHECK(fd_ >= 0, "write ", path_, ": file already committed");
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write ", path_, ": write to ", temp_path_, " failed: ", write_error_text(errno));
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  LVK_CHECK(fd_ >= 0, "write ", path_, ": file already committed");
  if (::fsync(fd_) != 0) fail("write ", path_, ": fsync of ", temp_path_, " failed: ", write_error_text(errno));
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) fail("write ", path_, ": close of ", temp_path_, " failed: ", write_error_text(errno));
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail("write ", path_, ": rename from ", temp_path_, " failed: ", errno_text());
  committed_ = true;
  fsync_directory(directory_of(path_), path_);
}

std::vector<std::string> remove_stale_temp_files(const std::string& dir) {
  std::vector<std::string> removed;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return removed;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    const pid_t writer = temp_file_writer(name);
    if (writer <= 0) continue;
    // kill(pid, 0) probes without signalling; EPERM means the process exists under another user.
    if (::kill(writer, 0) == 0 || errno == EPERM) continue;
    const std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) == 0) removed.push_back(path);
  }
  ::closedir(d);
  return removed;
}

void write_file_atomic(const std::string& path, const void* data, size_t bytes) {
  AtomicFile file(path);
  file.write(data, bytes);
  file.commit();
}

std::vector<uint8_t> read_file(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("read ", path, ": cannot open: ", errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("read ", path, ": not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    fail("read ", path, ": file is ", size, " bytes, more than the limit of ", max_bytes);
  }
  std::vector<uint8_t> bytes(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, bytes.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? errno_text() : "file shrank while reading";
      ::close(fd);
      fail("read ", path, ": read failed after ", done, " of ", size, " bytes: ", why);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return bytes;
}

}  // namespace lvk::io
