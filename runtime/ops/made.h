#pragma once
// The fused sampling direction of one MAF layer with a MADE conditioner (kernels/made.h): one
// launch per call however large D is. The weights come already masked (models/made.h builds the
// masks). Sampling only: it throws when a recording tape wants gradients of its inputs, because it
// has no backward (train in the density direction, which is the masked `linear` layers followed by
// `coupling_inverse` with an all-zero mask, all recorded).
#include <vector>

#include "kernels/made.h"
#include "runtime/tensor.h"

namespace lvk {

using kernels::kMadeMaxHidden;

struct MadeTensors {
  Tensor order;                     // i32 [D]: the dimension produced at step t
  Tensor w_in, b_in;                // [H, D], [H]
  std::vector<Tensor> w_hidden;     // each [H, H]
  std::vector<Tensor> b_hidden;     // each [H]
  Tensor w_shift, b_shift;          // [D, H], [D]
  Tensor w_log_scale, b_log_scale;  // [D, H], [D]: alpha_raw
};

struct MadeInverseResult {
  Tensor x;       // [N, D]
  Tensor logdet;  // [N]: log |det| of the sampling map, sum_i alpha_i
};

// x = g(u) with alpha = scale * tanh(alpha_raw); u [N, D]; H <= kMadeMaxHidden (512).
MadeInverseResult made_inverse(const Tensor& u, const MadeTensors& made, float scale);

}  // namespace lvk
