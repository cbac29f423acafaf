// CPU twins of the unfused Gumbel-softmax building blocks of kernels/gumbel.h (noise, row softmax
// and its backward, argmax, one-hot): the passes a framework runs one by one, the benchmarks'
// baseline. CUDA twins in cuda/gumbel_unfused.cu.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gumbel_rows.h"
#include "kernels/cpu/gumbel_simd.h"
#include "kernels/gumbel.h"
#include "kernels/stochastic_math.h"

namespace lvk::kernels::cpu {

using gumbel_rows::kChunkElements;
using gumbel_rows::kParallelMin;
using gumbel_rows::row_max;

void gumbel_noise_with(const GumbelSimd* simd, float* g, index_t n, index_t k, uint64_t seed, uint64_t offset) {
  const uint64_t blocks = gumbel_blocks_per_row(k);
  const index_t chunk = std::max<index_t>(1, kChunkElements / k);
#pragma omp parallel for if (n * k >= kParallelMin) schedule(static)
  for (index_t r0 = 0; r0 < n; r0 += chunk) {
    const index_t rows = std::min(chunk, n - r0);
    if (simd) {
      simd->noise(g + r0 * k, rows, k, seed, offset, static_cast<uint64_t>(r0));
      continue;
    }
    for (index_t r = r0; r < r0 + rows; ++r)
      for (index_t c = 0; c * 4 < k; ++c) {
        const PhiloxBlock b = philox_block(seed, offset, static_cast<uint64_t>(r) * blocks + c);
        for (index_t w = 0; w < 4 && c * 4 + w < k; ++w)
          g[r * k + c * 4 + w] = gumbel_from_uniform(philox_to_uniform(b.v[w]));
      }
  }
}

void gumbel_noise(float* g, index_t n, index_t k, uint64_t seed, uint64_t offset) {
  gumbel_noise_with(gumbel_simd(cpu_isa()), g, n, k, seed, offset);
}

void softmax_rows(float* y, const float* x, index_t n, index_t k) {
#pragma omp parallel for if (n * k >= kParallelMin) schedule(static)
  for (index_t r = 0; r < n; ++r) {
    const float* xr = x + r * k;
    const float mx = row_max(xr, k);
    double s = 0.0;
    for (index_t j = 0; j < k; ++j) s += std::exp(static_cast<double>(xr[j]) - mx);
    for (index_t j = 0; j < k; ++j) y[r * k + j] = static_cast<float>(std::exp(static_cast<double>(xr[j]) - mx) / s);
  }
}

void softmax_rows_backward(float* dx, const float* dy, const float* y, index_t n, index_t k) {
#pragma omp parallel for if (n * k >= kParallelMin) schedule(static)
  for (index_t r = 0; r < n; ++r) {
    double dot = 0.0;
    for (index_t j = 0; j < k; ++j) dot += static_cast<double>(y[r * k + j]) * dy[r * k + j];
    for (index_t j = 0; j < k; ++j) dx[r * k + j] = static_cast<float>(y[r * k + j] * (dy[r * k + j] - dot));
  }
}

void argmax_rows(int32_t* index, const float* x, index_t n, index_t k) {
#pragma omp parallel for if (n * k >= kParallelMin) schedule(static)
  for (index_t r = 0; r < n; ++r) {
    index_t best = 0;
    for (index_t j = 1; j < k; ++j)
      if (x[r * k + j] > x[r * k + best]) best = j;
    index[r] = static_cast<int32_t>(best);
  }
}

void one_hot(float* y, const int32_t* index, index_t n, index_t k) {
#pragma omp parallel for if (n * k >= kParallelMin) schedule(static)
  for (index_t r = 0; r < n; ++r)
    for (index_t j = 0; j < k; ++j) y[r * k + j] = (j == index[r]) ? 1.0f : 0.0f;
}

}  // namespace lvk::kernels::cpu
