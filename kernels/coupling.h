#pragma once
// Affine coupling (RealNVP). Per row n and feature j, with the mask m[j] (1 = passed through,
// 0 = transformed) and a bounded log-scale s = scale * tanh(s_raw):
//   forward  y = m x + (1 - m) (x exp(s) + t),      logdet[n] = sum_j (1 - m) s
//   inverse  x = m y + (1 - m) (y - t) exp(-s),     logdet[n] = -sum_j (1 - m) s   (of the inverse)
// Each direction, and each backward, is one pass over the row; logdet is reduced in a fixed order.
// The conditioner producing s_raw and t from m x lives outside (an MLP on the tape), so dx here is
// the direct path only.
#include "kernels/twins.h"

namespace lvk::kernels {

#define LVK_COUPLING_DECLS(...)                                                                                    \
  void coupling_forward(float* y /* [N, D] */, float* logdet /* [N] */, const float* x /* [N, D] */,               \
                        const float* mask /* [D] */, const float* s_raw /* [N, D] */, const float* t /* [N, D] */, \
                        float scale, index_t n, index_t d __VA_ARGS__);                                            \
  void coupling_inverse(float* x /* [N, D] */, float* logdet /* [N] */, const float* y /* [N, D] */,               \
                        const float* mask /* [D] */, const float* s_raw /* [N, D] */, const float* t /* [N, D] */, \
                        float scale, index_t n, index_t d __VA_ARGS__);                                            \
  /* Backward of coupling_forward: dx, ds_raw, dt written (=); dlogdet may be null (no gradient). */               \
  void coupling_forward_backward(float* dx, float* ds_raw, float* dt, const float* dy /* [N, D] */,                \
                                 const float* dlogdet /* [N] or null */, const float* x, const float* mask,        \
                                 const float* s_raw, float scale, index_t n, index_t d __VA_ARGS__);               \
  /* Backward of coupling_inverse: dy, ds_raw, dt written (=); dlogdet may be null. */                             \
  void coupling_inverse_backward(float* dy, float* ds_raw, float* dt, const float* dx /* [N, D] */,                \
                                 const float* dlogdet /* [N] or null */, const float* y, const float* mask,        \
                                 const float* s_raw, const float* t, float scale, index_t n, index_t d __VA_ARGS__);

namespace cpu {
LVK_COUPLING_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_COUPLING_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_COUPLING_DECLS

}  // namespace lvk::kernels
