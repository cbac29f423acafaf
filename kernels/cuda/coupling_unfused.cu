#include "kernels/coupling_unfused.h"
#include "kernels/cuda/launch.cuh"

namespace lvk::kernels::cuda {

namespace {
template <class F>
__global__ void pass_kernel(int64_t n, F f) {
  LVK_GRID_STRIDE_LOOP(i, n) f(i);
}
template <class F>
void pass(int64_t n, cudaStream_t stream, F f) {
  if (n == 0) return;
  pass_kernel<<<grid_for(n), kBlock, 0, stream>>>(n, f);
  LVK_LAUNCH_CHECK(pass_kernel);
}
}  // namespace

void coupling_forward_unfused(float* y, float* logdet, const float* x, const float* mask, const float* s_raw,
                              const float* t, float scale, index_t n, index_t d, float* scratch, cudaStream_t stream) {
  const int64_t nd = n * d;
  float *s = scratch, *e = scratch + nd, *masked = scratch + 2 * nd;
  pass(nd, stream, [=] __device__(int64_t i) { s[i] = scale * tanhf(s_raw[i]); });
  pass(nd, stream, [=] __device__(int64_t i) { e[i] = expf(s[i]); });
  pass(nd, stream, [=] __device__(int64_t i) { y[i] = x[i] * e[i]; });
  pass(nd, stream, [=] __device__(int64_t i) { y[i] = y[i] + t[i]; });
  pass(nd, stream, [=] __device__(int64_t i) { y[i] = mask[i % d] * x[i] + (1.0f - mask[i % d]) * y[i]; });
  pass(nd, stream, [=] __device__(int64_t i) { masked[i] = (1.0f - mask[i % d]) * s[i]; });
  // A row sum the way a generic reduction kernel does it: one thread per row.
  pass(n, stream, [=] __device__(int64_t r) {
    float acc = 0.0f;
    for (int64_t j = 0; j < d; ++j) acc += masked[r * d + j];
    logdet[r] = acc;
  });
}

}  // namespace lvk::kernels::cuda
