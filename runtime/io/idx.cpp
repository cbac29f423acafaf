#include "runtime/io/idx.h"

#include <zlib.h>

#include <algorithm>

#include "base/error.h"
#include "runtime/io/atomic_file.h"

namespace lvk::io {

std::vector<uint8_t> gunzip(const uint8_t* bytes, size_t size, const std::string& source, size_t max_bytes) {
  z_stream zs{};
  // 32 + MAX_WBITS: accept gzip or zlib headers.
  LVK_CHECK(inflateInit2(&zs, 32 + MAX_WBITS) == Z_OK, "gunzip ", source, ": zlib initialisation failed");
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 16);
  size_t consumed = 0;
  int rc = Z_OK;
  std::string error;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0) {
      const size_t take = std::min<size_t>(size - consumed, 1u << 30);
      zs.next_in = const_cast<Bytef*>(bytes + consumed);
      zs.avail_in = static_cast<uInt>(take);
      consumed += take;
    }
    zs.next_out = chunk.data();
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      if (rc == Z_BUF_ERROR && zs.avail_in == 0 && consumed == size)
        error = "truncated gzip stream";
      else
        error = std::string("corrupt gzip stream (") + (zs.msg ? zs.msg : "zlib error " + std::to_string(rc)) + ")";
      break;
    }
    const size_t produced = chunk.size() - zs.avail_out;
    if (out.size() + produced > max_bytes) {
      error = "decompressed size exceeds the limit of " + std::to_string(max_bytes) + " bytes";
      break;
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(produced));
    if (rc == Z_OK && produced == 0 && zs.avail_in == 0 && consumed == size) {
      error = "truncated gzip stream";
      break;
    }
  }
  inflateEnd(&zs);
  LVK_CHECK(error.empty(), "gunzip ", source, ": ", error);
  return out;
}

IdxArray parse_idx(const uint8_t* bytes, size_t size, const std::string& source, size_t max_bytes) {
  std::vector<uint8_t> inflated;
  if (size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
    inflated = gunzip(bytes, size, source, max_bytes);
    bytes = inflated.data();
    size = inflated.size();
  }
  LVK_CHECK(size >= 4, "idx ", source, ": truncated: ", size, " bytes, need a 4-byte magic");
  LVK_CHECK(bytes[0] == 0 && bytes[1] == 0, "idx ", source, ": bad magic (first two bytes must be 0)");
  LVK_CHECK(bytes[2] == 0x08, "idx ", source, ": element type 0x", std::hex, int(bytes[2]), std::dec,
            " is not supported, expected 0x08 (unsigned byte)");
  const int rank = bytes[3];
  LVK_CHECK(rank >= 1 && rank <= 8, "idx ", source, ": rank ", rank, " out of range 1..8");
  LVK_CHECK(size >= 4 + 4 * size_t(rank), "idx ", source, ": truncated: ", size, " bytes cannot hold ", rank,
            " dimensions");
  IdxArray a;
  uint64_t numel = 1;
  for (int d = 0; d < rank; ++d) {
    const uint8_t* p = bytes + 4 + 4 * d;
    const uint64_t dim = (uint64_t(p[0]) << 24) | (uint64_t(p[1]) << 16) | (uint64_t(p[2]) << 8) | p[3];
    LVK_CHECK(!__builtin_mul_overflow(numel, dim, &numel) && numel <= max_bytes, "idx ", source,
              ": shape product overflows or exceeds the limit of ", max_bytes, " bytes at dimension ", d);
    a.dims.push_back(static_cast<int64_t>(dim));
  }
  const size_t header = 4 + 4 * size_t(rank);
  const size_t payload = size - header;
  LVK_CHECK(payload >= numel, "idx ", source, ": truncated: shape needs ", numel, " bytes but ", payload,
            " follow the header");
  LVK_CHECK(payload == numel, "idx ", source, ": ", payload - numel, " trailing bytes after ", numel, " bytes of data");
  a.data.assign(bytes + header, bytes + header + numel);
  return a;
}

IdxArray read_idx(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return parse_idx(bytes.data(), bytes.size(), path);
}

}  // namespace lvk::io
