// CPU twins of kernels/gaussian_unfused.h: the noise through the same vector Box-Muller as the fused
// sampler (kernels/cpu/gaussian_simd.h) where the CPU has AVX2, else in double.
#include "kernels/gaussian_unfused.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/gaussian_simd.h"
#include "kernels/stochastic_math.h"

namespace lvk::kernels::cpu {

namespace {
// Below this many elements a parallel region costs more than it saves.
constexpr index_t kParallelMin = 1 << 15;
}  // namespace

void gaussian_noise(float* eps, index_t count, uint64_t seed, uint64_t offset) {
  if (const GaussianSimd* v = gaussian_simd()) {
    constexpr index_t kChunk = 1 << 12;
    const index_t chunks = (count + kChunk - 1) / kChunk;
#pragma omp parallel for if (count >= kParallelMin) schedule(static)
    for (index_t c = 0; c < chunks; ++c)
      v->normals(eps + c * kChunk, static_cast<uint64_t>(c * kChunk), std::min(kChunk, count - c * kChunk), seed,
                 offset);
    return;
  }
  const index_t pairs = (count + 1) / 2;
#pragma omp parallel for if (count >= kParallelMin) schedule(static)
  for (index_t p = 0; p < pairs; ++p) {
    float e0, e1;
    gaussian_eps_pair(seed, offset, static_cast<uint64_t>(2 * p), e0, e1);
    eps[2 * p] = e0;
    if (2 * p + 1 < count) eps[2 * p + 1] = e1;
  }
}

void gaussian_std(float* sigma, const float* logvar, index_t count) {
#pragma omp parallel for if (count >= kParallelMin) schedule(static)
  for (index_t i = 0; i < count; ++i) sigma[i] = std::exp(0.5f * clamp_logvar(logvar[i]));
}

}  // namespace lvk::kernels::cpu
