#pragma once
// Vectorised pieces of the Gaussian CPU twin (kernels/cpu/gaussian.cpp): Philox on W blocks at
// once and Box-Muller with kernels/cpu/simd_math.h. The uniforms are bit for bit those of
// base/philox.h; the normals are within 4 ulp of the double-precision Box-Muller (checked in
// tests/test_simd_math.cpp), as the CUDA twin's f32 intrinsics are; the backward as stated below
// (tests/test_gaussian.cpp).
#include <cstdint>

#include "kernels/twins.h"

namespace lvk::kernels::cpu {

struct GaussianSimd {
  // out[t] = normal number first + t of the Gaussian layout (kernels/stochastic_math.h).
  void (*normals)(float* out, uint64_t first, index_t count, uint64_t seed, uint64_t offset);
  // What the S samples of one input row share: lv = clamp(logvar) and sigma = exp(lv / 2).
  void (*row_scales)(float* sigma, float* lv, const float* logvar, index_t d);
  // One row of gaussian_sample from its normals eps and its input row's row_scales: z = mu + sigma
  // eps, and the row's log q and (when kl is not null) KL terms summed in double.
  void (*row)(float* z, double* log_q, double* kl, const float* mu, const float* sigma, const float* lv,
              const float* eps, index_t d);
  // One row r of gaussian_sample_backward from its S sample rows dz + t plane, z + t plane (s = 0:
  // no dz): dmu = sum_t dz + dkl mu, dlogvar = (sum_t dz (z - mu) / 2 + glv_shift + dkl (exp(lv) - 1) / 2)
  // times the clamp's mask. f32 lanes, the samples summed in order: within (S + 3) 2^-24 of the sum of
  // the terms' magnitudes (plus z's own rounding, kernels/gaussian.h).
  void (*backward_row)(float* dmu, float* dlogvar, const float* dz, const float* z, index_t plane, index_t s,
                       float glv_shift, float dkl, const float* mu, const float* logvar, index_t d);
};

// The variant for cpu_isa(), or null on CPUs without AVX2 (the scalar reference runs then).
const GaussianSimd* gaussian_simd();

}  // namespace lvk::kernels::cpu
