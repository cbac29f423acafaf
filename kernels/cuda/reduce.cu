// Deterministic full sum: pass 1 writes one partial per block (fixed grid for a given n), pass 2
// reduces the partials in one block. No atomics, so results repeat bit for bit.
#include <cub/block/block_reduce.cuh>

#include "kernels/cuda/launch.cuh"
#include "kernels/reduce.h"

namespace lvk::kernels {

namespace cuda {
namespace {

struct Identity {
  __device__ float operator()(float v) const { return v; }
};
struct IsNonfinite {
  __device__ float operator()(float v) const { return isfinite(v) ? 0.0f : 1.0f; }
};

// One partial per block of sum(f(x[i])) over a grid-stride slice: the order is fixed by n alone.
template <class F = Identity>
__global__ void __launch_bounds__(kSumBlock) block_sums(float* partials, const float* x, int64_t n, F f = {}) {
  using BlockReduce = cub::BlockReduce<float, kSumBlock>;
  __shared__ typename BlockReduce::TempStorage temp;
  float acc = 0.0f;
  LVK_GRID_STRIDE_LOOP(i, n) acc += f(x[i]);
  const float total = BlockReduce(temp).Sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class F>
void two_pass_sum(float* out, const float* x, index_t n, float* workspace, F f, cudaStream_t stream) {
  if (n == 0) {
    LVK_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float), stream));
    return;
  }
  const auto blocks = static_cast<unsigned>(sum_workspace_size(n));
  launch<block_sums<F>>(blocks, kSumBlock, 0, stream, workspace, x, n, f);
  LVK_LAUNCH_CHECK(block_sums);
  launch<block_sums<Identity>>(1, kSumBlock, 0, stream, out, workspace, blocks, Identity{});
  LVK_LAUNCH_CHECK(block_sums);
}

}  // namespace

void sum(float* out, const float* x, index_t n, float* workspace, cudaStream_t stream) {
  two_pass_sum(out, x, n, workspace, Identity{}, stream);
}

void count_nonfinite(float* out, const float* x, index_t n, float* workspace, cudaStream_t stream) {
  two_pass_sum(out, x, n, workspace, IsNonfinite{}, stream);
}

}  // namespace cuda
}  // namespace lvk::kernels
