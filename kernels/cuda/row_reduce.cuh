#pragma once
// Row reductions across a group of G threads (a power of two: sub-warp, one warp, or a whole block
// of up to 1024 threads) that all hold partials of one row. Butterfly shuffles, then one fixed
// order over warps: every thread ends with the same, run-to-run identical result, provided `op` is
// commutative bit for bit (IEEE + and max are).
#include <cuda_runtime.h>

namespace lvk::kernels::cuda {

__device__ __forceinline__ float shfl_xor(float v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}
__device__ __forceinline__ int shfl_xor(int v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}

// A running log-sum-exp: m = the max of the values seen, s = sum exp(v - m) (m = -inf, s = 0 for
// none). MergeMaxSum combines two partials; it is commutative bit for bit, as the reductions need.
struct MaxSum {
  float m, s;
};
__device__ __forceinline__ MaxSum shfl_xor(const MaxSum& v, int mask) {
  return {shfl_xor(v.m, mask), shfl_xor(v.s, mask)};
}
struct MergeMaxSum {
  __device__ __forceinline__ MaxSum operator()(const MaxSum& a, const MaxSum& b) const {
    const float m = fmaxf(a.m, b.m);
    const float sa = a.m == -__builtin_huge_valf() ? 0.0f : a.s * expf(a.m - m);
    const float sb = b.m == -__builtin_huge_valf() ? 0.0f : b.s * expf(b.m - m);
    return {m, sa + sb};
  }
};

// All 32 lanes of the warp must call this (sub-warp groups of G lanes reduce side by side).
template <int G, class T, class Op>
__device__ __forceinline__ T warp_allreduce(T v, Op op) {
  constexpr int kWidth = G < 32 ? G : 32;
#pragma unroll
  for (int m = kWidth / 2; m > 0; m >>= 1) v = op(v, shfl_xor(v, m));
  return v;
}

// For G > 32 the group is the whole block and `smem` holds G/32 values; every thread of the block
// must call this. The trailing barrier lets the caller reuse `smem` for the next reduction.
template <int G, class T, class Op>
__device__ __forceinline__ T group_allreduce(T v, Op op, T* smem) {
  v = warp_allreduce<G>(v, op);
  if constexpr (G > 32) {
    if ((threadIdx.x & 31) == 0) smem[threadIdx.x / 32] = v;
    __syncthreads();
    v = smem[0];
#pragma unroll
    for (int w = 1; w < G / 32; ++w) v = op(v, smem[w]);
    __syncthreads();
  }
  return v;
}

}  // namespace lvk::kernels::cuda
