#pragma once
// Gumbel-softmax kernels. CPU twins in cpu/gumbel.cpp, CUDA twins in cuda/gumbel.cu, same
// signatures minus the stream. Noise layout: kernels/stochastic_math.h (row n, column k only).
//
// Forward, per row of logits l [K]:
//   q = softmax(l)                         (the encoder's categorical distribution)
//   v = (l - max l + g) / tau, g ~ Gumbel  (= (log_softmax(l) + g)/tau up to a per-row constant,
//                                           which softmax ignores; keeps v <= 16.7/tau: no overflow)
//   y = softmax(v)          (soft)   or   one_hot(argmax v) (hard; ties go to the lowest index)
//   index = argmax v,  kl = KL(q || Uniform{1..K}) = log K - H(q)
// A -inf logit is a masked category (q = y = 0 there). A row whose logits are all -inf has no
// distribution: its y is all zeros, its index -1 and its kl 0, and its gradients are zero.
#include "base/philox.h"
#include "kernels/twins.h"

namespace lvk::kernels {

// The largest K the CUDA forward keeps in registers (one row per block of 512 threads); larger
// rows take a slower streaming kernel that reads the logits three times.
constexpr index_t kGumbelMaxK = 16384;

// What a train step supplies on the device (kernels/step.h) instead of host arguments, or nulls:
// the temperature (replacing tau) and the noise base (added to offset).
struct GumbelDeviceArgs {
  const float* tau = nullptr;
  const uint64_t* offset_base = nullptr;
};
LVK_HD float gumbel_inv_tau(float tau, const GumbelDeviceArgs& d) {
  return 1.0f / (d.tau ? *d.tau : tau);
}
LVK_HD uint64_t gumbel_offset(uint64_t offset, const GumbelDeviceArgs& d) {
  return offset + (d.offset_base ? *d.offset_base : 0);
}

#define LVK_GUMBEL_DECLS(...)                                                                                         \
  /* y: the sample (one-hot when hard); y_soft: the relaxed sample, written only when non-null */                     \
  /* (the hard variant's straight-through backward needs it); index, kl: per row. */                                  \
  void gumbel_softmax_forward(float* y /* [N, K] */, float* y_soft /* [N, K] or null */, int32_t* index /* [N] */,    \
                              float* kl /* [N] */, const float* logits /* [N, K] */, index_t n, index_t k, float tau, \
                              uint64_t seed, uint64_t offset, bool hard, GumbelDeviceArgs dev __VA_ARGS__);           \
  /* dlogits = y*(dy - sum(y*dy))/tau + dkl * q*(log q + H(q)), written. dy (with y_soft) and */                      \
  /* dkl (with logits) may each be null; the missing term is zero. */                                                 \
  void gumbel_softmax_backward(float* dlogits /* [N, K] */, const float* dy /* [N, K] or null */,                     \
                               const float* y_soft /* [N, K] */, const float* dkl /* [N] or null */,                  \
                               const float* logits /* [N, K] */, index_t n, index_t k, float tau,                     \
                               GumbelDeviceArgs dev __VA_ARGS__);                                                     \
  /* Unfused building blocks: the passes a PyTorch user runs one by one (benchmark baseline). */                      \
  /* g: Gumbel noise with the fused kernel's layout. */                                                               \
  void gumbel_noise(float* g /* [N, K] */, index_t n, index_t k, uint64_t seed, uint64_t offset __VA_ARGS__);         \
  /* y = softmax(x) per row (max, sum, write: a plain row softmax). */                                                \
  void softmax_rows(float* y /* [N, K] */, const float* x /* [N, K] */, index_t n, index_t k __VA_ARGS__);            \
  /* dx = y*(dy - sum(y*dy)) per row. */                                                                              \
  void softmax_rows_backward(float* dx /* [N, K] */, const float* dy /* [N, K] */, const float* y /* [N, K] */,       \
                             index_t n, index_t k __VA_ARGS__);                                                       \
  /* index = argmax per row (lowest index on ties), then y = one_hot(index). */                                       \
  void argmax_rows(int32_t* index /* [N] */, const float* x /* [N, K] */, index_t n, index_t k __VA_ARGS__);          \
  void one_hot(float* y /* [N, K] */, const int32_t* index /* [N] */, index_t n, index_t k __VA_ARGS__);

namespace cpu {
LVK_GUMBEL_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_GUMBEL_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_GUMBEL_DECLS

}  // namespace lvk::kernels
