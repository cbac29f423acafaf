#include "kernels/actnorm.h"

#include <cmath>

namespace lvk::kernels::cpu {

void actnorm_apply(float* y, const float* x, const float* log_scale, const float* bias, index_t rows, index_t cols,
                   bool inverse) {
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) {
      const index_t i = r * cols + c;
      y[i] = inverse ? (x[i] - bias[c]) * std::exp(-log_scale[c]) : x[i] * std::exp(log_scale[c]) + bias[c];
    }
}

void actnorm_backward(float* din, float* dscaled, const float* dout, const float* t, const float* log_scale,
                      index_t rows, index_t cols, bool inverse) {
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) {
      const index_t i = r * cols + c;
      const float e = std::exp(inverse ? -log_scale[c] : log_scale[c]);
      din[i] = dout[i] * e;
      dscaled[i] = inverse ? dout[i] * t[i] : dout[i] * t[i] * e;
    }
}

}  // namespace lvk::kernels::cpu
