#pragma once
// Argument checks shared by the communicator implementations.
#include "runtime/tensor.h"

namespace lvk::dist {

// `t` is defined, f32 or i32 (f32 only when `float_only`), and on `device`.
inline void check_collective_tensor(const char* op, const Tensor& t, Device device, bool float_only = false) {
  LVK_CHECK(t.defined(), op, ": the tensor is undefined");
  LVK_CHECK(t.dtype() == DType::f32 || (!float_only && t.dtype() == DType::i32), op, ": ", t.str(),
            " has an unsupported dtype; expected f32", float_only ? "" : " or i32");
  LVK_CHECK(t.device() == device, op, ": ", t.str(), " is not on ", device.str(), ", the communicator's device");
}

// The shape of `size` copies of t stacked along dim 0.
inline Shape gathered_shape(const char* op, const Tensor& t, int size) {
  std::vector<int64_t> dims = t.shape().dims();
  LVK_CHECK(!dims.empty(), op, ": ", t.str(), " has no dim 0 to gather along");
  dims[0] *= size;
  return Shape(dims);
}

}  // namespace lvk::dist
