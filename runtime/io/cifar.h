#pragma once
// CIFAR-10 binary batches (data_batch_N.bin, test_batch.bin): records of 1 label byte (0..9)
// followed by 3072 pixel bytes, channel-planar R, G, B of 32x32.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lvk::io {

constexpr int kCifarSide = 32, kCifarChannels = 3, kCifarClasses = 10;
constexpr size_t kCifarImageBytes = size_t(kCifarChannels) * kCifarSide * kCifarSide;
constexpr size_t kCifarRecordBytes = 1 + kCifarImageBytes;

struct CifarBatch {
  int64_t count = 0;
  std::vector<uint8_t> images;  // [count, 3, 32, 32]
  std::vector<uint8_t> labels;  // [count]
};

CifarBatch parse_cifar10(const uint8_t* bytes, size_t size, const std::string& source);
CifarBatch read_cifar10(const std::string& path);

}  // namespace lvk::io
