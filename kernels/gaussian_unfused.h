#pragma once
// The Gaussian sampler as a PyTorch user writes it in eager mode, one pass per operation: eps with
// the fused sampler's noise layout (kernels/stochastic_math.h), then sigma = exp(clamp(logvar)/2);
// z = mu + sigma eps and the KL are left to the caller's elementwise passes. The benchmark baseline
// that kernels/gaussian.h's fused sampler is measured against in the same run. CPU twins in
// cpu/gaussian_unfused.cpp, CUDA twins in cuda/gaussian_unfused.cu.
#include "kernels/twins.h"

namespace lvk::kernels {

#define LVK_GAUSSIAN_UNFUSED_DECLS(...)                                                                     \
  void gaussian_noise(float* eps /* [count] */, index_t count, uint64_t seed, uint64_t offset __VA_ARGS__); \
  void gaussian_std(float* sigma /* [count] */, const float* logvar /* [count] */, index_t count __VA_ARGS__);

namespace cpu {
LVK_GAUSSIAN_UNFUSED_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_GAUSSIAN_UNFUSED_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_GAUSSIAN_UNFUSED_DECLS

}  // namespace lvk::kernels
