// CUDA twins of kernels/layout.h. The classic shared-memory tiled transpose: a 32x32 tile is read
// row-wise (coalesced along cols) and written row-wise of the output (coalesced along rows); the
// +1 column of padding keeps the column-wise shared reads free of bank conflicts.
#include <algorithm>

#include "kernels/cuda/launch.cuh"
#include "kernels/layout.h"

namespace lvk::kernels::cuda {

namespace {

constexpr int kTile = 32;
constexpr int kRowsPerPass = 8;  // a 32x8 block moves a 32x32 tile in 4 passes

// Grid: x over column tiles, y over row tiles, z over the batch; y and z loop (grid-stride) so any
// rows and batch fit the 65535 limits of those grid axes.
__global__ void swap_last_axes_kernel(float* __restrict__ out, const float* __restrict__ in, int64_t batch,
                                      int64_t rows, int64_t cols) {
  __shared__ float tile[kTile][kTile + 1];
  const int64_t plane = rows * cols;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * kTile;
  for (int64_t b = blockIdx.z; b < batch; b += gridDim.z) {
    const float* src = in + b * plane;
    float* dst = out + b * plane;
    for (int64_t i0 = static_cast<int64_t>(blockIdx.y) * kTile; i0 < rows;
         i0 += static_cast<int64_t>(gridDim.y) * kTile) {
      for (int r = threadIdx.y; r < kTile; r += kRowsPerPass) {
        const int64_t i = i0 + r, j = j0 + threadIdx.x;
        if (i < rows && j < cols) tile[r][threadIdx.x] = src[i * cols + j];
      }
      __syncthreads();
      for (int r = threadIdx.y; r < kTile; r += kRowsPerPass) {
        const int64_t j = j0 + r, i = i0 + threadIdx.x;
        if (i < rows && j < cols) dst[j * rows + i] = tile[threadIdx.x][r];
      }
      __syncthreads();  // the tile is refilled by the next pass
    }
  }
}

}  // namespace

void swap_last_axes(float* out, const float* in, index_t batch, index_t rows, index_t cols, cudaStream_t stream) {
  if (batch == 0 || rows == 0 || cols == 0) return;
  const int64_t col_tiles = (cols + kTile - 1) / kTile, row_tiles = (rows + kTile - 1) / kTile;
  const dim3 grid(grid_extent(col_tiles, "swap_last_axes"), static_cast<unsigned>(std::min<int64_t>(row_tiles, 65535)),
                  static_cast<unsigned>(std::min<int64_t>(batch, 65535)));
  launch<swap_last_axes_kernel>(grid, dim3(kTile, kRowsPerPass), 0, stream, out, in, batch, rows, cols);
  LVK_LAUNCH_CHECK(swap_last_axes_kernel);
}

}  // namespace lvk::kernels::cuda
