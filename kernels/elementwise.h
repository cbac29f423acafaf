#pragma once
// Elementwise kernels and random fills. CPU twins in cpu/elementwise.cpp, CUDA twins in
// cuda/elementwise.cu, same signatures minus the stream. All pointers are [n] unless noted.
#include "kernels/twins.h"

namespace lvk::kernels {

#define LVK_ELEMENTWISE_DECLS(...)                                                                       \
  void fill_f32(float* out, float value, index_t n __VA_ARGS__);                                         \
  void fill_i32(int32_t* out, int32_t value, index_t n __VA_ARGS__);                                     \
  /* out = factor * scalar[0], broadcast: the backward of a full reduction, without a host sync */       \
  void fill_from_scalar(float* out, const float* scalar /* [1] */, float factor, index_t n __VA_ARGS__); \
  void add(float* out, const float* a, const float* b, index_t n __VA_ARGS__);                           \
  void sub(float* out, const float* a, const float* b, index_t n __VA_ARGS__);                           \
  void mul(float* out, const float* a, const float* b, index_t n __VA_ARGS__);                           \
  void scale(float* out, const float* x, float alpha, index_t n __VA_ARGS__);                            \
  /* y += alpha * x: how gradients accumulate */                                                         \
  void axpy(float* y, const float* x, float alpha, index_t n __VA_ARGS__);                               \
  /* Philox uniforms/normals of the stream (seed, offset): element i is draw i (base/philox.h) */        \
  void uniform(float* out, uint64_t seed, uint64_t offset, index_t n __VA_ARGS__);                       \
  void normal(float* out, uint64_t seed, uint64_t offset, index_t n __VA_ARGS__);

namespace cpu {
LVK_ELEMENTWISE_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_ELEMENTWISE_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_ELEMENTWISE_DECLS

}  // namespace lvk::kernels
