#pragma once
// ActNorm (Glow): a per-feature affine map y = x exp(log_scale) + bias on rows of [rows, cols],
// its inverse, and the elementwise part of its backward (the column sums that finish the parameter
// gradients are kernels/nn.h column_sum, deterministic).
#include "kernels/twins.h"

namespace lvk::kernels {

#define LVK_ACTNORM_DECLS(...)                                                                                        \
  /* inverse = false: y = x exp(ls) + b; inverse = true: y = (x - b) exp(-ls). y may alias x. */                      \
  void actnorm_apply(float* y /* [rows, cols] */, const float* x /* [rows, cols] */,                                  \
                     const float* log_scale /* [cols] */, const float* bias /* [cols] */, index_t rows, index_t cols, \
                     bool inverse __VA_ARGS__);                                                                       \
  /* Backward of actnorm_apply. Forward map: din = dout exp(ls), dscaled = dout in exp(ls) (t = the                   \
     input); then dls = colsum(dscaled), db = colsum(dout). Inverse map: din = dout exp(-ls),                         \
     dscaled = dout out (t = the output); then dls = -colsum(dscaled), db = -colsum(din). */                          \
  void actnorm_backward(float* din /* [rows, cols] */, float* dscaled /* [rows, cols] */,                             \
                        const float* dout /* [rows, cols] */, const float* t /* [rows, cols] */,                      \
                        const float* log_scale /* [cols] */, index_t rows, index_t cols, bool inverse __VA_ARGS__);

namespace cpu {
LVK_ACTNORM_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_ACTNORM_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_ACTNORM_DECLS

}  // namespace lvk::kernels
