// CPU twins of kernels/optim.h: per-tensor vector loops (kernels/cpu/optim_simd.h), the norm
// accumulated in double.
#include "kernels/optim.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/optim_simd.h"

namespace lvk::kernels {

#if !LVK_WITH_CUDA
index_t grad_norm_workspace_size(index_t, int) {
  return 0;
}  // the CUDA build defines it in cuda/optim.cu
#endif

namespace cpu {

void grad_norm(float* out, const OptimTensor* tensors, int count, index_t, float*) {
  double lanes[kSumSquaresLanes] = {};
  for (int t = 0; t < count; ++t) optim_simd().sum_squares(lanes, tensors[t].grad, tensors[t].n);
  out[0] = static_cast<float>(std::sqrt(sum_lanes(lanes)));
}

void adam_step(const OptimTensor* tensors, int count, index_t, AdamHyper h, const float* norm) {
  const float clip = adam_clip(h, norm);
  const AdamRates r = adam_rates(h);
  if (r.skip) return;
  const auto update = optim_simd().adam;
  constexpr index_t kChunk = 1 << 14;  // elements per parallel task; a multiple of every lane count
  for (int t = 0; t < count; ++t) {
    const OptimTensor& T = tensors[t];
    const index_t chunks = (T.n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (T.n > (1 << 16))
    for (index_t c = 0; c < chunks; ++c) {
      const index_t i = c * kChunk;
      update(T.param + i, T.grad + i, T.m + i, T.v + i, std::min(kChunk, T.n - i), clip, h, r);
    }
  }
}

}  // namespace cpu
}  // namespace lvk::kernels
