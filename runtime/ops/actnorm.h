#pragma once
// ActNorm: y = x exp(log_scale) + bias per feature, x [N, D], log_scale and bias [D]. The
// log-determinant of the map is sum(log_scale) for every row. Recorded on the tape.
#include "runtime/tensor.h"

namespace lvk {

Tensor actnorm_forward(const Tensor& x, const Tensor& log_scale, const Tensor& bias);
// x = (y - bias) exp(-log_scale), recorded too (a flow may be trained in the sampling direction).
Tensor actnorm_inverse(const Tensor& y, const Tensor& log_scale, const Tensor& bias);

}  // namespace lvk
