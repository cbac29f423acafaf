#include "kernels/coupling_unfused.h"
#include "kernels/cuda/launch.cuh"

namespace lvk::kernels::cuda {

void coupling_forward_unfused(float* y, float* logdet, const float* x, const float* mask, const float* s_raw,
                              const float* t, float scale, index_t n, index_t d, float* scratch, cudaStream_t stream) {
  const int64_t nd = n * d;
  float *s = scratch, *e = scratch + nd, *masked = scratch + 2 * nd;
  launch_map(nd, stream, [=] __device__(int64_t i) { s[i] = scale * tanhf(s_raw[i]); });
  launch_map(nd, stream, [=] __device__(int64_t i) { e[i] = expf(s[i]); });
  launch_map(nd, stream, [=] __device__(int64_t i) { y[i] = x[i] * e[i]; });
  launch_map(nd, stream, [=] __device__(int64_t i) { y[i] = y[i] + t[i]; });
  launch_map(nd, stream, [=] __device__(int64_t i) { y[i] = mask[i % d] * x[i] + (1.0f - mask[i % d]) * y[i]; });
  launch_map(nd, stream, [=] __device__(int64_t i) { masked[i] = (1.0f - mask[i % d]) * s[i]; });
  // A row sum the way a generic reduction kernel does it: one thread per row.
  launch_map(n, stream, [=] __device__(int64_t r) {
    float acc = 0.0f;
    for (int64_t j = 0; j < d; ++j) acc += masked[r * d + j];
    logdet[r] = acc;
  });
}

}  // namespace lvk::kernels::cuda
