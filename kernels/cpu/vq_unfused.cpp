// CPU twin of the unfused baseline's pieces (kernels/vq_unfused.h).
#include "kernels/vq_unfused.h"

#include <limits>

namespace lvk::kernels::cpu {

void vq_codebook_norms(float* norms, const float* codebook, index_t k, index_t c) {
  for (index_t j = 0; j < k; ++j) {
    float acc = 0.0f;
    for (index_t ch = 0; ch < c; ++ch) acc += codebook[j * c + ch] * codebook[j * c + ch];
    norms[j] = acc;
  }
}

void vq_argmin_scores(int32_t* indices, const float* dots, const float* norms, index_t n, index_t k) {
#pragma omp parallel for schedule(static) if (n * k >= (1 << 16))
  for (index_t i = 0; i < n; ++i) {
    const float* row = dots + i * k;
    float best = std::numeric_limits<float>::infinity();
    int32_t best_k = 0;
    for (index_t j = 0; j < k; ++j) {
      const float score = norms[j] - 2.0f * row[j];
      if (score < best) best = score, best_k = static_cast<int32_t>(j);
    }
    indices[i] = best_k;
  }
}

}  // namespace lvk::kernels::cpu
