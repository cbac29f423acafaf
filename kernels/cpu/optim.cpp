// CPU twins of kernels/optim.h: per-tensor loops, the norm accumulated in double.
#include "kernels/optim.h"

#include <cmath>

namespace lvk::kernels {

#if !LVK_WITH_CUDA
index_t grad_norm_workspace_size(index_t, int) { return 0; }  // the CUDA build defines it in cuda/optim.cu
#endif

namespace cpu {

void grad_norm(float* out, const OptimTensor* tensors, int count, index_t, float*) {
  double acc = 0.0;
  for (int t = 0; t < count; ++t)
    for (index_t i = 0; i < tensors[t].n; ++i) acc += double(tensors[t].grad[i]) * tensors[t].grad[i];
  out[0] = static_cast<float>(std::sqrt(acc));
}

void adam_step(const OptimTensor* tensors, int count, index_t, AdamHyper h, const float* norm) {
  const float clip = (h.max_grad_norm > 0.0f && norm) ? std::fmin(1.0f, h.max_grad_norm / (norm[0] + 1e-6f)) : 1.0f;
  const AdamRates r = adam_rates(h);
  if (r.skip) return;
  for (int t = 0; t < count; ++t) {
    const OptimTensor& T = tensors[t];
#pragma omp parallel for schedule(static) if (T.n > (1 << 16))
    for (index_t i = 0; i < T.n; ++i) {
      float p = T.param[i];
      float g = T.grad[i] * clip;
      if (h.decoupled)
        p -= r.lr * h.weight_decay * p;
      else
        g += h.weight_decay * p;
      const float m = h.beta1 * T.m[i] + (1.0f - h.beta1) * g;
      const float v = h.beta2 * T.v[i] + (1.0f - h.beta2) * g * g;
      T.m[i] = m;
      T.v[i] = v;
      T.param[i] = p - r.step_size * m / (std::sqrt(v) * r.inv_sqrt_bc2 + h.eps);
    }
  }
}

}  // namespace cpu
}  // namespace lvk::kernels
