#pragma once
// Log-density of an equal-weight mixture of diagonal Gaussians, evaluated at many points:
//   out[j] = log( (1/N) sum_i N(z_j; mu_i, diag exp(logvar_i)) ),   j < M, i < N.
// This is log q_agg(z_j) of ELBO surgery, where the mixture is the aggregated posterior of N data
// points. The M x N matrix of log-densities is never stored: tiles of (j, i) pairs are computed in
// registers and folded into a running log-sum-exp per j, reduced across threads in a fixed order.
// The backward (for the VampPrior, whose components are trained) uses the responsibilities
// r_ji = N(z_j; mu_i, .) / sum_i' N(z_j; mu_i', .) = exp(l_ji - out[j] - log N):
//   dz_j = dout_j sum_i r_ji (mu_i - z_j) / var_i,   dmu_i = sum_j dout_j r_ji (z_j - mu_i) / var_i,
//   dlogvar_i = sum_j dout_j r_ji ((z_j - mu_i)^2 / var_i - 1) / 2,
// each output element summed by one thread in a fixed order (deterministic).
#include "kernels/twins.h"

namespace lvk::kernels {

// Floats of workspace the CUDA twin needs (per-component precision and constant); CPU needs none.
constexpr index_t mixture_workspace_size(index_t n, index_t d) {
  return n * d + n;
}

namespace cpu {
void gaussian_mixture_log_density(float* out /* [M] */, const float* z /* [M, D] */, const float* mu /* [N, D] */,
                                  const float* logvar /* [N, D] */, index_t m, index_t n, index_t d, float* workspace);
// dz, dmu, dlogvar written (=); out is the forward's result.
void gaussian_mixture_log_density_backward(float* dz /* [M, D] */, float* dmu /* [N, D] */, float* dlogvar /* [N, D] */,
                                           const float* dout /* [M] */, const float* out /* [M] */, const float* z,
                                           const float* mu, const float* logvar, index_t m, index_t n, index_t d,
                                           float* workspace);
}  // namespace cpu
#if LVK_WITH_CUDA
namespace cuda {
void gaussian_mixture_log_density(float* out /* [M] */, const float* z /* [M, D] */, const float* mu /* [N, D] */,
                                  const float* logvar /* [N, D] */, index_t m, index_t n, index_t d,
                                  float* workspace /* [mixture_workspace_size(n, d)] */, cudaStream_t stream);
void gaussian_mixture_log_density_backward(float* dz /* [M, D] */, float* dmu /* [N, D] */, float* dlogvar /* [N, D] */,
                                           const float* dout /* [M] */, const float* out /* [M] */, const float* z,
                                           const float* mu, const float* logvar, index_t m, index_t n, index_t d,
                                           float* workspace /* [mixture_workspace_size(n, d)] */, cudaStream_t stream);
}  // namespace cuda
#endif

}  // namespace lvk::kernels
