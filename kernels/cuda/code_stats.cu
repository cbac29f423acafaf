// CUDA twins of kernels/code_stats.h: integer atomics for the counts (exact in any order) and one
// block of fixed size for the statistics, so the floating-point sums repeat bit for bit.
#include <cub/block/block_reduce.cuh>

#include "kernels/code_stats.h"
#include "kernels/cuda/launch.cuh"

namespace lvk::kernels::cuda {

namespace {

constexpr int kStatsBlock = 256;

__global__ void count_codes_kernel(int32_t* counts, const int32_t* index, int64_t n, int64_t k) {
  LVK_GRID_STRIDE_LOOP(i, n) {
    const int32_t j = index[i];
    if (j >= 0 && j < k) atomicAdd(counts + j, 1);
  }
}

__global__ void __launch_bounds__(kStatsBlock)
    code_statistics_kernel(float* perplexity, float* usage, const int32_t* counts, int64_t k) {
  using Reduce = cub::BlockReduce<double, kStatsBlock>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ double shared_total;
  double total = 0.0, used = 0.0;
  for (int64_t j = threadIdx.x; j < k; j += kStatsBlock) total += counts[j], used += counts[j] > 0;
  const double block_total = Reduce(temp).Sum(total);
  if (threadIdx.x == 0) shared_total = block_total;
  __syncthreads();
  const double all = shared_total;
  const double block_used = Reduce(temp).Sum(used);
  __syncthreads();
  double h = 0.0;
  if (all > 0.0)
    for (int64_t j = threadIdx.x; j < k; j += kStatsBlock)
      if (counts[j] > 0) {
        const double p = counts[j] / all;
        h -= p * log(p);
      }
  const double entropy = Reduce(temp).Sum(h);
  if (threadIdx.x == 0) {
    *perplexity = all > 0.0 ? static_cast<float>(exp(entropy)) : 0.0f;
    *usage = k > 0 ? static_cast<float>(block_used / static_cast<double>(k)) : 0.0f;
  }
}

}  // namespace

void count_codes(int32_t* counts, const int32_t* index, index_t n, index_t k, cudaStream_t stream) {
  if (k == 0) return;
  LVK_CUDA_CHECK(cudaMemsetAsync(counts, 0, static_cast<size_t>(k) * sizeof(int32_t), stream));
  if (n == 0) return;
  launch<count_codes_kernel>(grid_for(n), kBlock, 0, stream, counts, index, n, k);
  LVK_LAUNCH_CHECK(count_codes_kernel);
}

void code_statistics(float* perplexity, float* usage, const int32_t* counts, index_t k, cudaStream_t stream) {
  launch<code_statistics_kernel>(1, kStatsBlock, 0, stream, perplexity, usage, counts, k);
  LVK_LAUNCH_CHECK(code_statistics_kernel);
}

}  // namespace lvk::kernels::cuda
