#pragma once
// Reparametrized diagonal-Gaussian sampling (the Gaussian VAE's sampling layer) with its fused KL
// and log q, and the batched diagonal-Gaussian log-density. Kernels: kernels/gaussian.h.
// Log-variances are clamped to [kernels::kLogvarMin, kernels::kLogvarMax] = [-30, 20]; the clamp's
// gradient is zero outside that range.
#include <cstdint>

#include "runtime/ops/step_clock.h"
#include "runtime/tensor.h"

namespace lvk {

struct GaussianSampleOptions {
  // 0: one sample without a sample dimension (z [N, D], log_q [N]);
  // S >= 1: S samples per input, sample-major (z [S, N, D], log_q [S, N]) for importance weighting.
  int64_t samples = 0;
  uint64_t seed = 0;
  uint64_t offset = 0;  // Philox stream offset: advance it per call for fresh noise
  // With a train step's clock, `offset` counts from the clock's noise base, read on the device.
  const StepClock* clock = nullptr;
};

struct GaussianSampleResult {
  Tensor z;      // mu + exp(logvar/2) * eps
  Tensor kl;     // [N]: KL(N(mu, sigma^2) || N(0, I)) per row
  Tensor log_q;  // log N(z; mu, sigma^2) per sample and row
};

// mu, logvar f32 [N, D] on one device. Records one node (outputs z, kl, log_q; inputs mu, logvar);
// the backward reads the noise off z (sigma eps = z - mu, kernels/gaussian.h): nothing is stored
// beyond the outputs, and no noise is redrawn.
GaussianSampleResult gaussian_sample(const Tensor& mu, const Tensor& logvar, const GaussianSampleOptions& options);

// Throws naming `op` unless mu and logvar are defined f32 [N, D] tensors of one shape and device.
void check_gaussian_params(const char* op, const Tensor& mu, const Tensor& logvar);

// log N(z; mu, exp(logvar)) summed over D: z [N, D] -> [N], or z [S, N, D] -> [S, N] with mu and
// logvar [N, D] shared by the S samples. Gradients for z, mu and logvar.
Tensor gaussian_log_density(const Tensor& z, const Tensor& mu, const Tensor& logvar);

}  // namespace lvk
