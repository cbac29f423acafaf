// CPU twins of the VQ backward pieces and per-code statistics (kernels/vq.h); the CUDA twins are
// in cuda/vq_grad.cu.
#include <algorithm>
#include <vector>

#include "kernels/vq.h"

namespace lvk::kernels::cpu {

void vq_commitment_grad(float* dz, const float* z, const float* codebook, const int32_t* indices, const float* g,
                        float scale, VqShape s) {
  const float f = scale * g[0];
#pragma omp parallel for schedule(static) if (s.n * s.c >= (1 << 16))
  for (index_t i = 0; i < s.n; ++i) {
    const float* e = codebook + static_cast<index_t>(indices[i]) * s.c;
    for (index_t ch = 0; ch < s.c; ++ch) {
      const index_t off = vq_offset(i, ch, s);
      dz[off] = f * (z[off] - e[ch]);
    }
  }
}

void vq_cluster_sums(float* sums, int32_t* counts, const float* z, const int32_t* indices, VqShape s,
                     void* /*workspace*/) {
  std::fill(sums, sums + s.k * s.c, 0.0f);
  std::fill(counts, counts + s.k, 0);
  for (index_t i = 0; i < s.n; ++i) ++counts[indices[i]];
    // Channels are independent: each thread owns some channels and walks the rows in order, so
    // every sum is a plain ascending-row float sum (the CUDA twin adds chunk partials, so the two
    // may differ by rounding; cuda/vq_grad.cu).
#pragma omp parallel for schedule(static) if (s.n * s.c >= (1 << 16))
  for (index_t ch = 0; ch < s.c; ++ch)
    for (index_t i = 0; i < s.n; ++i) sums[static_cast<index_t>(indices[i]) * s.c + ch] += z[vq_offset(i, ch, s)];
}

void vq_codebook_grad(float* dcodebook, const float* z, const float* codebook, const int32_t* indices, const float* g,
                      float scale, VqShape s, void* workspace) {
  std::vector<float> sums(static_cast<size_t>(s.k * s.c));
  std::vector<int32_t> counts(static_cast<size_t>(s.k));
  vq_cluster_sums(sums.data(), counts.data(), z, indices, s, workspace);
  const float f = scale * g[0];
  for (index_t j = 0; j < s.k; ++j)
    for (index_t ch = 0; ch < s.c; ++ch) {
      const index_t o = j * s.c + ch;
      dcodebook[o] += f * (static_cast<float>(counts[j]) * codebook[o] - sums[o]);
    }
}

}  // namespace lvk::kernels::cpu
