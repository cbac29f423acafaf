#pragma once
// The DLPack boundary: caller arrays (numpy, PyTorch, CuPy, JAX, anything with __dlpack__) become
// lvk Tensors that borrow their memory, and lvk Tensors leave as arrays that own a handle to
// theirs. Nothing is copied either way. Every check names the argument.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <optional>

#include "runtime/tensor.h"

#if LVK_WITH_CUDA
#include "runtime/cuda_context.h"
#endif

namespace lvkpy {

namespace nb = nanobind;

// A float32 or int32, C-contiguous array on the CPU or a usable CUDA device, viewed as a Tensor.
// Raises TypeError (not an array, wrong dtype) or ValueError (strides, device) naming `arg` of `fn`.
lvk::Tensor borrow(const char* fn, const char* arg, nb::handle array, lvk::DType dtype);
// Same, for an optional argument: None gives an undefined Tensor.
lvk::Tensor borrow_optional(const char* fn, const char* arg, nb::handle array, lvk::DType dtype);

// The array that carries `t` out (DLPack producer, no copy); None for an undefined tensor.
nb::object to_array(const lvk::Tensor& t);

// ValueError unless every defined tensor is on one device; returns that device.
lvk::Device common_device(const char* fn, std::initializer_list<lvk::Tensor> tensors);

// Runs the calling thread's lvk work on the caller's CUDA stream (a cudaStream_t as an integer)
// while alive; a no-op for CPU tensors and without CUDA.
class CallerStream {
 public:
  CallerStream(const lvk::Device& device, std::optional<uintptr_t> stream);

 private:
#if LVK_WITH_CUDA
  std::optional<lvk::cuda::StreamScope> scope_;
#endif
};

}  // namespace lvkpy
