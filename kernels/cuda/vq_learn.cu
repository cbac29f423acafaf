// CUDA twins of kernels/vq_learn.h. Elementwise grid-stride kernels; the only reduction (the
// total EMA count) reuses the deterministic two-pass sum of kernels/reduce.h.
#include "base/philox.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/reduce.h"
#include "kernels/vq_learn.h"

namespace lvk::kernels::cuda {

namespace {

__global__ void ema_accumulate_kernel(float* ema_count, float* ema_sum, const float* sums, const int32_t* counts,
                                      VqEmaParams p, int64_t k, int64_t c) {
  if (vq_ema_correction(p) == 0.0f) return;  // a skipped step
  const float decay = p.decay, h = 1.0f - decay;
  LVK_GRID_STRIDE_LOOP(o, k * c) {
    ema_sum[o] = decay * ema_sum[o] + h * sums[o];
    if (o < k) ema_count[o] = decay * ema_count[o] + h * static_cast<float>(counts[o]);
  }
}

__global__ void ema_apply_kernel(float* codebook, const float* ema_count, const float* ema_sum, const float* total,
                                 VqEmaParams p, int64_t k, int64_t c) {
  const float correction = vq_ema_correction(p);
  if (correction == 0.0f) return;
  const float n = __ldg(total) / correction;
  LVK_GRID_STRIDE_LOOP(o, k * c) {
    const int64_t j = o / c;
    const float count = ema_count[j];
    if (count == 0.0f) continue;
    const float nk = count / correction;
    const float smoothed = (nk + p.eps) / (n + static_cast<float>(k) * p.eps) * n;
    codebook[o] = ema_sum[o] / correction / smoothed;
  }
}

__global__ void restart_kernel(float* codebook, float* ema_sum, const float* usage, const float* z, VqRestartParams p,
                               VqShape s) {
  const float threshold = vq_restart_threshold(p);
  const uint64_t offset = vq_restart_offset(p);
  LVK_GRID_STRIDE_LOOP(o, s.k * s.c) {
    const int64_t j = o / s.c, ch = o % s.c;
    if (!(usage[j] < threshold)) continue;
    const int64_t r = vq_restart_row(philox_uniform(p.seed, offset, static_cast<uint64_t>(j)), s.n);
    const float v = z[vq_offset(r, ch, s)];
    codebook[o] = v;
    if (ema_sum) ema_sum[o] = v;
  }
}

// After every reader of usage has run: counts the restarted codes (integer-valued float adds,
// exact in any order) and, for EMA state, resets their usage to one observation.
__global__ void restart_usage_kernel(float* usage, bool reset, VqRestartParams p, int64_t k) {
  const float threshold = vq_restart_threshold(p);
  LVK_GRID_STRIDE_LOOP(j, k) {
    if (!(usage[j] < threshold)) continue;
    if (p.restarted) atomicAdd(p.restarted, 1.0f);
    if (reset) usage[j] = 1.0f;
  }
}

__global__ void centroid_kernel(float* codebook, const float* sums, const int32_t* counts, int64_t k, int64_t c) {
  LVK_GRID_STRIDE_LOOP(o, k * c) {
    const int32_t n = counts[o / c];
    if (n > 0) codebook[o] = sums[o] / static_cast<float>(n);
  }
}

// One thread per row: rows are short (C <= 1024) and this is not on the hot path.
__global__ void normalize_kernel(float* y, float* norms, const float* x, VqShape s) {
  LVK_GRID_STRIDE_LOOP(i, s.n) {
    float acc = 0.0f;
    for (int64_t ch = 0; ch < s.c; ++ch) {
      const float v = x[vq_offset(i, ch, s)];
      acc = fmaf(v, v, acc);
    }
    const float nrm = sqrtf(acc);
    norms[i] = nrm;
    const float inv = 1.0f / fmaxf(nrm, 1e-12f);
    for (int64_t ch = 0; ch < s.c; ++ch) y[vq_offset(i, ch, s)] = x[vq_offset(i, ch, s)] * inv;
  }
}

__global__ void normalize_backward_kernel(float* dx, const float* dy, const float* y, const float* norms, VqShape s) {
  LVK_GRID_STRIDE_LOOP(i, s.n) {
    float dot = 0.0f;
    for (int64_t ch = 0; ch < s.c; ++ch) dot = fmaf(y[vq_offset(i, ch, s)], dy[vq_offset(i, ch, s)], dot);
    const float inv = 1.0f / fmaxf(norms[i], 1e-12f);
    for (int64_t ch = 0; ch < s.c; ++ch) {
      const int64_t o = vq_offset(i, ch, s);
      dx[o] = (dy[o] - y[o] * dot) * inv;
    }
  }
}

}  // namespace

void vq_ema_update(float* codebook, float* ema_count, float* ema_sum, const float* sums, const int32_t* counts,
                   VqEmaParams p, index_t k, index_t c, float* workspace, cudaStream_t stream) {
  if (k == 0) return;
  const int64_t kc = k * std::max<int64_t>(c, 1);
  launch<ema_accumulate_kernel>(grid_for(kc), kBlock, 0, stream, ema_count, ema_sum, sums, counts, p, k,
                                std::max<int64_t>(c, 1));
  LVK_LAUNCH_CHECK(ema_accumulate_kernel);
  sum(workspace, ema_count, k, workspace + 1, stream);
  if (c == 0) return;
  launch<ema_apply_kernel>(grid_for(k * c), kBlock, 0, stream, codebook, ema_count, ema_sum, workspace, p, k, c);
  LVK_LAUNCH_CHECK(ema_apply_kernel);
}

void vq_restart(float* codebook, float* ema_sum, float* usage, const float* z, VqRestartParams p, VqShape s,
                cudaStream_t stream) {
  if (s.n == 0 || s.k == 0 || s.c == 0) return;
  launch<restart_kernel>(grid_for(s.k * s.c), kBlock, 0, stream, codebook, ema_sum, usage, z, p, s);
  LVK_LAUNCH_CHECK(restart_kernel);
  if (ema_sum || p.restarted) {
    launch<restart_usage_kernel>(grid_for(s.k), kBlock, 0, stream, usage, ema_sum != nullptr, p, s.k);
    LVK_LAUNCH_CHECK(restart_usage_kernel);
  }
}

void vq_centroid_update(float* codebook, const float* sums, const int32_t* counts, index_t k, index_t c,
                        cudaStream_t stream) {
  if (k * c == 0) return;
  launch<centroid_kernel>(grid_for(k * c), kBlock, 0, stream, codebook, sums, counts, k, c);
  LVK_LAUNCH_CHECK(centroid_kernel);
}

void l2_normalize_rows(float* y, float* norms, const float* x, VqShape s, cudaStream_t stream) {
  if (s.n == 0) return;
  launch<normalize_kernel>(grid_for(s.n), kBlock, 0, stream, y, norms, x, s);
  LVK_LAUNCH_CHECK(normalize_kernel);
}

void l2_normalize_rows_backward(float* dx, const float* dy, const float* y, const float* norms, VqShape s,
                                cudaStream_t stream) {
  if (s.n == 0) return;
  launch<normalize_backward_kernel>(grid_for(s.n), kBlock, 0, stream, dx, dy, y, norms, s);
  LVK_LAUNCH_CHECK(normalize_backward_kernel);
}

}  // namespace lvk::kernels::cuda
