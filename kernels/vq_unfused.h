#pragma once
// The unfused nearest-codebook composition a PyTorch user runs (scores = z E^T from a GEMM into
// an [N, K] buffer, then a separate argmin pass), kept only as the benchmark baseline for the
// fused kernels of kernels/vq.h. Ties go to the lowest index, as in the fused lookup.
#include "kernels/twins.h"

namespace lvk::kernels {

#define LVK_VQ_UNFUSED_DECLS(...)                                                                                 \
  /* norms[k] = ||e_k||^2 */                                                                                      \
  void vq_codebook_norms(float* norms /* [K] */, const float* codebook /* [K, C] */, index_t k,                   \
                         index_t c __VA_ARGS__);                                                                  \
  /* indices[i] = argmin_k norms[k] - 2 dots[i, k] */                                                             \
  void vq_argmin_scores(int32_t* indices /* [N] */, const float* dots /* [N, K] */, const float* norms /* [K] */, \
                        index_t n, index_t k __VA_ARGS__);

namespace cpu {
LVK_VQ_UNFUSED_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_VQ_UNFUSED_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_VQ_UNFUSED_DECLS

}  // namespace lvk::kernels
