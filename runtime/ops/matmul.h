#pragma once
// Matrix product with transposes (runtime/ops/matmul.cpp).
#include <cstdint>

#include "runtime/tensor.h"

namespace lvk {

// a [M, K] (or [K, M] when trans_a), b [K, N] (or [N, K] when trans_b) -> [M, N].
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

}  // namespace lvk
