#pragma once
// Fused categorical negative log-likelihood: per row of logits l [K] and a target t in [0, K),
//   nll = logsumexp(l) - l[t] = -log softmax(l)[t],  logsumexp = max l + log sum exp(l - max l)
// (the max subtracted first, so a 1e4 spread of logits stays finite). The forward keeps the row's
// logsumexp so the backward, dl = (softmax(l) - onehot(t)) * dnll, is one elementwise pass.
// CPU twins in cpu/categorical_nll.cpp, CUDA twins in cuda/categorical_nll.cu, same signatures
// minus the stream.
//
// A -inf logit is a masked category (probability 0; a masked target gives nll = +inf; a row with
// every logit -inf has logsumexp -inf and nll NaN). A target
// outside [0, K) (the op rejects it on the CPU before the kernel runs) gives nll = NaN on both
// twins, never an out-of-bounds read, and its row's gradient is softmax(l) * dnll (no one-hot term).
#include "kernels/twins.h"

namespace lvk::kernels {

#define LVK_CATEGORICAL_NLL_DECLS(...)                                                                       \
  void categorical_nll_forward(float* nll /* [N] */, float* lse /* [N] */, const float* logits /* [N, K] */, \
                               const int32_t* target /* [N] */, index_t n, index_t k __VA_ARGS__);           \
  /* dlogits written (not accumulated). */                                                                   \
  void categorical_nll_backward(float* dlogits /* [N, K] */, const float* dnll /* [N] */,                    \
                                const float* logits /* [N, K] */, const float* lse /* [N] */,                \
                                const int32_t* target /* [N] */, index_t n, index_t k __VA_ARGS__);

namespace cpu {
LVK_CATEGORICAL_NLL_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_CATEGORICAL_NLL_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_CATEGORICAL_NLL_DECLS

}  // namespace lvk::kernels
