#pragma once
// The affine coupling forward as a PyTorch user writes it in eager mode, one pass per operation:
//   s = scale * tanh(s_raw); e = exp(s); y = x * e + t; y = m x + (1 - m) y; logdet = sum((1 - m) s)
// For benchmarks only: the baseline that the fused kernels/coupling.h is measured against in the
// same run. `scratch` holds three [N, D] buffers.
#include "kernels/twins.h"

namespace lvk::kernels {

namespace cpu {
void coupling_forward_unfused(float* y, float* logdet, const float* x, const float* mask, const float* s_raw,
                              const float* t, float scale, index_t n, index_t d, float* scratch /* [3, N, D] */);
}
#if LVK_WITH_CUDA
namespace cuda {
void coupling_forward_unfused(float* y, float* logdet, const float* x, const float* mask, const float* s_raw,
                              const float* t, float scale, index_t n, index_t d, float* scratch /* [3, N, D] */,
                              cudaStream_t stream);
}
#endif

}  // namespace lvk::kernels
