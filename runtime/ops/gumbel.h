#pragma once
// Gumbel-softmax sampling of categorical latents (the dVAE's sampling layer) and the soft codebook
// mixture that turns a relaxed sample into an embedding. Kernels and noise layout: kernels/gumbel.h.
#include <cstdint>

#include "runtime/ops/step_clock.h"
#include "runtime/tensor.h"

namespace lvk {

struct GumbelSoftmaxOptions {
  float tau = 1.0f;   // temperature, finite and > 0 (no NaN/inf in outputs for tau >= 1e-3)
  bool hard = false;  // forward one-hot of the argmax, backward the soft sample's (straight-through)
  uint64_t seed = 0;
  uint64_t offset = 0;  // Philox stream offset: advance it per call for fresh noise
  // With a train step's clock, `offset` counts from its noise base, and with tau_column >= 0 the
  // temperature is the clock's scalar of that column (tau is then unused), all read on the device.
  const StepClock* clock = nullptr;
  int tau_column = -1;
};

struct GumbelSoftmaxResult {
  Tensor y;      // f32 [..., K]: the relaxed sample (rows sum to 1) or, when hard, the one-hot
  Tensor index;  // i32 [...]: argmax of the perturbed logits (-1 for an all -inf row)
  Tensor kl;     // f32 [...]: KL(softmax(logits) || Uniform{1..K}) = log K - H(q), per row
};

// logits f32 [..., K] (rank >= 1; leading dimensions are rows). Records one node with outputs y and
// kl: d logits = y_soft*(dy - sum(y_soft*dy))/tau + dkl * q*(log q + H(q)). The same seed and
// offset give the same sample on CPU and CUDA.
GumbelSoftmaxResult gumbel_softmax(const Tensor& logits, const GumbelSoftmaxOptions& options);

// z [N, C] = y [N, K] x codebook [K, C] (sum_k y_k e_k), through matmul, so both gradients flow.
Tensor soft_codebook_mixture(const Tensor& y, const Tensor& codebook);

}  // namespace lvk
