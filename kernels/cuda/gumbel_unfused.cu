// CUDA twins of the unfused building blocks in kernels/gumbel.h: what a framework runs as separate
// passes (noise, add, scale, softmax, argmax, one-hot). Reasonable kernels, not strawmen: the row
// softmax is a single-read online (max, sum) plus a write pass, rows reduced by a warp or a block.
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row_reduce.cuh"
#include "kernels/gumbel.h"
#include "kernels/stochastic_math.h"

namespace lvk::kernels::cuda {

namespace {

constexpr float kInf = __builtin_huge_valf();

struct ArgMax {
  float v;
  int i;
};
__device__ __forceinline__ ArgMax shfl_xor(const ArgMax& v, int mask) {
  return {cuda::shfl_xor(v.v, mask), cuda::shfl_xor(v.i, mask)};
}
struct MergeArgMax {
  __device__ __forceinline__ ArgMax operator()(const ArgMax& a, const ArgMax& b) const {
    if (a.v > b.v) return a;
    if (b.v > a.v) return b;
    return a.i < b.i ? a : b;
  }
};
struct Add {
  __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
};

constexpr int kRowThreads = 256;

// Rows go to a warp (K <= 1024) or a block of 256 threads; both loop over the row.
template <int G>
__device__ __forceinline__ int64_t row_of_thread() {
  return G > 32 ? static_cast<int64_t>(blockIdx.x)
                : static_cast<int64_t>(blockIdx.x) * (kRowThreads / 32) + threadIdx.x / 32;
}

template <int G>
__global__ void __launch_bounds__(kRowThreads) softmax_kernel(float* y, const float* x, int64_t n, int64_t k) {
  __shared__ MaxSum smem[G > 32 ? G / 32 : 1];
  const int64_t row = row_of_thread<G>();
  if (G <= 32 && row >= n) return;  // whole warps only
  const int lane = static_cast<int>(threadIdx.x % G);
  const float* xr = x + row * k;
  MaxSum st{-kInf, 0.0f};
  for (int64_t j = lane; j < k; j += G) st = MergeMaxSum{}(st, MaxSum{xr[j], 1.0f});
  st = group_allreduce<G>(st, MergeMaxSum{}, smem);
  const float inv = 1.0f / st.s;
  for (int64_t j = lane; j < k; j += G) y[row * k + j] = expf(xr[j] - st.m) * inv;
}

template <int G>
__global__ void __launch_bounds__(kRowThreads)
    softmax_backward_kernel(float* dx, const float* dy, const float* y, int64_t n, int64_t k) {
  __shared__ float smem[G > 32 ? G / 32 : 1];
  const int64_t row = row_of_thread<G>();
  if (G <= 32 && row >= n) return;
  const int lane = static_cast<int>(threadIdx.x % G);
  float dot = 0.0f;
  for (int64_t j = lane; j < k; j += G) dot += y[row * k + j] * dy[row * k + j];
  dot = group_allreduce<G>(dot, Add{}, smem);
  for (int64_t j = lane; j < k; j += G) dx[row * k + j] = y[row * k + j] * (dy[row * k + j] - dot);
}

template <int G>
__global__ void __launch_bounds__(kRowThreads) argmax_kernel(int32_t* index, const float* x, int64_t n, int64_t k) {
  __shared__ ArgMax smem[G > 32 ? G / 32 : 1];
  const int64_t row = row_of_thread<G>();
  if (G <= 32 && row >= n) return;
  const int lane = static_cast<int>(threadIdx.x % G);
  ArgMax best{-kInf, 0x7fffffff};
  for (int64_t j = lane; j < k; j += G) best = MergeArgMax{}(best, ArgMax{x[row * k + j], static_cast<int>(j)});
  best = group_allreduce<G>(best, MergeArgMax{}, smem);
  if (lane == 0) index[row] = best.i == 0x7fffffff ? 0 : best.i;
}

template <class F>
__global__ void map_kernel(int64_t n, F f) {
  LVK_GRID_STRIDE_LOOP(i, n) f(i);
}

unsigned row_blocks(int64_t n, int64_t k) {
  return grid_extent(k <= 1024 ? (n + kRowThreads / 32 - 1) / (kRowThreads / 32) : n, "gumbel_unfused (rows)");
}

}  // namespace

// Launches KERNEL<32> (a warp per row) or KERNEL<256> (a block per row) by k.
#define LVK_ROW_LAUNCH(KERNEL, ...)                                                       \
  do {                                                                                    \
    if (n == 0) return;                                                                   \
    if (k <= 1024)                                                                        \
      launch<KERNEL<32>>(row_blocks(n, k), kRowThreads, 0, stream, __VA_ARGS__);          \
    else                                                                                  \
      launch<KERNEL<kRowThreads>>(row_blocks(n, k), kRowThreads, 0, stream, __VA_ARGS__); \
    LVK_LAUNCH_CHECK(KERNEL);                                                             \
  } while (0)

void softmax_rows(float* y, const float* x, index_t n, index_t k, cudaStream_t stream) {
  LVK_ROW_LAUNCH(softmax_kernel, y, x, n, k);
}

void softmax_rows_backward(float* dx, const float* dy, const float* y, index_t n, index_t k, cudaStream_t stream) {
  LVK_ROW_LAUNCH(softmax_backward_kernel, dx, dy, y, n, k);
}

void argmax_rows(int32_t* index, const float* x, index_t n, index_t k, cudaStream_t stream) {
  LVK_ROW_LAUNCH(argmax_kernel, index, x, n, k);
}
#undef LVK_ROW_LAUNCH

void one_hot(float* y, const int32_t* index, index_t n, index_t k, cudaStream_t stream) {
  const int64_t total = n * k;
  if (total == 0) return;
  auto body = [=] __device__(int64_t i) { y[i] = (i % k) == __ldg(index + i / k) ? 1.0f : 0.0f; };
  launch<map_kernel<decltype(body)>>(grid_for(total), kBlock, 0, stream, total, body);
  LVK_LAUNCH_CHECK(map_kernel);
}

void gumbel_noise(float* g, index_t n, index_t k, uint64_t seed, uint64_t offset, cudaStream_t stream) {
  const auto blocks = static_cast<int64_t>(gumbel_blocks_per_row(k));
  const int64_t chunks = n * blocks;
  if (chunks == 0) return;
  auto body = [=] __device__(int64_t i) {  // chunk i = row i / blocks, columns 4*(i % blocks) + 0..3
    const int64_t r = i / blocks, c = i % blocks;
    const PhiloxBlock b = philox_block(seed, offset, static_cast<uint64_t>(i));
#pragma unroll
    for (int w = 0; w < 4; ++w)
      if (4 * c + w < k) g[r * k + 4 * c + w] = gumbel_from_uniform(philox_to_uniform(b.v[w]));
  };
  launch<map_kernel<decltype(body)>>(grid_for(chunks), kBlock, 0, stream, chunks, body);
  LVK_LAUNCH_CHECK(map_kernel);
}

}  // namespace lvk::kernels::cuda
