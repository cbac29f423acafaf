#include "kernels/reduce.h"

namespace lvk::kernels {

#if !LVK_WITH_CUDA
index_t sum_workspace_size(index_t) { return 0; }  // CPU-only builds: the CUDA build defines it in cuda/reduce.cu
#endif

namespace cpu {
void sum(float* out, const float* x, index_t n, float* /*workspace*/) {
  double acc = 0.0;  // the reference: double, sequential, order fixed
  for (index_t i = 0; i < n; ++i) acc += x[i];
  out[0] = static_cast<float>(acc);
}
}  // namespace cpu

}  // namespace lvk::kernels
