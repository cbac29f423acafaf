#pragma once
// Vectorised pieces of the Gaussian CPU twin (kernels/cpu/gaussian.cpp): Philox on W blocks at
// once and Box-Muller with kernels/cpu/simd_math.h. The uniforms are bit for bit those of
// base/philox.h; the normals are within 4 ulp of the double-precision Box-Muller (checked in
// tests/test_simd_math.cpp), as the CUDA twin's f32 intrinsics are; the backward within 4 ulp of
// the scalar reference plus 2^-22 of its terms' magnitudes (tests/test_gaussian.cpp).
#include <cstdint>

#include "kernels/twins.h"

namespace lvk::kernels::cpu {

struct GaussianSimd {
  // out[t] = normal number first + t of the Gaussian layout (kernels/stochastic_math.h).
  void (*normals)(float* out, uint64_t first, index_t count, uint64_t seed, uint64_t offset);
  // One row of gaussian_sample from its normals eps: z = mu + exp(logvar / 2) eps, and the row's
  // log q and (when kl is not null) KL terms summed in double.
  void (*row)(float* z, double* log_q, double* kl, const float* mu, const float* logvar, const float* eps, index_t d);
  // One sample row's share of gaussian_sample_backward: gmu[j] += dz[j], glv[j] += dz[j] sigma_j
  // eps[j] / 2, sigma_j = exp(clamp(logvar[j]) / 2), in double.
  void (*backward_accumulate)(double* gmu, double* glv, const float* dz, const float* logvar, const float* eps,
                              index_t d);
  // The row's end: adds the KL terms (dkl mu, dkl (exp(lv) - 1) / 2; dkl may be 0) and glv_shift to
  // glv, masks by the clamp's derivative and writes dmu, dlogvar.
  void (*backward_finish)(float* dmu, float* dlogvar, const double* gmu, const double* glv, double glv_shift, float dkl,
                          const float* mu, const float* logvar, index_t d);
};

// The variant for cpu_isa(), or null on CPUs without AVX2 (the scalar reference runs then).
const GaussianSimd* gaussian_simd();

}  // namespace lvk::kernels::cpu
