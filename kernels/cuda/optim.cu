// CUDA twins of kernels/optim.h. The tensor table travels as a __grid_constant__ kernel parameter
// (read in place from the parameter bank, never copied to local memory); each element finds its
// tensor by binary search over the table's start offsets, so one grid-stride launch covers every
// tensor whatever their sizes.
#include <cub/block/block_reduce.cuh>

#include "base/error.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/optim.h"

namespace lvk::kernels {

namespace {
constexpr int kNormBlock = 512;
constexpr int64_t kMaxNormPartials = 1024;
int64_t norm_partials(int64_t total) {
  return std::clamp<int64_t>((total + kNormBlock - 1) / kNormBlock, 1, kMaxNormPartials);
}
}  // namespace

index_t grad_norm_workspace_size(index_t, int count) {
  const int64_t launches = std::max<int64_t>(1, (count + kOptimTensorsPerLaunch - 1) / kOptimTensorsPerLaunch);
  return launches * kMaxNormPartials;
}

namespace cuda {
namespace {

struct OptimChunk {
  OptimTensor t[kOptimTensorsPerLaunch];  // start offsets relative to this chunk
  int count;
};
static_assert(sizeof(OptimChunk) + 64 < 32764, "kernel parameter space is 32764 bytes");

__device__ __forceinline__ const OptimTensor& find_tensor(const OptimChunk& c, int64_t i) {
  int lo = 0, hi = c.count - 1;
  while (lo < hi) {  // last tensor with start <= i
    const int mid = (lo + hi + 1) / 2;
    if (c.t[mid].start <= i)
      lo = mid;
    else
      hi = mid - 1;
  }
  return c.t[lo];
}

// Grid fixed by the chunk's size alone, so every block's partial (and the final sum) repeats bit
// for bit.
__global__ void __launch_bounds__(kNormBlock)
    grad_sq_partials(float* partials, const __grid_constant__ OptimChunk chunk, int64_t total) {
  using BlockReduce = cub::BlockReduce<float, kNormBlock>;
  __shared__ typename BlockReduce::TempStorage temp;
  float acc = 0.0f;
  LVK_GRID_STRIDE_LOOP(i, total) {
    const OptimTensor& t = find_tensor(chunk, i);
    const float g = t.grad[i - t.start];
    acc += g * g;
  }
  const float s = BlockReduce(temp).Sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void __launch_bounds__(kNormBlock) finish_norm(float* out, const float* partials, int64_t n) {
  using BlockReduce = cub::BlockReduce<float, kNormBlock>;
  __shared__ typename BlockReduce::TempStorage temp;
  float acc = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += kNormBlock) acc += partials[i];
  const float s = BlockReduce(temp).Sum(acc);
  if (threadIdx.x == 0) out[0] = sqrtf(s);
}

__global__ void adam_kernel(const __grid_constant__ OptimChunk chunk, int64_t total, AdamHyper h, const float* norm) {
  const float clip = adam_clip(h, norm);
  const AdamRates r = adam_rates(h);
  if (r.skip) return;
  LVK_GRID_STRIDE_LOOP(i, total) {
    const OptimTensor& t = find_tensor(chunk, i);
    const int64_t j = i - t.start;
    adam_element(t.param + j, t.grad[j] * clip, t.m + j, t.v + j, h, r);
  }
}

// Splits the host table into chunks of at most kOptimTensorsPerLaunch tensors with chunk-relative
// starts and calls launch(chunk, chunk_total) for each, in order.
template <class Launch>
void for_each_chunk(const OptimTensor* tensors, int count, Launch launch) {
  for (int first = 0; first < count; first += kOptimTensorsPerLaunch) {
    OptimChunk chunk{};
    chunk.count = std::min(kOptimTensorsPerLaunch, count - first);
    int64_t total = 0;
    for (int k = 0; k < chunk.count; ++k) {
      chunk.t[k] = tensors[first + k];
      chunk.t[k].start = total;
      total += chunk.t[k].n;
    }
    if (total > 0) launch(chunk, total);
  }
}

}  // namespace

void grad_norm(float* out, const OptimTensor* tensors, int count, index_t total, float* workspace,
               cudaStream_t stream) {
  if (total == 0 || count == 0) {
    LVK_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float), stream));
    return;
  }
  int64_t partials = 0;
  for_each_chunk(tensors, count, [&](const OptimChunk& chunk, int64_t chunk_total) {
    const auto blocks = static_cast<unsigned>(norm_partials(chunk_total));
    launch<grad_sq_partials>(blocks, kNormBlock, 0, stream, workspace + partials, chunk, chunk_total);
    LVK_LAUNCH_CHECK(grad_sq_partials);
    partials += blocks;
  });
  launch<finish_norm>(1, kNormBlock, 0, stream, out, workspace, partials);
  LVK_LAUNCH_CHECK(finish_norm);
}

void adam_step(const OptimTensor* tensors, int count, index_t, AdamHyper h, const float* norm, cudaStream_t stream) {
  for_each_chunk(tensors, count, [&](const OptimChunk& chunk, int64_t chunk_total) {
    launch<adam_kernel>(grid_for(chunk_total), kBlock, 0, stream, chunk, chunk_total, h, norm);
    LVK_LAUNCH_CHECK(adam_kernel);
  });
}

}  // namespace cuda
}  // namespace lvk::kernels
