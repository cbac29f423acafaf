// Tensor bridges of the .npy reader/writer (kept apart from npy.cpp so that the parser builds
// alone, e.g. for the libFuzzer target).
#include <cstring>

#include "runtime/io/npy.h"

namespace lvk::io {

Tensor read_npy_tensor(const std::string& path, Device device) {
  const NpyArray a = read_npy(path);
  LVK_CHECK(a.shape.size() >= 1 && a.shape.size() <= 5, "read_npy: ", path, ": rank ", a.shape.size(),
            " is not supported (expected 1 to 5 dimensions)");
  const Shape shape(a.shape);
  const size_t n = static_cast<size_t>(a.numel());
  if (a.dtype == NpyDType::i32) {
    std::vector<int32_t> v(n);
    std::memcpy(v.data(), a.data.data(), n * 4);
    return Tensor::from_vector(v, shape, device);
  }
  std::vector<float> v(n);
  if (a.dtype == NpyDType::f32)
    std::memcpy(v.data(), a.data.data(), n * 4);
  else
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(a.data[i]);
  return Tensor::from_vector(v, shape, device);
}

void write_npy(const std::string& path, const Tensor& t) {
  check_defined("write_npy", "tensor", t);
  std::vector<int64_t> shape;
  for (int i = 0; i < t.rank(); ++i) shape.push_back(t.dim(i));
  if (t.dtype() == DType::i32) {
    const std::vector<int32_t> v = t.to_vector<int32_t>();
    write_npy(path, NpyDType::i32, shape, v.data());
    return;
  }
  LVK_CHECK(t.dtype() == DType::f32, "write_npy: ", path, ": only f32 and i32 tensors can be written, got ", t.str());
  const std::vector<float> v = t.to_vector<float>();
  write_npy(path, NpyDType::f32, shape, v.data());
}

}  // namespace lvk::io
