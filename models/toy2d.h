#pragma once
// Procedural 2-D densities for fitting flows: the pictures users of flow libraries look at first.
// Samples come from Philox (seed, offset), so a seed gives the same batch everywhere.
#include <cstdint>
#include <string>

#include "runtime/tensor.h"

namespace lvk {

enum class Toy2d { moons, rings, checkerboard, gaussians };

// "moons", "rings", "checkerboard" or "gaussians"; throws naming the accepted values otherwise.
Toy2d parse_toy2d(const std::string& name);
const char* toy2d_name(Toy2d kind);

// n points [n, 2], roughly standardised to [-4, 4]^2. Batch b of a run uses offset b.
Tensor sample_toy2d(Toy2d kind, int64_t n, uint64_t seed, uint64_t offset, Device device = Device::cpu());

}  // namespace lvk
