#pragma once
// The categorical negative log-likelihood of integer targets under logits, fused in one row pass
// (log-sum-exp with the max subtracted): the loss of an autoregressive prior over code maps.
// Kernels and edge cases (masked -inf logits): kernels/categorical_nll.h.
#include "runtime/tensor.h"

namespace lvk {

// logits f32 [N, K] (K >= 1), target i32 [N] on one device -> f32 [N]: -log softmax(logits)[target]
// per row. A target outside [0, K) is an lvk::Error on the CPU; on CUDA (checking would need a
// host round trip) its row's nll is NaN, which the trainer's non-finite guard catches. Recorded:
// dlogits = (softmax(logits) - onehot(target)) * dnll.
Tensor categorical_nll(const Tensor& logits, const Tensor& target);

}  // namespace lvk
