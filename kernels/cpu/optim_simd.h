#pragma once
// Vectorised pieces of the optimiser CPU twin (kernels/cpu/optim.cpp). The Adam update evaluates
// adam_element's expressions in the same order without contraction (IEEE square root and
// division), so it is bit for bit the scalar reference; the sum of squares keeps 16 double lanes
// whatever the vector width, so every ISA variant adds in the same order.
#include "kernels/cpu/cpu_isa.h"
#include "kernels/optim.h"

namespace lvk::kernels::cpu {

constexpr int kSumSquaresLanes = 16;

struct OptimSimd {
  // adam_element(p + i, g[i] * clip, m + i, v + i, h, r) for i < n.
  void (*adam)(float* p, const float* g, float* m, float* v, index_t n, float clip, const AdamHyper& h,
               const AdamRates& r);
  // lanes[i % 16] += g[i]^2 in double, for i < n.
  void (*sum_squares)(double* lanes /* [kSumSquaresLanes] */, const float* g, index_t n);
};

// The variant for an ISA (CpuIsa::base: SSE2 lanes), or null for one this CPU (or LVK_CPU_ISA)
// lacks; optim_simd() is the widest this CPU has.
const OptimSimd* optim_simd(CpuIsa isa);
const OptimSimd& optim_simd();

// The pairwise sum of the 16 lanes, in a fixed order.
double sum_lanes(const double* lanes /* [kSumSquaresLanes] */);

}  // namespace lvk::kernels::cpu
