// CPU twins of kernels/gaussian.h: the reference. Row sums in double; the noise from the shared
// Philox layout. On AVX2/AVX-512 CPUs the sampler's forward draws W Philox blocks at once and runs
// Box-Muller, exp and the row terms in f32 lanes (kernels/cpu/gaussian_simd.h,
// within 4 ulp of the double formulas), as does the backward; elsewhere Box-Muller runs in double.
// Either way CUDA's normals agree to a few ulp.
#include "kernels/gaussian.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/gaussian_simd.h"
#include "kernels/stochastic_math.h"

namespace lvk::kernels::cpu {

namespace {
// Below this many elements a parallel region costs more than it saves.
constexpr index_t kParallelMin = 1 << 15;
}  // namespace

void gaussian_sample(float* z, float* kl, float* log_q, const float* mu, const float* logvar, index_t s, index_t n,
                     index_t d, uint64_t seed, uint64_t offset_in, const uint64_t* offset_base) {
  const uint64_t offset = offset_in + (offset_base ? *offset_base : 0);  // the step clock's noise base
  const index_t rows = s * n;
  if (const GaussianSimd* v = gaussian_simd()) {
#pragma omp parallel if (rows * d >= kParallelMin)
    {
      std::vector<float> eps(static_cast<size_t>(d)), sigma(eps.size()), lv(eps.size());
      index_t scaled = -1;  // the input row whose sigma and lv this thread holds
      // Input row r's S samples are consecutive iterations, so a thread computes their scales once.
#pragma omp for schedule(static)
      for (index_t i = 0; i < rows; ++i) {
        const index_t r = i / s, row = (i % s) * n + r;  // sample i % s of input row r
        if (r != scaled) v->row_scales(sigma.data(), lv.data(), logvar + r * d, d), scaled = r;
        v->normals(eps.data(), static_cast<uint64_t>(row * d), d, seed, offset);
        double lq = 0.0, k = 0.0;
        v->row(z + row * d, &lq, kl && row < n ? &k : nullptr, mu + r * d, sigma.data(), lv.data(), eps.data(), d);
        if (log_q) log_q[row] = static_cast<float>(lq);
        if (kl && row < n) kl[row] = static_cast<float>(k);
      }
    }
    return;
  }
#pragma omp parallel for if (rows * d >= kParallelMin) schedule(static)
  for (index_t row = 0; row < rows; ++row) {
    const index_t r = row % n;  // the input row of (sample row / n, r)
    const float* m = mu + r * d;
    const float* lvr = logvar + r * d;
    double lq = 0.0, k = 0.0;
    float eps_next = 0.0f;
    for (index_t j = 0; j < d; ++j) {
      const float lv = clamp_logvar(lvr[j]);
      const float sigma = std::exp(0.5f * lv);
      const auto i = static_cast<uint64_t>(row * d + j);
      // One Philox call serves an even-odd pair of draw indices.
      float eps = eps_next;
      if ((i & 1) == 0 && j + 1 < d)
        gaussian_eps_pair(seed, offset, i, eps, eps_next);
      else if ((i & 1) == 0 || j == 0)
        eps = gaussian_eps(seed, offset, i);
      z[row * d + j] = m[j] + sigma * eps;
      lq += -static_cast<double>(kHalfLog2Pi) - 0.5 * lv - 0.5 * static_cast<double>(eps) * eps;
      if (kl && row < n) k += 0.5 * (static_cast<double>(m[j]) * m[j] + std::exp(static_cast<double>(lv)) - 1.0 - lv);
    }
    if (log_q) log_q[row] = static_cast<float>(lq);
    if (kl && row < n) kl[row] = static_cast<float>(k);
  }
}

void gaussian_sample_backward(float* dmu, float* dlogvar, const float* dz, const float* dkl, const float* dlog_q,
                              const float* z, const float* mu, const float* logvar, index_t s, index_t n, index_t d) {
  const index_t plane = n * d;
  if (const GaussianSimd* v = gaussian_simd()) {
#pragma omp parallel for if (plane * s >= kParallelMin) schedule(static)
    for (index_t r = 0; r < n; ++r) {
      double shift = 0.0;
      if (dlog_q)
        for (index_t t = 0; t < s; ++t) shift -= 0.5 * dlog_q[t * n + r];
      v->backward_row(dmu + r * d, dlogvar + r * d, dz ? dz + r * d : nullptr, z ? z + r * d : nullptr, plane,
                      dz ? s : 0, static_cast<float>(shift), dkl ? dkl[r] : 0.0f, mu + r * d, logvar + r * d, d);
    }
    return;
  }
#pragma omp parallel for if (plane * s >= kParallelMin) schedule(static)
  for (index_t e = 0; e < plane; ++e) {
    const index_t r = e / d;
    const float lv = clamp_logvar(logvar[e]);
    double gmu = 0.0, glv = 0.0;
    for (index_t t = 0; t < s; ++t) {
      if (dz) {
        const double g = dz[t * plane + e];
        gmu += g;
        glv += g * 0.5 * (static_cast<double>(z[t * plane + e]) - mu[e]);  // sigma eps, one rounding of z away
      }
      if (dlog_q) glv -= 0.5 * dlog_q[t * n + r];
    }
    if (dkl) {
      gmu += static_cast<double>(dkl[r]) * mu[e];
      glv += static_cast<double>(dkl[r]) * 0.5 * (std::exp(static_cast<double>(lv)) - 1.0);
    }
    dmu[e] = static_cast<float>(gmu);
    dlogvar[e] = static_cast<float>(glv * logvar_mask(logvar[e]));
  }
}

void gaussian_log_density(float* out, const float* z, const float* mu, const float* logvar, index_t s, index_t n,
                          index_t d) {
  const index_t rows = s * n;
#pragma omp parallel for if (rows * d >= kParallelMin) schedule(static)
  for (index_t row = 0; row < rows; ++row) {
    const index_t r = row % n;
    double acc = 0.0;
    for (index_t j = 0; j < d; ++j) {
      const double lv = clamp_logvar(logvar[r * d + j]);
      const double diff = static_cast<double>(z[row * d + j]) - mu[r * d + j];
      acc += -static_cast<double>(kHalfLog2Pi) - 0.5 * lv - 0.5 * diff * diff * std::exp(-lv);
    }
    out[row] = static_cast<float>(acc);
  }
}

void gaussian_log_density_backward(float* dz, float* dmu, float* dlogvar, const float* dout, const float* z,
                                   const float* mu, const float* logvar, index_t s, index_t n, index_t d) {
  const index_t plane = n * d;
#pragma omp parallel for if (plane * s >= kParallelMin) schedule(static)
  for (index_t e = 0; e < plane; ++e) {
    const index_t r = e / d;
    const double lv = clamp_logvar(logvar[e]);
    const double inv_var = std::exp(-lv);
    double gmu = 0.0, glv = 0.0;
    for (index_t t = 0; t < s; ++t) {
      const double g = dout[t * n + r];
      const double diff = static_cast<double>(z[t * plane + e]) - mu[e];
      if (dz) dz[t * plane + e] = static_cast<float>(-g * diff * inv_var);
      gmu += g * diff * inv_var;
      glv += g * 0.5 * (diff * diff * inv_var - 1.0);
    }
    if (dmu) dmu[e] = static_cast<float>(gmu);
    if (dlogvar) dlogvar[e] = static_cast<float>(glv * logvar_mask(logvar[e]));
  }
}

}  // namespace lvk::kernels::cpu
