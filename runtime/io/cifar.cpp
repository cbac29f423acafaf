#include "runtime/io/cifar.h"

#include "base/error.h"
#include "runtime/io/atomic_file.h"

namespace lvk::io {

CifarBatch parse_cifar10(const uint8_t* bytes, size_t size, const std::string& source) {
  LVK_CHECK(size > 0, "cifar10 ", source, ": empty file");
  LVK_CHECK(size % kCifarRecordBytes == 0, "cifar10 ", source, ": size ", size, " is not a multiple of the ",
            kCifarRecordBytes, "-byte record (truncated or not a CIFAR-10 batch; CIFAR-100 records are 3074 bytes)");
  CifarBatch b;
  b.count = static_cast<int64_t>(size / kCifarRecordBytes);
  b.images.resize(static_cast<size_t>(b.count) * kCifarImageBytes);
  b.labels.resize(static_cast<size_t>(b.count));
  for (int64_t i = 0; i < b.count; ++i) {
    const uint8_t* rec = bytes + static_cast<size_t>(i) * kCifarRecordBytes;
    LVK_CHECK(rec[0] < kCifarClasses, "cifar10 ", source, ": record ", i, " has label ", int(rec[0]),
              ", expected 0..9");
    b.labels[static_cast<size_t>(i)] = rec[0];
    std::copy(rec + 1, rec + kCifarRecordBytes, b.images.begin() + static_cast<std::ptrdiff_t>(i * kCifarImageBytes));
  }
  return b;
}

CifarBatch read_cifar10(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path, size_t{1} << 32);
  return parse_cifar10(bytes.data(), bytes.size(), path);
}

}  // namespace lvk::io
