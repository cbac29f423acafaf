#pragma once
// Optimizer ops: in-place multi-tensor updates, never recorded on the tape.
#include <vector>

#include "kernels/optim.h"
#include "runtime/tensor.h"

namespace lvk {

// The constant part of an Adam/AdamW update: learning-rate schedule, betas, decay, clipping.
using AdamHyper = kernels::AdamHyper;

// sqrt(sum of squares of every tensor), one deterministic pass; a one-element f32 tensor on the
// tensors' device (they must share it). Empty list: 0 on the CPU.
Tensor global_norm(const std::vector<Tensor>& tensors);

// One fused Adam/AdamW step over every (param, grad, m, v) quadruple: one kernel launch on CUDA.
// grad_norm (one element, nullable) feeds clipping when h.max_grad_norm > 0. Shapes must match
// per quadruple; every tensor f32 on one device.
void adam_update_(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& m,
                  const std::vector<Tensor>& v, const AdamHyper& h, const Tensor& grad_norm);

}  // namespace lvk
