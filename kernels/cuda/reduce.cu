// Deterministic full sum: pass 1 writes one partial per block (fixed grid for a given n), pass 2
// reduces the partials in one block. No atomics, so results repeat bit for bit.
#include <cub/block/block_reduce.cuh>

#include "kernels/cuda/launch.cuh"
#include "kernels/reduce.h"

namespace lvk::kernels {

namespace cuda {
namespace {

__global__ void __launch_bounds__(kSumBlock) block_sums(float* partials, const float* x, int64_t n) {
  using BlockReduce = cub::BlockReduce<float, kSumBlock>;
  __shared__ typename BlockReduce::TempStorage temp;
  float acc = 0.0f;
  LVK_GRID_STRIDE_LOOP(i, n) acc += x[i];
  const float total = BlockReduce(temp).Sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

}  // namespace

void sum(float* out, const float* x, index_t n, float* workspace, cudaStream_t stream) {
  if (n == 0) {
    LVK_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float), stream));
    return;
  }
  const auto blocks = static_cast<unsigned>(sum_workspace_size(n));
  block_sums<<<blocks, kSumBlock, 0, stream>>>(workspace, x, n);
  LVK_LAUNCH_CHECK(block_sums);
  block_sums<<<1, kSumBlock, 0, stream>>>(out, workspace, blocks);
  LVK_LAUNCH_CHECK(block_sums);
}

}  // namespace cuda
}  // namespace lvk::kernels
