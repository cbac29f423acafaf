#pragma once
// NumPy .npy files (format versions 1.0 and 2.0): little-endian f32 ('<f4'), i32 ('<i4') and u8
// ('|u1'), C order. The reader checks everything before trusting it: magic, version, header
// length and dict syntax, dtype, order, shape (non-negative, no overflow) and that the data size
// matches the file size exactly; each error names the file and the problem. The writer goes
// through io::AtomicFile (temp file, fsync, rename).
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace lvk::io {

enum class NpyDType { f32, i32, u8 };
const char* npy_dtype_name(NpyDType t);

struct NpyArray {
  NpyDType dtype = NpyDType::f32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // numel * item size bytes, little-endian, C order
  int64_t numel() const;
};

NpyArray read_npy(const std::string& path);
// Parses the bytes of a whole .npy file; `name` is used in error messages (the fuzz entry point).
NpyArray parse_npy(const uint8_t* bytes, size_t size, const std::string& name);
void write_npy(const std::string& path, NpyDType dtype, const std::vector<int64_t>& shape, const void* data);

// Tensor bridges: f32 -> f32 and i32 -> i32 (u8 is widened to f32); rank 1..5.
Tensor read_npy_tensor(const std::string& path, Device device = Device::cpu());
// Writes an f32 or i32 tensor from any device.
void write_npy(const std::string& path, const Tensor& t);

}  // namespace lvk::io
