#pragma once
// Optimizer kernels over a packed list of parameter tensors: one launch updates every tensor
// (multi-tensor apply), and the global gradient norm is one deterministic reduction over all of
// them. The tensor table is a host array in both twins: the CUDA twin passes it to the kernel by
// value (a __grid_constant__ parameter of up to kOptimTensorsPerLaunch entries, ~12 KiB, which
// needs CUDA >= 12.1 on sm_70+), so no table copy and no host synchronisation happens. Lists
// longer than that take one launch per kOptimTensorsPerLaunch tensors.
#include "kernels/step.h"
#include "kernels/twins.h"

namespace lvk::kernels {

// One parameter tensor of the packed list; `start` is the prefix sum of the sizes before it, so
// element i of the concatenation belongs to the tensor with start <= i < start + n.
struct OptimTensor {
  float* param;
  const float* grad;
  float* m;  // first moment
  float* v;  // second moment
  index_t n;
  index_t start;
};

struct AdamHyper {
  float lr;
  float beta1, beta2, eps;
  float weight_decay;
  bool decoupled;          // AdamW: p -= lr * wd * p; otherwise L2 added to the gradient (Adam)
  float bias_correction1;  // 1 - beta1^t, computed on the host in double
  float bias_correction2;  // 1 - beta2^t
  float max_grad_norm;     // > 0: scale gradients by min(1, max_grad_norm / (norm + 1e-6))
  // A train step's device state (kernels/step.h), or null. When given, the kernel reads the
  // learning rate from lr_at and the bias corrections from it, and updates nothing when the step
  // is skipped; lr and bias_correction* above are then unused.
  const StepState* step;
  const float* lr_at;
};

// The values one update uses: from the device step state when there is one.
struct AdamRates {
  bool skip;
  float lr, step_size, inv_sqrt_bc2;
};
LVK_HD AdamRates adam_rates(const AdamHyper& h) {
  const float lr = h.step ? *h.lr_at : h.lr;
  const float bc1 = h.step ? h.step->bias_correction1 : h.bias_correction1;
  const float bc2 = h.step ? h.step->bias_correction2 : h.bias_correction2;
  return {h.step != nullptr && h.step->skip != 0, lr, lr / bc1, 1.0f / sqrtf(bc2)};
}

// The gradient scale of global-norm clipping (norm: nullable device/host scalar).
LVK_HD float adam_clip(const AdamHyper& h, const float* norm) {
  return (h.max_grad_norm > 0.0f && norm) ? fminf(1.0f, h.max_grad_norm / (*norm + 1e-6f)) : 1.0f;
}

// One element's update, shared by both twins: parameter p, gradient g (clipped here), moments m, v.
LVK_HD void adam_element(float* p, float g, float* m, float* v, const AdamHyper& h, const AdamRates& r) {
  float x = *p;
  if (h.decoupled)
    x -= r.lr * h.weight_decay * x;
  else
    g += h.weight_decay * x;
  const float m1 = h.beta1 * *m + (1.0f - h.beta1) * g;
  const float v1 = h.beta2 * *v + (1.0f - h.beta2) * g * g;
  *m = m1;
  *v = v1;
  *p = x - r.step_size * m1 / (sqrtf(v1) * r.inv_sqrt_bc2 + h.eps);
}

constexpr int kOptimTensorsPerLaunch = 256;

// Floats of scratch space the CUDA grad_norm needs for `count` tensors of `total` elements.
index_t grad_norm_workspace_size(index_t total, int count);

#define LVK_OPTIM_DECLS(...)                                                                               \
  /* out[0] = sqrt(sum of grad^2 over every tensor), in a fixed order. tensors: host array. */             \
  void grad_norm(float* out /* [1] */, const OptimTensor* tensors /* [count] */, int count, index_t total, \
                 float* workspace /* [grad_norm_workspace_size(total, count)] */ __VA_ARGS__);             \
  /* One Adam/AdamW step over every tensor; grad_norm (nullable) feeds clipping when enabled. */           \
  void adam_step(const OptimTensor* tensors /* [count] */, int count, index_t total, AdamHyper h,          \
                 const float* grad_norm /* [1], nullable */ __VA_ARGS__);

namespace cpu {
LVK_OPTIM_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_OPTIM_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_OPTIM_DECLS

}  // namespace lvk::kernels
