#include "kernels/reduce.h"

#include <cmath>

namespace lvk::kernels {

namespace cpu {
void sum(float* out, const float* x, index_t n, float* /*workspace*/) {
  double acc = 0.0;  // the reference: double, sequential, order fixed
  for (index_t i = 0; i < n; ++i) acc += x[i];
  out[0] = static_cast<float>(acc);
}

void count_nonfinite(float* out, const float* x, index_t n, float* /*workspace*/) {
  index_t count = 0;
#pragma omp parallel for reduction(+ : count) if (n > (1 << 16))
  for (index_t i = 0; i < n; ++i) count += std::isfinite(x[i]) ? 0 : 1;
  out[0] = static_cast<float>(count);
}
}  // namespace cpu

}  // namespace lvk::kernels
