// CPU twins of kernels/gumbel.h: the reference. One row at a time (rows in parallel), sums in
// double, the same f32 noise and logits arithmetic as the CUDA kernels so the sampled index agrees.
// On AVX2/AVX-512 the row passes run in lanes (kernels/cpu/gumbel_simd.h, same uniforms, stated
// ulp bounds); the scalar passes here stay the reference they are tested against.
#include "kernels/gumbel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/gumbel_rows.h"
#include "kernels/cpu/gumbel_simd.h"
#include "kernels/stochastic_math.h"

namespace lvk::kernels::cpu {

using gumbel_rows::kChunkElements;
using gumbel_rows::kParallelMin;
using gumbel_rows::row_max;

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();

// Entropy of q = softmax(l) from the row max: H = log s - sum(e*a)/s, e = exp(a), a = l - max.
// exp in f32 (as on the GPU), sums in double.
double row_entropy(const float* l, index_t k, float mx, double* log_s) {
  double s = 0.0, t = 0.0;
  for (index_t j = 0; j < k; ++j) {
    const float a = l[j] - mx;
    if (a == -kInf) continue;  // masked: contributes 0 (and 0 * -inf must not become NaN)
    const float e = std::exp(a);
    s += e;
    t += static_cast<double>(e) * a;
  }
  *log_s = std::log(s);
  return *log_s - t / s;
}

// The scalar twins of kernels/cpu/gumbel_simd.h's passes; perturb draws its noise itself.
index_t perturb(float* v, float* vmax, const float* l, index_t k, float mx, float inv_tau, uint64_t seed,
                uint64_t offset, uint64_t block0) {
  *vmax = -kInf;
  index_t best = 0;
  for (index_t c = 0; c * 4 < k; ++c) {
    const PhiloxBlock b = philox_block(seed, offset, block0 + static_cast<uint64_t>(c));
    for (index_t w = 0; w < 4 && c * 4 + w < k; ++w) {
      const index_t j = c * 4 + w;
      const float g = gumbel_from_uniform(philox_to_uniform(b.v[w]));
      const float t = ((l[j] - mx) + g) * inv_tau;
      v[j] = t;
      if (t > *vmax) {  // strict: ties keep the lowest index
        *vmax = t;
        best = j;
      }
    }
  }
  return best;
}

double exp_sum(float* v, index_t k, float vmax) {
  double s = 0.0;
  for (index_t j = 0; j < k; ++j) {
    v[j] = std::exp(v[j] - vmax);  // -inf (masked) gives 0
    s += v[j];
  }
  return s;
}

void scale(float* y, const float* v, index_t k, double inv_s) {
  for (index_t j = 0; j < k; ++j) y[j] = static_cast<float>(v[j] * inv_s);
}
}  // namespace

void gumbel_softmax_forward_with(const GumbelSimd* simd, float* y, float* y_soft, int32_t* index, float* kl,
                                 const float* logits, index_t n, index_t k, float tau, uint64_t seed,
                                 uint64_t offset_in, bool hard, GumbelDeviceArgs dev) {
  const float inv_tau = gumbel_inv_tau(tau, dev);
  const uint64_t offset = gumbel_offset(offset_in, dev);
  const uint64_t blocks = gumbel_blocks_per_row(k);
  // Short rows go in chunks, so the vectorised Philox fills its lanes across rows.
  const index_t chunk = std::max<index_t>(1, kChunkElements / k);
#pragma omp parallel if (n * k >= kParallelMin)
  {
    std::vector<float> buf(static_cast<size_t>(std::min(chunk, n) * k));
#pragma omp for schedule(static)
    for (index_t r0 = 0; r0 < n; r0 += chunk) {
      const index_t rows = std::min(chunk, n - r0);
      if (simd) simd->noise(buf.data(), rows, k, seed, offset, static_cast<uint64_t>(r0));
      for (index_t r = r0; r < r0 + rows; ++r) {
        const float* l = logits + r * k;
        float* v = buf.data() + (r - r0) * k;
        float* yr = y + r * k;
        float* ys = y_soft ? y_soft + r * k : nullptr;
        const float mx = simd ? simd->row_max(l, k) : row_max(l, k);
        if (mx == -kInf) {
          std::fill(yr, yr + k, 0.0f);
          if (ys) std::fill(ys, ys + k, 0.0f);
          index[r] = -1;
          kl[r] = 0.0f;
          continue;
        }
        float vmax = -kInf;
        const index_t best =
            simd ? simd->perturb(v, &vmax, l, k, mx, inv_tau)
                 : perturb(v, &vmax, l, k, mx, inv_tau, seed, offset, static_cast<uint64_t>(r) * blocks);
        const double inv_s = 1.0 / (simd ? simd->exp_sum(v, k, vmax) : exp_sum(v, k, vmax));
        if (ys) simd ? simd->scale(ys, v, k, inv_s) : scale(ys, v, k, inv_s);
        if (hard) {
          std::fill(yr, yr + k, 0.0f);
          yr[best] = 1.0f;
        } else if (ys) {
          std::copy(ys, ys + k, yr);
        } else {
          simd ? simd->scale(yr, v, k, inv_s) : scale(yr, v, k, inv_s);
        }
        index[r] = static_cast<int32_t>(best);
        double log_s = 0.0;
        const double h = simd ? simd->entropy(l, k, mx, &log_s) : row_entropy(l, k, mx, &log_s);
        kl[r] = static_cast<float>(std::log(static_cast<double>(k)) - h);
      }
    }
  }
}

void gumbel_softmax_forward(float* y, float* y_soft, int32_t* index, float* kl, const float* logits, index_t n,
                            index_t k, float tau, uint64_t seed, uint64_t offset_in, bool hard, GumbelDeviceArgs dev) {
  gumbel_softmax_forward_with(gumbel_simd(cpu_isa()), y, y_soft, index, kl, logits, n, k, tau, seed, offset_in, hard,
                              dev);
}

void gumbel_softmax_backward_with(const GumbelSimd* simd, float* dlogits, const float* dy, const float* y_soft,
                                  const float* dkl, const float* logits, index_t n, index_t k, float tau,
                                  GumbelDeviceArgs dev) {
  const float inv_tau = gumbel_inv_tau(tau, dev);
#pragma omp parallel for if (n * k >= kParallelMin) schedule(static)
  for (index_t r = 0; r < n; ++r) {
    float* dl = dlogits + r * k;
    if (dy && simd) {
      simd->softmax_grad(dl, y_soft + r * k, dy + r * k, k, inv_tau);
    } else if (dy) {
      const float* yr = y_soft + r * k;
      const float* dyr = dy + r * k;
      double dot = 0.0;
      for (index_t j = 0; j < k; ++j) dot += static_cast<double>(yr[j]) * dyr[j];
      for (index_t j = 0; j < k; ++j) dl[j] = static_cast<float>(yr[j] * (dyr[j] - dot) * inv_tau);
    } else {
      for (index_t j = 0; j < k; ++j) dl[j] = 0.0f;
    }
    if (dkl) {
      const float* l = logits + r * k;
      const float mx = simd ? simd->row_max(l, k) : row_max(l, k);
      if (mx == -kInf) continue;  // no distribution, no gradient
      double log_s = 0.0;
      const double h = simd ? simd->entropy(l, k, mx, &log_s) : row_entropy(l, k, mx, &log_s);
      if (simd) {
        simd->kl_grad(dl, l, k, mx, log_s, h, dkl[r]);
        continue;
      }
      for (index_t j = 0; j < k; ++j) {
        const float a = l[j] - mx;
        if (a == -kInf) continue;
        const double log_q = a - log_s;
        dl[j] += static_cast<float>(dkl[r] * std::exp(static_cast<float>(log_q)) * (log_q + h));
      }
    }
  }
}

void gumbel_softmax_backward(float* dlogits, const float* dy, const float* y_soft, const float* dkl,
                             const float* logits, index_t n, index_t k, float tau, GumbelDeviceArgs dev) {
  gumbel_softmax_backward_with(gumbel_simd(cpu_isa()), dlogits, dy, y_soft, dkl, logits, n, k, tau, dev);
}

}  // namespace lvk::kernels::cpu
