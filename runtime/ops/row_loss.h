#pragma once
// Per-example sums of an elementwise loss, for evaluation: log p(x|z) of every row of a decoded
// batch (importance weights, reconstruction terms) needs one figure per row, where the training
// losses (runtime/ops/nn.h) reduce to a scalar. Reuses the loss-term kernels of kernels/nn.h and a
// matmul against a ones vector for the row sums, so both devices run the same twins. Not recorded.
#include "kernels/nn_math.h"
#include "runtime/tensor.h"

namespace lvk {

// Which per-element loss a row sums (kernels/nn_math.h).
using LossKind = kernels::LossKind;

// a, b f32 of one shape [R, ...] on one device -> [R]: sum over each row of
// loss_term(kind, a, b, param) (kernels/nn_math.h: a = logits and b = target for bce_logits,
// a = x and b = mean for gaussian_nll_fixed with param = log sigma^2). kind gaussian_nll (learned
// elementwise variance) is not supported here.
Tensor row_loss(LossKind kind, const Tensor& a, const Tensor& b, float param = 0.0f);

}  // namespace lvk
