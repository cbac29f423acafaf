#pragma once
// Launch helpers shared by the CUDA twins.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "base/cuda_check.h"

#if defined(LVK_EMU)
#include "lvk_emu/launch.h"
#endif

namespace lvk::kernels::cuda {

constexpr int kBlock = 256;

// Launches Kernel<<<grid, block, shared_bytes, stream>>>(args...). Every launch goes through here so
// that the emulated CUDA build (LVK_EMU) can run the same source on the CPU.
template <auto Kernel, class... Args>
inline void launch(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream, Args&&... args) {
#if defined(LVK_EMU)
  lvk_emu::launch<Kernel>(grid, block, shared_bytes, stream, std::forward<Args>(args)...);
#else
  Kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
#endif
}

// CUDA's grid limits: 2^31 - 1 blocks along x, 65535 along y and z.
constexpr int64_t kMaxGridX = 2147483647, kMaxGridYZ = 65535;

// The extent of a grid dimension of `blocks` blocks, checked against CUDA's limit for that
// dimension, so an oversized problem fails naming its kernel instead of launching a wrapped grid.
inline unsigned grid_extent(int64_t blocks, const char* kernel, int64_t limit = kMaxGridX) {
  LVK_CHECK(blocks >= 1 && blocks <= limit, kernel, ": a grid dimension of ", blocks, " blocks is outside [1, ", limit,
            "]; the problem is too large for one launch");
  return static_cast<unsigned>(blocks);
}

// Blocks for a grid-stride loop over n elements: enough to fill the GPU, never more than needed.
inline unsigned grid_for(int64_t n, int block = kBlock) {
  const int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65536));
}

// 64-bit grid-stride index loop: for (i = first; i < n; i += stride).
#define LVK_GRID_STRIDE_LOOP(i, n)                                                       \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

namespace detail {
template <class F>
__global__ void map_kernel(int64_t n, F f) {
  LVK_GRID_STRIDE_LOOP(i, n) f(i);
}
}  // namespace detail

// Runs the device lambda f(i) for every i < n on `stream` (grid-stride), then checks the launch:
// the one elementwise launcher the simple kernels share.
template <class F>
void launch_map(int64_t n, cudaStream_t stream, F f) {
  if (n == 0) return;
  launch<detail::map_kernel<F>>(grid_for(n), kBlock, 0, stream, n, f);
  LVK_LAUNCH_CHECK(map_kernel);
}

}  // namespace lvk::kernels::cuda
