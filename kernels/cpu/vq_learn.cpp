// CPU twins of kernels/vq_learn.h: plain loops in a fixed order (the reference).
#include "kernels/vq_learn.h"

#include <algorithm>
#include <cmath>

#include "base/philox.h"

namespace lvk::kernels::cpu {

void vq_ema_update(float* codebook, float* ema_count, float* ema_sum, const float* sums, const int32_t* counts,
                   VqEmaParams p, index_t k, index_t c, float* /*workspace*/) {
  const float correction = vq_ema_correction(p);
  if (correction == 0.0f) return;  // a skipped step
  const float g = p.decay, h = 1.0f - p.decay;
  for (index_t j = 0; j < k; ++j) ema_count[j] = g * ema_count[j] + h * static_cast<float>(counts[j]);
  for (index_t o = 0; o < k * c; ++o) ema_sum[o] = g * ema_sum[o] + h * sums[o];
  double total = 0.0;  // the same double sequential sum as kernels::cpu::sum
  for (index_t j = 0; j < k; ++j) total += ema_count[j];
  const float n = static_cast<float>(total) / correction;
  for (index_t j = 0; j < k; ++j) {
    if (ema_count[j] == 0.0f) continue;
    const float nk = ema_count[j] / correction;
    const float smoothed = (nk + p.eps) / (n + static_cast<float>(k) * p.eps) * n;
    for (index_t ch = 0; ch < c; ++ch) codebook[j * c + ch] = ema_sum[j * c + ch] / correction / smoothed;
  }
}

void vq_restart(float* codebook, float* ema_sum, float* usage, const float* z, VqRestartParams p, VqShape s) {
  if (s.n == 0) return;
  const float threshold = vq_restart_threshold(p);
  const uint64_t offset = vq_restart_offset(p);
  float restarted = 0.0f;
  for (index_t j = 0; j < s.k; ++j) {
    if (!(usage[j] < threshold)) continue;
    restarted += 1.0f;
    const index_t r = vq_restart_row(philox_uniform(p.seed, offset, static_cast<uint64_t>(j)), s.n);
    for (index_t ch = 0; ch < s.c; ++ch) {
      const float v = z[vq_offset(r, ch, s)];
      codebook[j * s.c + ch] = v;
      if (ema_sum) ema_sum[j * s.c + ch] = v;
    }
    if (ema_sum) usage[j] = 1.0f;
  }
  if (p.restarted) *p.restarted += restarted;
}

void vq_centroid_update(float* codebook, const float* sums, const int32_t* counts, index_t k, index_t c) {
  for (index_t j = 0; j < k; ++j)
    if (counts[j] > 0)
      for (index_t ch = 0; ch < c; ++ch) codebook[j * c + ch] = sums[j * c + ch] / static_cast<float>(counts[j]);
}

void l2_normalize_rows(float* y, float* norms, const float* x, VqShape s) {
#pragma omp parallel for schedule(static) if (s.n * s.c >= (1 << 16))
  for (index_t i = 0; i < s.n; ++i) {
    float acc = 0.0f;
    for (index_t ch = 0; ch < s.c; ++ch) acc += x[vq_offset(i, ch, s)] * x[vq_offset(i, ch, s)];
    const float nrm = std::sqrt(acc);
    norms[i] = nrm;
    const float inv = 1.0f / std::max(nrm, 1e-12f);
    for (index_t ch = 0; ch < s.c; ++ch) y[vq_offset(i, ch, s)] = x[vq_offset(i, ch, s)] * inv;
  }
}

void l2_normalize_rows_backward(float* dx, const float* dy, const float* y, const float* norms, VqShape s) {
#pragma omp parallel for schedule(static) if (s.n * s.c >= (1 << 16))
  for (index_t i = 0; i < s.n; ++i) {
    float dot = 0.0f;
    for (index_t ch = 0; ch < s.c; ++ch) dot += y[vq_offset(i, ch, s)] * dy[vq_offset(i, ch, s)];
    const float inv = 1.0f / std::max(norms[i], 1e-12f);
    for (index_t ch = 0; ch < s.c; ++ch) {
      const index_t o = vq_offset(i, ch, s);
      dx[o] = (dy[o] - y[o] * dot) * inv;
    }
  }
}

}  // namespace lvk::kernels::cpu
