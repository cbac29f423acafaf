#pragma once
// Full reductions, deterministic, and their broadcasting adjoint (runtime/ops/reduce.cpp).
#include <cstdint>

#include "runtime/tensor.h"

namespace lvk {

Tensor sum(const Tensor& x);   // rank 0 (one element); 0 for an empty tensor
Tensor mean(const Tensor& x);  // sum / numel; throws on an empty tensor
// A one-element tensor repeated to `shape` (recorded: its gradient is the sum of the output's).
Tensor expand_scalar(const Tensor& scalar, const Shape& shape);
// NaN/Inf count of an f32 tensor (synchronises: the answer comes back to the host).
int64_t count_nonfinite(const Tensor& x);
// Throws lvk::Error "<op>: <what> has N non-finite values (NaN or Inf) of <shape>" unless all are finite.
void check_finite(const char* op, const char* what, const Tensor& x);

}  // namespace lvk
