// CUDA twins of kernels/elementwise.h: grid-stride loops with 64-bit indices.
#include "base/philox.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/elementwise.h"

namespace lvk::kernels::cuda {

void fill_f32(float* out, float value, index_t n, cudaStream_t stream) {
  launch_map(n, stream, [=] __device__(int64_t i) { out[i] = value; });
}
void fill_i32(int32_t* out, int32_t value, index_t n, cudaStream_t stream) {
  launch_map(n, stream, [=] __device__(int64_t i) { out[i] = value; });
}
void fill_from_scalar(float* out, const float* scalar, float factor, index_t n, cudaStream_t stream) {
  launch_map(n, stream, [=] __device__(int64_t i) { out[i] = factor * __ldg(scalar); });
}
void add(float* out, const float* a, const float* b, index_t n, cudaStream_t stream) {
  launch_map(n, stream, [=] __device__(int64_t i) { out[i] = a[i] + b[i]; });
}
void sub(float* out, const float* a, const float* b, index_t n, cudaStream_t stream) {
  launch_map(n, stream, [=] __device__(int64_t i) { out[i] = a[i] - b[i]; });
}
void mul(float* out, const float* a, const float* b, index_t n, cudaStream_t stream) {
  launch_map(n, stream, [=] __device__(int64_t i) { out[i] = a[i] * b[i]; });
}
void scale(float* out, const float* x, float alpha, index_t n, cudaStream_t stream) {
  launch_map(n, stream, [=] __device__(int64_t i) { out[i] = alpha * x[i]; });
}
void axpy(float* y, const float* x, float alpha, index_t n, cudaStream_t stream) {
  launch_map(n, stream, [=] __device__(int64_t i) { y[i] += alpha * x[i]; });
}
void uniform(float* out, uint64_t seed, uint64_t offset, index_t n, cudaStream_t stream) {
  launch_map(n, stream, [=] __device__(int64_t i) { out[i] = philox_uniform(seed, offset, static_cast<uint64_t>(i)); });
}
void normal(float* out, uint64_t seed, uint64_t offset, index_t n, cudaStream_t stream) {
  launch_map(n, stream, [=] __device__(int64_t i) { out[i] = philox_normal(seed, offset, static_cast<uint64_t>(i)); });
}

}  // namespace lvk::kernels::cuda
