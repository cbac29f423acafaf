// CUDA twins of kernels/nn.h (all but linear_forward, see nn_linear.cu).
#include "kernels/cuda/launch.cuh"
#include "kernels/nn.h"

namespace lvk::kernels {

namespace {
// Column sums: blocks of kColTile columns x kColRows threads; each block sums one chunk of rows
// into a partial, then one thread per column adds the partials in chunk order. The chunking
// depends only on (rows, cols), so the result repeats bit for bit.
constexpr int kColTile = 32, kColRows = 8;
constexpr int64_t kRowsPerChunk = 256;
constexpr int64_t kMaxChunks = 512;
int64_t column_chunks(int64_t rows) {
  return std::clamp<int64_t>((rows + kRowsPerChunk - 1) / kRowsPerChunk, 1, kMaxChunks);
}
}  // namespace

index_t column_sum_workspace_size(index_t rows, index_t cols) {
  return column_chunks(rows) * std::max<index_t>(cols, 1);
}

namespace cuda {

using namespace nn_math;

namespace {

__global__ void bias_act_kernel(float* y, float* z, const float* x, const float* bias, int64_t rows, int64_t cols,
                                Activation act, float slope) {
  LVK_GRID_STRIDE_LOOP(i, rows * cols) {
    const float pre = x[i] + (bias ? __ldg(bias + i % cols) : 0.0f);
    if (z) z[i] = pre;
    y[i] = activate(act, pre, slope);
  }
}

__global__ void act_backward_kernel(float* dz, const float* dy, const float* y, const float* z, int64_t n,
                                    Activation act, float slope) {
  LVK_GRID_STRIDE_LOOP(i, n) dz[i] = dy[i] * activation_grad(act, y ? y[i] : 0.0f, z ? z[i] : 0.0f, slope);
}

// partials[chunk, c] = sum of x[r, c] over the chunk's rows; thread (tx, ty) strides rows by kColRows.
__global__ void __launch_bounds__(kColTile* kColRows)
    column_partials(float* partials, const float* x, int64_t rows, int64_t cols, int64_t rows_per_chunk) {
  __shared__ float tile[kColRows][kColTile + 1];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColTile + threadIdx.x;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows_per_chunk;
  const int64_t r1 = min(rows, r0 + rows_per_chunk);
  float acc = 0.0f;
  if (c < cols)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kColRows) acc += x[r * cols + c];
  tile[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float s = 0.0f;
    for (int k = 0; k < kColRows; ++k) s += tile[k][threadIdx.x];
    partials[static_cast<int64_t>(blockIdx.y) * cols + c] = s;
  }
}

__global__ void column_finish(float* out, const float* partials, int64_t chunks, int64_t cols) {
  LVK_GRID_STRIDE_LOOP(c, cols) {
    float s = 0.0f;
    for (int64_t k = 0; k < chunks; ++k) s += partials[k * cols + c];
    out[c] = s;
  }
}

__global__ void loss_terms_kernel(float* terms, const float* a, const float* b, const float* c, int64_t n,
                                  LossKind kind, float param) {
  LVK_GRID_STRIDE_LOOP(i, n) terms[i] = loss_term(kind, a[i], b[i], c ? c[i] : 0.0f, param);
}

__global__ void loss_backward_kernel(float* da, float* db, float* dc, const float* a, const float* b, const float* c,
                                     const float* dloss, float factor, int64_t n, LossKind kind, float param) {
  const float g = factor * __ldg(dloss);
  LVK_GRID_STRIDE_LOOP(i, n) {
    float ga, gb, gc;
    loss_term_grad(kind, a[i], b[i], c ? c[i] : 0.0f, param, &ga, &gb, &gc);
    if (da) da[i] = g * ga;
    if (db) db[i] = g * gb;
    if (dc) dc[i] = g * gc;
  }
}

}  // namespace

void bias_act_forward(float* y, float* z, const float* x, const float* bias, index_t rows, index_t cols, Activation act,
                      float slope, cudaStream_t stream) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  launch<bias_act_kernel>(grid_for(n), kBlock, 0, stream, y, z, x, bias, rows, cols, act, slope);
  LVK_LAUNCH_CHECK(bias_act_kernel);
}

void act_backward(float* dz, const float* dy, const float* y, const float* z, index_t n, Activation act, float slope,
                  cudaStream_t stream) {
  if (n == 0) return;
  launch<act_backward_kernel>(grid_for(n), kBlock, 0, stream, dz, dy, y, z, n, act, slope);
  LVK_LAUNCH_CHECK(act_backward_kernel);
}

void column_sum(float* out, const float* x, index_t rows, index_t cols, float* workspace, cudaStream_t stream) {
  if (cols == 0) return;
  if (rows == 0) {
    LVK_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float) * cols, stream));
    return;
  }
  const int64_t chunks = column_chunks(rows);
  const int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
  const dim3 grid(grid_extent((cols + kColTile - 1) / kColTile, "column_sum"),
                  grid_extent(chunks, "column_sum", kMaxGridYZ));
  launch<column_partials>(grid, dim3(kColTile, kColRows), 0, stream, workspace, x, rows, cols, rows_per_chunk);
  LVK_LAUNCH_CHECK(column_partials);
  launch<column_finish>(grid_for(cols), kBlock, 0, stream, out, workspace, chunks, cols);
  LVK_LAUNCH_CHECK(column_finish);
}

void loss_terms(float* terms, const float* a, const float* b, const float* c, index_t n, LossKind kind, float param,
                cudaStream_t stream) {
  if (n == 0) return;
  launch<loss_terms_kernel>(grid_for(n), kBlock, 0, stream, terms, a, b, c, n, kind, param);
  LVK_LAUNCH_CHECK(loss_terms_kernel);
}

void loss_backward(float* da, float* db, float* dc, const float* a, const float* b, const float* c, const float* dloss,
                   float factor, index_t n, LossKind kind, float param, cudaStream_t stream) {
  if (n == 0) return;
  launch<loss_backward_kernel>(grid_for(n), kBlock, 0, stream, da, db, dc, a, b, c, dloss, factor, n, kind, param);
  LVK_LAUNCH_CHECK(loss_backward_kernel);
}

}  // namespace cuda
}  // namespace lvk::kernels
