#pragma once
// Codebook-learning kernels: the EMA codebook update, dead-code restarts, the k-means centroid
// step and row l2-normalisation for cosine-similarity codebooks. Shapes and the z layout as in
// kernels/vq.h. CPU twins in cpu/vq_learn.cpp, CUDA twins in cuda/vq_learn.cu.
#include "kernels/step.h"
#include "kernels/vq.h"

namespace lvk::kernels {

struct VqEmaParams {
  float decay = 0.99f;      // gamma
  float eps = 1e-5f;        // Laplace smoothing
  float correction = 1.0f;  // 1 - gamma^t with bias correction, else 1
  // A train step's device state, or null. When given, the update does nothing on a skipped step,
  // and with bias_correction the correction is 1 - gamma^(step + 1) (`correction` is unused).
  const StepState* step = nullptr;
  bool bias_correction = true;
};

// A dead-code restart: codes with usage_k < threshold restart from batch row r_k = floor(u_k N),
// u_k the k-th Philox uniform of (seed, offset).
struct VqRestartParams {
  float threshold = 1.0f;
  uint64_t seed = 0, offset = 0;
  // A train step's device state, or null. When given, a skipped step restarts nothing, `offset`
  // counts from the step's noise base, and with decay > 0 the threshold is scaled by
  // 1 - decay^(step + 1) (compared with EMA counts that start at zero).
  const StepState* step = nullptr;
  float decay = 0.0f;
  float* restarted = nullptr;  // nullable f32 [1]: += the number of codes restarted
};

// The threshold and offset of a restart; a negative threshold restarts nothing (usage >= 0).
LVK_HD float vq_restart_threshold(const VqRestartParams& p) {
  if (!p.step) return p.threshold;
  if (p.step->skip) return -1.0f;
  return p.decay > 0.0f
             ? p.threshold *
                   static_cast<float>(1.0 - pow(static_cast<double>(p.decay), static_cast<double>(p.step->step + 1)))
             : p.threshold;
}
LVK_HD uint64_t vq_restart_offset(const VqRestartParams& p) {
  return p.offset + (p.step ? p.step->noise_base : 0);
}

// The correction of this update, or 0 when the step is skipped (nothing may change then).
LVK_HD float vq_ema_correction(const VqEmaParams& p) {
  if (!p.step) return p.correction;
  if (p.step->skip) return 0.0f;
  return p.bias_correction
             ? static_cast<float>(1.0 - pow(static_cast<double>(p.decay), static_cast<double>(p.step->step + 1)))
             : 1.0f;
}

#define LVK_VQ_LEARN_DECLS(...)                                                                                 \
  /* One EMA step from this batch's per-code sums and counts:                                                   \
       ema_count = g ema_count + (1 - g) counts;  ema_sum = g ema_sum + (1 - g) sums                            \
       N_k = ema_count_k / corr, n = sum_k N_k, M_k = ema_sum_k / corr                                          \
       codebook_k = M_k / ((N_k + eps) / (n + K eps) * n)   for codes with ema_count_k > 0                      \
     Codes that have never been assigned (ema_count_k == 0) keep their vector. workspace: the                   \
     floats kernels::sum_workspace_size(K) + 1 (unused on the CPU). */                                          \
  void vq_ema_update(float* codebook /* [K, C] */, float* ema_count /* [K] */, float* ema_sum /* [K, C] */,     \
                     const float* sums /* [K, C] */, const int32_t* counts /* [K] */, VqEmaParams p, index_t k, \
                     index_t c, float* workspace __VA_ARGS__);                                                  \
  /* Codes below the threshold restart as VqRestartParams says. When ema_sum is given a code                    \
     restarts as one observation (ema_sum_k = z_r, usage_k = 1). */                                             \
  void vq_restart(float* codebook /* [K, C] */, float* ema_sum /* [K, C] or null */, float* usage /* [K] */,    \
                  const float* z, VqRestartParams p, VqShape shape __VA_ARGS__);                                \
  /* codebook_k = sums_k / counts_k where counts_k > 0 (empty clusters keep their centre). */                   \
  void vq_centroid_update(float* codebook /* [K, C] */, const float* sums /* [K, C] */,                         \
                          const int32_t* counts /* [K] */, index_t k, index_t c __VA_ARGS__);                   \
  /* y_i = x_i / max(||x_i||, 1e-12) per row (z layout); norms [N] keeps ||x_i|| for backward. */               \
  void l2_normalize_rows(float* y, float* norms /* [N] */, const float* x, VqShape shape __VA_ARGS__);          \
  /* dx_i = (dy_i - y_i (y_i . dy_i)) / max(||x_i||, 1e-12) (written). */                                       \
  void l2_normalize_rows_backward(float* dx, const float* dy, const float* y, const float* norms,               \
                                  VqShape shape __VA_ARGS__);

namespace cpu {
LVK_VQ_LEARN_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_VQ_LEARN_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_VQ_LEARN_DECLS

// Row index a restart of code k picks, identical on both twins.
#if defined(__CUDACC__)
__host__ __device__
#endif
    inline index_t
    vq_restart_row(float u, index_t n) {
  const index_t r = static_cast<index_t>(static_cast<double>(u) * static_cast<double>(n));
  return r < n ? r : n - 1;
}

}  // namespace lvk::kernels
