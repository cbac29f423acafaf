#pragma once
// Full reductions, deterministic: per-block partials reduced in a fixed order, never atomics.
#include "kernels/twins.h"

namespace lvk::kernels {

// The CUDA sum: pass 1 reduces blocks of kSumBlock threads (grid-stride) into at most
// kSumMaxPartials partials, pass 2 reduces those in one block.
constexpr int kSumBlock = 512;
constexpr index_t kSumMaxPartials = 1024;

// Floats of scratch space the CUDA sum needs for n inputs (the CPU twin needs none).
constexpr index_t sum_workspace_size(index_t n) {
  const index_t blocks = (n + kSumBlock - 1) / kSumBlock;
  return blocks < 1 ? 1 : blocks > kSumMaxPartials ? kSumMaxPartials : blocks;
}

namespace cpu {
// out[0] = sum of x[0..n), accumulated in double.
void sum(float* out /* [1] */, const float* x /* [n] */, index_t n, float* workspace);
// out[0] = how many of x[0..n) are NaN or infinite (exact below 2^24, never 0 when any is).
void count_nonfinite(float* out /* [1] */, const float* x /* [n] */, index_t n, float* workspace);
}  // namespace cpu
#if LVK_WITH_CUDA
namespace cuda {
void sum(float* out /* [1] */, const float* x /* [n] */, index_t n, float* workspace /* [sum_workspace_size(n)] */,
         cudaStream_t stream);
void count_nonfinite(float* out /* [1] */, const float* x /* [n] */, index_t n,
                     float* workspace /* [sum_workspace_size(n)] */, cudaStream_t stream);
}  // namespace cuda
#endif

}  // namespace lvk::kernels
