#pragma once
// Elementwise arithmetic on f32 tensors of one shape and device (runtime/ops/elementwise.cpp).
#include <cstdint>

#include "runtime/tensor.h"

namespace lvk {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, float alpha);
// dst += alpha * src, in place and not recorded: gradient accumulation and optimizer updates.
void accumulate_into(Tensor& dst, const Tensor& src, float alpha = 1.0f);

}  // namespace lvk
