#include "kernels/reduce.h"

namespace lvk::kernels {

namespace cpu {
void sum(float* out, const float* x, index_t n, float* /*workspace*/) {
  double acc = 0.0;  // the reference: double, sequential, order fixed
  for (index_t i = 0; i < n; ++i) acc += x[i];
  out[0] = static_cast<float>(acc);
}
}  // namespace cpu

}  // namespace lvk::kernels
