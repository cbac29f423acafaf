// CPU twins of kernels/optim.h: per-tensor loops, the norm accumulated in double.
#include "kernels/optim.h"

#include <cmath>

namespace lvk::kernels {

#if !LVK_WITH_CUDA
index_t grad_norm_workspace_size(index_t, int) {
  return 0;
}  // the CUDA build defines it in cuda/optim.cu
#endif

namespace cpu {

void grad_norm(float* out, const OptimTensor* tensors, int count, index_t, float*) {
  double acc = 0.0;
  for (int t = 0; t < count; ++t)
    for (index_t i = 0; i < tensors[t].n; ++i) acc += double(tensors[t].grad[i]) * tensors[t].grad[i];
  out[0] = static_cast<float>(std::sqrt(acc));
}

void adam_step(const OptimTensor* tensors, int count, index_t, AdamHyper h, const float* norm) {
  const float clip = adam_clip(h, norm);
  const AdamRates r = adam_rates(h);
  if (r.skip) return;
  for (int t = 0; t < count; ++t) {
    const OptimTensor& T = tensors[t];
#pragma omp parallel for schedule(static) if (T.n > (1 << 16))
    for (index_t i = 0; i < T.n; ++i) adam_element(T.param + i, T.grad[i] * clip, T.m + i, T.v + i, h, r);
  }
}

}  // namespace cpu
}  // namespace lvk::kernels
