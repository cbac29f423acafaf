#pragma once
// Fills, random fills and recorded copies/reshapes (runtime/ops/creation.cpp).
#include <cstdint>

#include "runtime/tensor.h"

namespace lvk {

void fill_(Tensor& t, float value);  // f32 or i32 (value converted); in place, not recorded
Tensor uniform(const Shape& shape, uint64_t seed, uint64_t offset, Device device = Device::cpu());  // (0, 1)
Tensor normal(const Shape& shape, uint64_t seed, uint64_t offset, Device device = Device::cpu());   // N(0, 1)
Tensor to_device(const Tensor& x, Device device);     // recorded copy: the gradient flows back
Tensor reshape(const Tensor& x, const Shape& shape);  // recorded view

}  // namespace lvk
