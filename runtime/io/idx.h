#pragma once
// IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed: magic 00 00 <type> <rank>,
// rank big-endian u32 dims, then the elements. Only unsigned-byte arrays (type 0x08) are
// accepted: that is what the datasets ship.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lvk::io {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // row-major, product(dims) bytes
};

// Decompresses when the bytes start with the gzip magic; the decompressed size is capped at
// max_bytes so a hostile archive cannot exhaust memory.
IdxArray parse_idx(const uint8_t* bytes, size_t size, const std::string& source, size_t max_bytes = size_t{1} << 32);
IdxArray read_idx(const std::string& path);

// gzip (or zlib) stream -> bytes, at most max_bytes. Throws naming `source` on corrupt or truncated
// input.
std::vector<uint8_t> gunzip(const uint8_t* bytes, size_t size, const std::string& source, size_t max_bytes);

}  // namespace lvk::io
