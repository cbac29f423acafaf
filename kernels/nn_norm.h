#pragma once
// GroupNorm on NCHW: statistics per (image, group) over (c / groups) x hw values, then a per-
// channel affine. CPU twins in cpu/nn_norm.cpp, CUDA twins in cuda/nn_norm.cu. Every reduction
// runs in a fixed order (one block per statistic, partials reduced in index order).
#include "kernels/twins.h"

namespace lvk::kernels {

#define LVK_NORM_DECLS(...)                                                                                           \
  /* y = (x - mean) * rstd * gamma + beta; mean/rstd [n, groups] are saved for the backward */                        \
  void group_norm_forward(float* y /* [n, c, hw] */, float* mean /* [n, g] */, float* rstd /* [n, g] */,              \
                          const float* x /* [n, c, hw] */, const float* gamma /* [c] */, const float* beta /* [c] */, \
                          index_t n, index_t c, index_t hw, index_t groups, float eps __VA_ARGS__);                   \
  /* dx (nullable, written), dgamma/dbeta (nullable, written) */                                                      \
  void group_norm_backward(float* dx /* [n, c, hw] */, float* dgamma /* [c] */, float* dbeta /* [c] */,               \
                           const float* dy /* [n, c, hw] */, const float* x /* [n, c, hw] */,                         \
                           const float* mean /* [n, g] */, const float* rstd /* [n, g] */,                            \
                           const float* gamma /* [c] */, index_t n, index_t c, index_t hw, index_t groups,            \
                           float* workspace /* [2 n c] */ __VA_ARGS__);

namespace cpu {
LVK_NORM_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_NORM_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_NORM_DECLS

}  // namespace lvk::kernels
