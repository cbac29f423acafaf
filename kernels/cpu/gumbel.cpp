// CPU twins of kernels/gumbel.h: the reference. One row at a time (rows in parallel), sums in
// double, the same f32 noise and logits arithmetic as the CUDA kernels so the sampled index agrees.
#include "kernels/gumbel.h"

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/stochastic_math.h"

namespace lvk::kernels::cpu {

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
// Below this many elements a parallel region costs more than it saves.
constexpr index_t kParallelMin = 1 << 15;

float row_max(const float* x, index_t k) {
  float m = -kInf;
  for (index_t j = 0; j < k; ++j) m = std::max(m, x[j]);
  return m;
}

// Entropy of q = softmax(l) from the row max: H = log s - sum(e*a)/s, e = exp(a), a = l - max.
// exp in f32 (as on the GPU), sums in double.
double row_entropy(const float* l, index_t k, float mx, double& log_s) {
  double s = 0.0, t = 0.0;
  for (index_t j = 0; j < k; ++j) {
    const float a = l[j] - mx;
    if (a == -kInf) continue;  // masked: contributes 0 (and 0 * -inf must not become NaN)
    const float e = std::exp(a);
    s += e;
    t += static_cast<double>(e) * a;
  }
  log_s = std::log(s);
  return log_s - t / s;
}
}  // namespace

void gumbel_softmax_forward(float* y, float* y_soft, int32_t* index, float* kl, const float* logits, index_t n,
                            index_t k, float tau, uint64_t seed, uint64_t offset_in, bool hard, GumbelDeviceArgs dev) {
  const float inv_tau = gumbel_inv_tau(tau, dev);
  const uint64_t offset = gumbel_offset(offset_in, dev);
  const uint64_t blocks = gumbel_blocks_per_row(k);
#pragma omp parallel if (n * k >= kParallelMin)
  {
    std::vector<float> v(static_cast<size_t>(k));
#pragma omp for schedule(static)
    for (index_t r = 0; r < n; ++r) {
      const float* l = logits + r * k;
      float* yr = y + r * k;
      float* ys = y_soft ? y_soft + r * k : nullptr;
      const float mx = row_max(l, k);
      if (mx == -kInf) {
        for (index_t j = 0; j < k; ++j) yr[j] = 0.0f;
        if (ys)
          for (index_t j = 0; j < k; ++j) ys[j] = 0.0f;
        index[r] = -1;
        kl[r] = 0.0f;
        continue;
      }
      float vmax = -kInf;
      index_t best = 0;
      for (index_t c = 0; c * 4 < k; ++c) {
        const PhiloxBlock b = philox_block(seed, offset, static_cast<uint64_t>(r) * blocks + c);
        for (index_t w = 0; w < 4 && c * 4 + w < k; ++w) {
          const index_t j = c * 4 + w;
          const float g = gumbel_from_uniform(philox_to_uniform(b.v[w]));
          const float t = ((l[j] - mx) + g) * inv_tau;
          v[j] = t;
          if (t > vmax) {  // strict: ties keep the lowest index
            vmax = t;
            best = j;
          }
        }
      }
      double s = 0.0;
      for (index_t j = 0; j < k; ++j) {
        v[j] = std::exp(v[j] - vmax);  // -inf (masked) gives 0
        s += v[j];
      }
      const double inv_s = 1.0 / s;
      for (index_t j = 0; j < k; ++j) {
        const float soft = static_cast<float>(v[j] * inv_s);
        yr[j] = hard ? (j == best ? 1.0f : 0.0f) : soft;
        if (ys) ys[j] = soft;
      }
      index[r] = static_cast<int32_t>(best);
      double log_s = 0.0;
      kl[r] = static_cast<float>(std::log(static_cast<double>(k)) - row_entropy(l, k, mx, log_s));
    }
  }
}

void gumbel_softmax_backward(float* dlogits, const float* dy, const float* y_soft, const float* dkl,
                             const float* logits, index_t n, index_t k, float tau, GumbelDeviceArgs dev) {
  const float inv_tau = gumbel_inv_tau(tau, dev);
#pragma omp parallel for if (n * k >= kParallelMin) schedule(static)
  for (index_t r = 0; r < n; ++r) {
    float* dl = dlogits + r * k;
    for (index_t j = 0; j < k; ++j) dl[j] = 0.0f;
    if (dy) {
      const float* yr = y_soft + r * k;
      const float* dyr = dy + r * k;
      double dot = 0.0;
      for (index_t j = 0; j < k; ++j) dot += static_cast<double>(yr[j]) * dyr[j];
      for (index_t j = 0; j < k; ++j) dl[j] = static_cast<float>(yr[j] * (dyr[j] - dot) * inv_tau);
    }
    if (dkl) {
      const float* l = logits + r * k;
      const float mx = row_max(l, k);
      if (mx == -kInf) continue;  // no distribution, no gradient
      double log_s = 0.0;
      const double h = row_entropy(l, k, mx, log_s);
      for (index_t j = 0; j < k; ++j) {
        const float a = l[j] - mx;
        if (a == -kInf) continue;
        const double log_q = a - log_s;
        dl[j] += static_cast<float>(dkl[r] * std::exp(static_cast<float>(log_q)) * (log_q + h));
      }
    }
  }
}

void gumbel_noise(float* g, index_t n, index_t k, uint64_t seed, uint64_t offset) {
  const uint64_t blocks = gumbel_blocks_per_row(k);
#pragma omp parallel for if (n * k >= kParallelMin) schedule(static)
  for (index_t r = 0; r < n; ++r)
    for (index_t c = 0; c * 4 < k; ++c) {
      const PhiloxBlock b = philox_block(seed, offset, static_cast<uint64_t>(r) * blocks + c);
      for (index_t w = 0; w < 4 && c * 4 + w < k; ++w)
        g[r * k + c * 4 + w] = gumbel_from_uniform(philox_to_uniform(b.v[w]));
    }
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
