#pragma once
// Diagonal-Gaussian kernels: reparametrized sampling with its KL and log q, and the standalone
// log-density. CPU twins in cpu/gaussian.cpp, CUDA twins in cuda/gaussian.cu, same signatures
// minus the stream. Noise layout and the log-variance clamp: kernels/stochastic_math.h.
//
// Sampling, for sample s of row n (S samples share mu, logvar [N, D]):
//   lv = clamp(logvar, kLogvarMin, kLogvarMax), sigma = exp(lv/2), eps = normal((s*N + n)*D + d)
//   z[s, n] = mu[n] + sigma[n] * eps[s, n]
//   kl[n]       = 1/2 sum_d (mu^2 + sigma^2 - 1 - lv)          KL(N(mu, sigma^2) || N(0, I))
//   log_q[s, n] = sum_d (-log(2 pi)/2 - lv/2 - eps^2/2)         log N(z; mu, sigma^2), exact in eps
// The backward takes dz/dlv = sigma eps / 2 as (z - mu) / 2 from the stored sample instead of
// redrawing eps: z carries one rounding (|z - mu - sigma eps| <= 2^-24 |z|), an absolute error of at
// most 2^-25 |dz| |z| per sample in dlogvar: 2^-24 |z| / (sigma |eps|) of that sample's term, small
// unless sigma |eps| is far below |mu| (then z - mu is a few ulp of mu).
#include "kernels/twins.h"

namespace lvk::kernels {

#define LVK_GAUSSIAN_DECLS(...)                                                                                       \
  /* kl and log_q are skipped when null. */                                                                           \
  void gaussian_sample(float* z /* [S, N, D] */, float* kl /* [N] or null */, float* log_q /* [S, N] or null */,      \
                       const float* mu /* [N, D] */, const float* logvar /* [N, D] */, index_t s, index_t n,          \
                       index_t d, uint64_t seed, uint64_t offset,                                                     \
                       const uint64_t* offset_base /* nullable, device: added to offset */ __VA_ARGS__);              \
  /* Written (not accumulated); each incoming gradient may be null. z is the forward's output: */                     \
  /* sigma eps = z - mu, so dz's share of dlogvar is dz (z - mu) / 2 and no noise is redrawn; */                      \
  /* z is read only with dz (null otherwise). log_q's total derivative: d/dmu = 0, d/dlv = -1/2. */                   \
  void gaussian_sample_backward(float* dmu /* [N, D] */, float* dlogvar /* [N, D] */,                                 \
                                const float* dz /* [S, N, D] or null */, const float* dkl /* [N] or null */,          \
                                const float* dlog_q /* [S, N] or null */, const float* z /* [S, N, D] or null */,     \
                                const float* mu /* [N, D] */, const float* logvar /* [N, D] */, index_t s, index_t n, \
                                index_t d __VA_ARGS__);                                                               \
  /* out[s, n] = sum_d log N(z[s, n, d]; mu[n, d], exp(lv[n, d])), lv clamped as above. */                            \
  void gaussian_log_density(float* out /* [S, N] */, const float* z /* [S, N, D] */, const float* mu /* [N, D] */,    \
                            const float* logvar /* [N, D] */, index_t s, index_t n, index_t d __VA_ARGS__);           \
  /* Written; any of dz, dmu, dlogvar may be null (not wanted). */                                                    \
  void gaussian_log_density_backward(float* dz /* [S, N, D] or null */, float* dmu /* [N, D] or null */,              \
                                     float* dlogvar /* [N, D] or null */, const float* dout /* [S, N] */,             \
                                     const float* z /* [S, N, D] */, const float* mu /* [N, D] */,                    \
                                     const float* logvar /* [N, D] */, index_t s, index_t n, index_t d __VA_ARGS__);

namespace cpu {
LVK_GAUSSIAN_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_GAUSSIAN_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_GAUSSIAN_DECLS

}  // namespace lvk::kernels
