#pragma once
// What every op implementation (runtime/ops/*.cpp) uses: the one dispatch point between CPU and
// CUDA twins, and the scope that names the op for NVTX.
//
// An op, in order: OpScope; shape/dtype/device checks (lvk::Error naming the op and both shapes);
// allocate outputs; LVK_DISPATCH to the twin for the tensors' device; when Tape::wants(inputs),
// record the hand-written backward.
#include "runtime/context.h"
#include "runtime/nvtx.h"
#include "runtime/tape.h"
#include "runtime/tensor.h"

#if LVK_WITH_CUDA
#include "runtime/cuda_context.h"
#endif

namespace lvk {

class OpScope {
 public:
  explicit OpScope(const char* name) : name_(name), range_(name) {}
  const char* name() const { return name_; }

 private:
  const char* name_;
  NvtxRange range_;
};

// The f32 data of an optional tensor: nullptr when it is undefined (kernels take nullable
// pointers for optional inputs, outputs and workspaces).
inline float* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<float>() : nullptr;
}

namespace detail {
[[noreturn]] inline void no_cuda_backend(const char* kernel) {
  fail(kernel, ": no usable CUDA device: ", cuda_status().reason);
}
}  // namespace detail

}  // namespace lvk

// Calls kernels::cpu::fn(args...) or kernels::cuda::fn(args..., stream) by `device`.
#if LVK_WITH_CUDA
#define LVK_DISPATCH(device, fn, ...)                                                \
  ((device).is_cuda() ? ::lvk::kernels::cuda::fn(__VA_ARGS__, ::lvk::cuda::stream()) \
                      : ::lvk::kernels::cpu::fn(__VA_ARGS__))
#else
#define LVK_DISPATCH(device, fn, ...) \
  ((device).is_cuda() ? ::lvk::detail::no_cuda_backend(#fn) : ::lvk::kernels::cpu::fn(__VA_ARGS__))
#endif
