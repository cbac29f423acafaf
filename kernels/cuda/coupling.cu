// CUDA twins of kernels/coupling.h.
//
// Layout: a group of G lanes (G = 1..32, a power of two chosen from D) owns one row; lane l of the
// group walks features l, l + G, ..., so a warp reads 32 consecutive floats per step when G = 32
// and 32/G whole short rows when G < 32 (D = 2 for 2-D flows uses G = 1: a thread per row). The
// per-row logdet is a butterfly shuffle within the group: fixed order, deterministic. Loops run
// over warp-uniform row bases so every lane of a warp reaches every shuffle.
#include "kernels/coupling.h"
#include "kernels/coupling_math.h"
#include "kernels/cuda/launch.cuh"

namespace lvk::kernels::cuda {

namespace {

constexpr int kCouplingBlock = 256;

template <int G>
__device__ __forceinline__ float group_sum(float v) {
#pragma unroll
  for (int off = G / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off, G);
  return v;
}

// Calls body(row, lane, valid) for every row, with warp-uniform trip counts; returns nothing.
template <int G, class Body>
__device__ __forceinline__ void for_each_row(int64_t n, Body body) {
  constexpr int kRowsPerWarp = 32 / G;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
  const int group = (threadIdx.x % 32) / G, lane = threadIdx.x % G;
  for (int64_t base = warp * kRowsPerWarp; base < n; base += warps * kRowsPerWarp) {
    const int64_t row = base + group;
    body(row < n ? row : n - 1, lane, row < n);
  }
}

template <int G, bool kInverse>
__global__ void __launch_bounds__(kCouplingBlock)
    transform_kernel(float* __restrict__ out, float* __restrict__ logdet, const float* __restrict__ in,
                     const float* __restrict__ mask, const float* __restrict__ s_raw, const float* __restrict__ t,
                     float scale, int64_t n, int64_t d) {
  for_each_row<G>(n, [&](int64_t row, int lane, bool valid) {
    float acc = 0.0f;
    if (valid) {
      for (int64_t j = lane; j < d; j += G) {
        const int64_t i = row * d + j;
        const coupling::Forward f = kInverse ? coupling::inverse(in[i], __ldg(mask + j), s_raw[i], t[i], scale)
                                             : coupling::forward(in[i], __ldg(mask + j), s_raw[i], t[i], scale);
        out[i] = f.y;
        acc += f.logdet_term;
      }
    }
    acc = group_sum<G>(acc);
    if (valid && lane == 0) logdet[row] = acc;
  });
}

template <bool kInverse>
__global__ void __launch_bounds__(kCouplingBlock)
    grads_kernel(float* __restrict__ din, float* __restrict__ ds_raw, float* __restrict__ dt,
                 const float* __restrict__ dout, const float* __restrict__ dlogdet, const float* __restrict__ in,
                 const float* __restrict__ mask, const float* __restrict__ s_raw, const float* __restrict__ t,
                 float scale, int64_t n, int64_t d) {
  LVK_GRID_STRIDE_LOOP(i, n * d) {
    const int64_t row = i / d, j = i - row * d;
    const float dld = dlogdet ? dlogdet[row] : 0.0f;
    const coupling::Grads g = kInverse
                                  ? coupling::inverse_grads(dout[i], dld, in[i], __ldg(mask + j), s_raw[i], t[i], scale)
                                  : coupling::forward_grads(dout[i], dld, in[i], __ldg(mask + j), s_raw[i], scale);
    din[i] = g.dx, ds_raw[i] = g.ds_raw, dt[i] = g.dt;
  }
}

// The smallest power-of-two group that gives each lane about four features, capped at a warp.
int group_size(int64_t d) {
  int g = 1;
  while (g < 32 && static_cast<int64_t>(g) * 4 < d) g *= 2;
  return g;
}

template <bool kInverse>
void launch_transform(float* out, float* logdet, const float* in, const float* mask, const float* s_raw, const float* t,
                      float scale, int64_t n, int64_t d, cudaStream_t stream) {
  if (n == 0) return;
  const int g = group_size(d);
  const int64_t rows_per_block = kCouplingBlock / g;
  const unsigned grid = grid_for((n + rows_per_block - 1) / rows_per_block * kCouplingBlock, kCouplingBlock);
#define LVK_LAUNCH_GROUP(G)                                                                                           \
  case G:                                                                                                             \
    launch<transform_kernel<G, kInverse>>(grid, kCouplingBlock, 0, stream, out, logdet, in, mask, s_raw, t, scale, n, \
                                          d);                                                                         \
    break;
  switch (g) {
    LVK_LAUNCH_GROUP(1)
    LVK_LAUNCH_GROUP(2)
    LVK_LAUNCH_GROUP(4)
    LVK_LAUNCH_GROUP(8)
    LVK_LAUNCH_GROUP(16)
    LVK_LAUNCH_GROUP(32)
  }
#undef LVK_LAUNCH_GROUP
  LVK_LAUNCH_CHECK(transform_kernel);
}

}  // namespace

void coupling_forward(float* y, float* logdet, const float* x, const float* mask, const float* s_raw, const float* t,
                      float scale, index_t n, index_t d, cudaStream_t stream) {
  launch_transform<false>(y, logdet, x, mask, s_raw, t, scale, n, d, stream);
}

void coupling_inverse(float* x, float* logdet, const float* y, const float* mask, const float* s_raw, const float* t,
                      float scale, index_t n, index_t d, cudaStream_t stream) {
  launch_transform<true>(x, logdet, y, mask, s_raw, t, scale, n, d, stream);
}

void coupling_forward_backward(float* dx, float* ds_raw, float* dt, const float* dy, const float* dlogdet,
                               const float* x, const float* mask, const float* s_raw, float scale, index_t n, index_t d,
                               cudaStream_t stream) {
  if (n * d == 0) return;
  launch<grads_kernel<false>>(grid_for(n * d, kCouplingBlock), kCouplingBlock, 0, stream, dx, ds_raw, dt, dy, dlogdet,
                              x, mask, s_raw, nullptr, scale, n, d);
  LVK_LAUNCH_CHECK(grads_kernel);
}

void coupling_inverse_backward(float* dy, float* ds_raw, float* dt, const float* dx, const float* dlogdet,
                               const float* y, const float* mask, const float* s_raw, const float* t, float scale,
                               index_t n, index_t d, cudaStream_t stream) {
  if (n * d == 0) return;
  launch<grads_kernel<true>>(grid_for(n * d, kCouplingBlock), kCouplingBlock, 0, stream, dy, ds_raw, dt, dx, dlogdet, y,
                             mask, s_raw, t, scale, n, d);
  LVK_LAUNCH_CHECK(grads_kernel);
}

}  // namespace lvk::kernels::cuda
