#pragma once
// Code-usage statistics of a discrete latent layer, computed where the codes are so a train step
// reports them without a host round trip. CPU twins in cpu/code_stats.cpp, CUDA twins in
// cuda/code_stats.cu.
#include "kernels/twins.h"

namespace lvk::kernels {

#define LVK_CODE_STATS_DECLS(...)                                                                                \
  /* counts[j] = #{i : index[i] == j}, written; indices outside [0, k) (e.g. -1: a row with no */                \
  /* code) are not counted. */                                                                                   \
  void count_codes(int32_t* counts /* [k] */, const int32_t* index /* [n] */, index_t n, index_t k __VA_ARGS__); \
  /* perplexity = exp(-sum p log p), p = counts / sum(counts) (0 when the sum is 0), and */                      \
  /* usage = fraction of codes with a nonzero count; a fixed-order reduction in both twins. */                   \
  void code_statistics(float* perplexity /* [1] */, float* usage /* [1] */, const int32_t* counts /* [k] */,     \
                       index_t k __VA_ARGS__);

namespace cpu {
LVK_CODE_STATS_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_CODE_STATS_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_CODE_STATS_DECLS

}  // namespace lvk::kernels
