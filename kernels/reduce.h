#pragma once
// Full reductions, deterministic: per-block partials reduced in a fixed order, never atomics.
#include "kernels/twins.h"

namespace lvk::kernels {

// Floats of scratch space the CUDA sum needs for n inputs (the CPU twin needs none).
index_t sum_workspace_size(index_t n);

namespace cpu {
// out[0] = sum of x[0..n), accumulated in double.
void sum(float* out /* [1] */, const float* x /* [n] */, index_t n, float* workspace);
}
#if LVK_WITH_CUDA
namespace cuda {
void sum(float* out /* [1] */, const float* x /* [n] */, index_t n, float* workspace /* [sum_workspace_size(n)] */,
         cudaStream_t stream);
}
#endif

}  // namespace lvk::kernels
