#include "kernels/actnorm.h"
#include "kernels/cuda/launch.cuh"

namespace lvk::kernels::cuda {

namespace {
__global__ void apply_kernel(float* y, const float* x, const float* __restrict__ log_scale,
                             const float* __restrict__ bias, int64_t rows, int64_t cols, bool inverse) {
  LVK_GRID_STRIDE_LOOP(i, rows * cols) {
    const int64_t c = i % cols;
    y[i] = inverse ? (x[i] - bias[c]) * expf(-log_scale[c]) : fmaf(x[i], expf(log_scale[c]), bias[c]);
  }
}

__global__ void backward_kernel(float* __restrict__ din, float* __restrict__ dscaled, const float* __restrict__ dout,
                                const float* __restrict__ t, const float* __restrict__ log_scale, int64_t rows,
                                int64_t cols, bool inverse) {
  LVK_GRID_STRIDE_LOOP(i, rows * cols) {
    const float ls = log_scale[i % cols], e = expf(inverse ? -ls : ls);
    din[i] = dout[i] * e;
    dscaled[i] = inverse ? dout[i] * t[i] : dout[i] * t[i] * e;
  }
}
}  // namespace

void actnorm_apply(float* y, const float* x, const float* log_scale, const float* bias, index_t rows, index_t cols,
                   bool inverse, cudaStream_t stream) {
  if (rows * cols == 0) return;
  launch<apply_kernel>(grid_for(rows * cols), kBlock, 0, stream, y, x, log_scale, bias, rows, cols, inverse);
  LVK_LAUNCH_CHECK(apply_kernel);
}

void actnorm_backward(float* din, float* dscaled, const float* dout, const float* t, const float* log_scale,
                      index_t rows, index_t cols, bool inverse, cudaStream_t stream) {
  if (rows * cols == 0) return;
  launch<backward_kernel>(grid_for(rows * cols), kBlock, 0, stream, din, dscaled, dout, t, log_scale, rows, cols,
                          inverse);
  LVK_LAUNCH_CHECK(backward_kernel);
}

}  // namespace lvk::kernels::cuda
