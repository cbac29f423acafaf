// CUDA twins of kernels/categorical_nll.h.
//
// Forward: one warp per row (8 rows per block of 256). Each lane streams its columns once with an
// online (max, sum of exp) pair, the pairs merge across the warp by butterfly shuffles (a fixed
// order: run-to-run deterministic), and lane 0 writes the row's nll and logsumexp. The prior's
// K (codebook sizes up to a few thousand) is a handful of loads per lane, so a block per row would
// only idle threads. Backward: elementwise over N x K from the stored logsumexp.
#include <cmath>

#include "kernels/categorical_nll.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row_reduce.cuh"

namespace lvk::kernels::cuda {

namespace {

constexpr float kInf = __builtin_huge_valf();
constexpr int kRowsPerBlock = kBlock / 32;

__device__ __forceinline__ bool in_range(int32_t t, int64_t k) {
  return t >= 0 && static_cast<int64_t>(t) < k;
}

__global__ void __launch_bounds__(kBlock)
    categorical_nll_forward_kernel(float* __restrict__ nll, float* __restrict__ lse, const float* __restrict__ logits,
                                   const int32_t* __restrict__ target, int64_t n, int64_t k) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  if (row >= n) return;  // whole warps leave together: no shuffle misses a lane
  const float* l = logits + row * k;
  MaxSum acc{-kInf, 0.0f};
  for (int64_t j = lane; j < k; j += 32) {
    const float v = __ldg(l + j);
    if (v == -kInf) continue;  // masked category
    if (v > acc.m) {
      acc.s = acc.s * expf(acc.m - v) + 1.0f;  // expf(-inf) = 0 for the first value
      acc.m = v;
    } else {
      acc.s += expf(v - acc.m);
    }
  }
  acc = warp_allreduce<32>(acc, MergeMaxSum{});
  if (lane != 0) return;
  const float row_lse = acc.m + logf(acc.s);  // an all -inf row: -inf + log 0 = -inf, as on the CPU
  const int32_t t = target[row];
  lse[row] = row_lse;
  nll[row] = in_range(t, k) ? row_lse - __ldg(l + t) : nanf("");
}

}  // namespace

void categorical_nll_forward(float* nll, float* lse, const float* logits, const int32_t* target, index_t n, index_t k,
                             cudaStream_t stream) {
  if (n == 0) return;
  const int64_t blocks = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  launch<categorical_nll_forward_kernel>(grid_extent(blocks, "categorical_nll_forward"), kBlock, 0, stream, nll, lse,
                                         logits, target, n, k);
  LVK_LAUNCH_CHECK(categorical_nll_forward_kernel);
}

void categorical_nll_backward(float* dlogits, const float* dnll, const float* logits, const float* lse,
                              const int32_t* target, index_t n, index_t k, cudaStream_t stream) {
  launch_map(n * k, stream, [=] __device__(int64_t i) {
    const int64_t r = i / k, j = i % k;
    const int32_t t = target[r];
    const float onehot = in_range(t, k) && j == t ? 1.0f : 0.0f;
    dlogits[i] = (expf(logits[i] - lse[r]) - onehot) * dnll[r];
  });
}

}  // namespace lvk::kernels::cuda
