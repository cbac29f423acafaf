// CPU twins of kernels/elementwise.h: plain loops, OpenMP above a size where threads pay off.
#include "kernels/elementwise.h"

#include "base/philox.h"

namespace lvk::kernels::cpu {

namespace {
constexpr index_t kParallelMin = 1 << 16;

template <class F>
void for_each_index(index_t n, F f) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (index_t i = 0; i < n; ++i) f(i);
}
}  // namespace

void fill_f32(float* out, float value, index_t n) {
  for_each_index(n, [=](index_t i) { out[i] = value; });
}
void fill_i32(int32_t* out, int32_t value, index_t n) {
  for_each_index(n, [=](index_t i) { out[i] = value; });
}
void fill_from_scalar(float* out, const float* scalar, float factor, index_t n) {
  const float v = factor * scalar[0];
  for_each_index(n, [=](index_t i) { out[i] = v; });
}
void add(float* out, const float* a, const float* b, index_t n) {
  for_each_index(n, [=](index_t i) { out[i] = a[i] + b[i]; });
}
void sub(float* out, const float* a, const float* b, index_t n) {
  for_each_index(n, [=](index_t i) { out[i] = a[i] - b[i]; });
}
void mul(float* out, const float* a, const float* b, index_t n) {
  for_each_index(n, [=](index_t i) { out[i] = a[i] * b[i]; });
}
void scale(float* out, const float* x, float alpha, index_t n) {
  for_each_index(n, [=](index_t i) { out[i] = alpha * x[i]; });
}
void axpy(float* y, const float* x, float alpha, index_t n) {
  for_each_index(n, [=](index_t i) { y[i] += alpha * x[i]; });
}
void uniform(float* out, uint64_t seed, uint64_t offset, index_t n) {
  for_each_index(n, [=](index_t i) { out[i] = philox_uniform(seed, offset, static_cast<uint64_t>(i)); });
}
void normal(float* out, uint64_t seed, uint64_t offset, index_t n) {
  for_each_index(n, [=](index_t i) { out[i] = philox_normal(seed, offset, static_cast<uint64_t>(i)); });
}

}  // namespace lvk::kernels::cpu
