#pragma once
// What the CPU Gumbel twins (gumbel.cpp, fused; gumbel_unfused.cpp, the baseline's passes) share.
#include <algorithm>
#include <limits>

#include "kernels/twins.h"

namespace lvk::kernels::cpu::gumbel_rows {

// Below this many elements a parallel region costs more than it saves.
constexpr index_t kParallelMin = 1 << 15;
// Rows per chunk of the forward: about this many elements of noise at a time (L1-sized).
constexpr index_t kChunkElements = 4096;

inline float row_max(const float* x, index_t k) {
  float m = -std::numeric_limits<float>::infinity();
  for (index_t j = 0; j < k; ++j) m = std::max(m, x[j]);
  return m;
}

}  // namespace lvk::kernels::cpu::gumbel_rows
