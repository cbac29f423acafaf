// CUDA twins of the VQ backward pieces and per-code statistics.
//
// Per-code sums without float atomics, and without a serial walk over a hot code's rows (a
// collapsed codebook sends most rows to one code early in training):
//   1. exact integer histogram (atomics on integers are order-independent), exclusive scan ->
//      each code's segment [offset_k, offset_k + count_k) of the sorted order;
//   2. CUB's stable radix sort of (code, row id), so each segment lists its rows ascending;
//   3. the sorted order is cut into fixed chunks of kChunk positions; one block per chunk adds
//      each run of equal codes inside it, one thread per channel, rows in order. A run that
//      touches neither chunk boundary is a whole segment and is written to sums[k] directly; a
//      run touching the chunk start goes to first[chunk], one touching only the end to
//      last[chunk];
//   4. one thread per (code, channel) adds its boundary pieces in chunk order.
// Every addition happens in an order fixed by the data alone, so results repeat bit for bit; they
// may differ from the CPU twin's strictly sequential sums by rounding. Extra memory: three int32
// per row, K + 1 offsets and 2 C floats per chunk.
#include <algorithm>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include "kernels/cuda/launch.cuh"
#include "kernels/vq.h"

namespace lvk::kernels::cuda {

namespace {

constexpr int kSumThreads = 256;  // channels per block (more channels use gridDim.y)
constexpr int64_t kChunk = 64;    // sorted positions per chunk

size_t align256(size_t b) {
  return (b + 255) / 256 * 256;
}
int64_t chunks(int64_t n) {
  return (n + kChunk - 1) / kChunk;
}

int key_bits(int64_t k) {
  int bits = 1;
  while ((int64_t{1} << bits) < k) ++bits;
  return bits;
}

struct SortBuffers {
  int32_t *keys_out, *rows_in, *rows_out, *offsets;
  void* temp;
  size_t temp_bytes;
  float *first, *last;
};

size_t cub_temp_bytes(const VqShape& s) {
  size_t sort_bytes = 0, scan_bytes = 0;
  LVK_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      nullptr, sort_bytes, static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr),
      static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), static_cast<int>(s.n), 0, key_bits(s.k)));
  LVK_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, static_cast<const int32_t*>(nullptr),
                                               static_cast<int32_t*>(nullptr), static_cast<int>(s.k)));
  return std::max(sort_bytes, scan_bytes);
}

size_t piece_bytes(const VqShape& s) {
  return align256(static_cast<size_t>(chunks(s.n) * s.c) * sizeof(float));
}

size_t sort_bytes(const VqShape& s) {
  return 3 * align256(static_cast<size_t>(s.n) * sizeof(int32_t)) + align256((s.k + 1) * sizeof(int32_t)) +
         align256(cub_temp_bytes(s)) + 2 * piece_bytes(s);
}

SortBuffers carve(void* workspace, const VqShape& s) {
  auto* p = static_cast<char*>(workspace);
  const size_t rows = align256(static_cast<size_t>(s.n) * sizeof(int32_t));
  SortBuffers b;
  b.keys_out = reinterpret_cast<int32_t*>(p);
  b.rows_in = reinterpret_cast<int32_t*>(p + rows);
  b.rows_out = reinterpret_cast<int32_t*>(p + 2 * rows);
  b.offsets = reinterpret_cast<int32_t*>(p + 3 * rows);
  b.temp = p + 3 * rows + align256((s.k + 1) * sizeof(int32_t));
  b.temp_bytes = align256(cub_temp_bytes(s));
  b.first = reinterpret_cast<float*>(static_cast<char*>(b.temp) + b.temp_bytes);
  b.last = reinterpret_cast<float*>(static_cast<char*>(b.temp) + b.temp_bytes + piece_bytes(s));
  return b;
}

__global__ void iota_kernel(int32_t* rows, int64_t n) {
  LVK_GRID_STRIDE_LOOP(i, n) rows[i] = static_cast<int32_t>(i);
}

__global__ void histogram_kernel(int32_t* counts, const int32_t* indices, int64_t n) {
  LVK_GRID_STRIDE_LOOP(i, n) atomicAdd(counts + indices[i], 1);  // integer: exact in any order
}

// Block (chunk q, channel group); thread = channel. See step 3 above.
__global__ void __launch_bounds__(kSumThreads)
    chunk_sum_kernel(float* sums, float* first, float* last, const int32_t* keys, const int32_t* rows, const float* z,
                     VqShape s) {
  const int64_t q = blockIdx.x;
  const int64_t ch = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  if (ch >= s.c) return;
  const int64_t p0 = q * kChunk, p1 = min(p0 + kChunk, s.n);
  int64_t pos = p0;
  while (pos < p1) {
    const int32_t k = keys[pos];
    const int64_t start = pos;
    float acc = 0.0f;
    for (; pos < p1 && keys[pos] == k; ++pos) acc += __ldg(z + vq_offset(rows[pos], ch, s));
    if (start == p0)
      first[q * s.c + ch] = acc;
    else if (pos == p1)
      last[q * s.c + ch] = acc;
    else
      sums[static_cast<int64_t>(k) * s.c + ch] = acc;  // interior run: the whole segment
  }
}

// Thread per (code, channel). See step 4 above.
__global__ void piece_sum_kernel(float* sums, const float* first, const float* last, const int32_t* offsets,
                                 const int32_t* counts, VqShape s) {
  LVK_GRID_STRIDE_LOOP(o, s.k * s.c) {
    const int64_t k = o / s.c, ch = o % s.c;
    const int64_t count = counts[k];
    if (count == 0) {
      sums[o] = 0.0f;
      continue;
    }
    const int64_t a = offsets[k], b = a + count, qa = a / kChunk, qb = (b - 1) / kChunk;
    const int64_t chunk_end = min((qa + 1) * kChunk, s.n);
    if (qa == qb && a != qa * kChunk && b != chunk_end) continue;  // interior: written by chunk_sum_kernel
    float acc = a == qa * kChunk ? first[qa * s.c + ch] : last[qa * s.c + ch];
    for (int64_t q = qa + 1; q <= qb; ++q) acc += first[q * s.c + ch];
    sums[o] = acc;
  }
}

__global__ void commitment_grad_kernel(float* dz, const float* z, const float* codebook, const int32_t* indices,
                                       const float* g, float scale, VqShape s) {
  const float f = scale * __ldg(g);
  LVK_GRID_STRIDE_LOOP(e, s.n * s.c) {
    // Walk z layout in memory order so loads and stores coalesce for both layouts.
    int64_t i, ch;
    if (s.hw == 1) {
      i = e / s.c, ch = e % s.c;
    } else {
      const int64_t b = e / (s.c * s.hw), rem = e % (s.c * s.hw);
      ch = rem / s.hw, i = b * s.hw + rem % s.hw;
    }
    dz[e] = f * (z[e] - __ldg(codebook + static_cast<int64_t>(indices[i]) * s.c + ch));
  }
}

__global__ void codebook_grad_kernel(float* dcodebook, const float* codebook, const float* sums, const int32_t* counts,
                                     const float* g, float scale, int64_t k, int64_t c) {
  const float f = scale * __ldg(g);
  LVK_GRID_STRIDE_LOOP(o, k * c) dcodebook[o] += f * (static_cast<float>(counts[o / c]) * codebook[o] - sums[o]);
}

}  // namespace

size_t vq_grad_workspace_bytes(const VqShape& s) {
  return sort_bytes(s) + align256(static_cast<size_t>(s.k * s.c) * sizeof(float)) +
         align256(static_cast<size_t>(s.k) * sizeof(int32_t));
}

void vq_cluster_sums(float* sums, int32_t* counts, const float* z, const int32_t* indices, VqShape s, void* workspace,
                     cudaStream_t stream) {
  LVK_CHECK(s.n < (int64_t{1} << 31), "vq_cluster_sums: N=", s.n, " rows exceed the 2^31 the row sort supports");
  LVK_CUDA_CHECK(cudaMemsetAsync(counts, 0, static_cast<size_t>(s.k) * sizeof(int32_t), stream));
  if (s.n == 0) {
    LVK_CUDA_CHECK(cudaMemsetAsync(sums, 0, static_cast<size_t>(s.k * s.c) * sizeof(float), stream));
    return;
  }
  SortBuffers b = carve(workspace, s);
  launch<histogram_kernel>(grid_for(s.n), kBlock, 0, stream, counts, indices, s.n);
  LVK_LAUNCH_CHECK(histogram_kernel);
  launch<iota_kernel>(grid_for(s.n), kBlock, 0, stream, b.rows_in, s.n);
  LVK_LAUNCH_CHECK(iota_kernel);
  size_t temp = b.temp_bytes;
  LVK_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(b.temp, temp, indices, b.keys_out, b.rows_in, b.rows_out,
                                                 static_cast<int>(s.n), 0, key_bits(s.k), stream));
  temp = b.temp_bytes;
  LVK_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(b.temp, temp, counts, b.offsets, static_cast<int>(s.k), stream));
  const int channels = static_cast<int>(std::min<int64_t>(s.c, kSumThreads));
  const dim3 grid(grid_extent(chunks(s.n), "vq_cluster_sums"),
                  grid_extent((s.c + channels - 1) / channels, "vq_cluster_sums", kMaxGridYZ));
  launch<chunk_sum_kernel>(grid, channels, 0, stream, sums, b.first, b.last, b.keys_out, b.rows_out, z, s);
  LVK_LAUNCH_CHECK(chunk_sum_kernel);
  launch<piece_sum_kernel>(grid_for(s.k * s.c), kBlock, 0, stream, sums, b.first, b.last, b.offsets, counts, s);
  LVK_LAUNCH_CHECK(piece_sum_kernel);
}

void vq_codebook_grad(float* dcodebook, const float* z, const float* codebook, const int32_t* indices, const float* g,
                      float scale, VqShape s, void* workspace, cudaStream_t stream) {
  if (s.k == 0 || s.c == 0) return;
  auto* p = static_cast<char*>(workspace);
  float* sums = reinterpret_cast<float*>(p + sort_bytes(s));
  int32_t* counts =
      reinterpret_cast<int32_t*>(p + sort_bytes(s) + align256(static_cast<size_t>(s.k * s.c) * sizeof(float)));
  vq_cluster_sums(sums, counts, z, indices, s, workspace, stream);
  launch<codebook_grad_kernel>(grid_for(s.k * s.c), kBlock, 0, stream, dcodebook, codebook, sums, counts, g, scale, s.k,
                               s.c);
  LVK_LAUNCH_CHECK(codebook_grad_kernel);
}

void vq_commitment_grad(float* dz, const float* z, const float* codebook, const int32_t* indices, const float* g,
                        float scale, VqShape s, cudaStream_t stream) {
  if (s.n == 0 || s.c == 0) return;
  launch<commitment_grad_kernel>(grid_for(s.n * s.c), kBlock, 0, stream, dz, z, codebook, indices, g, scale, s);
  LVK_LAUNCH_CHECK(commitment_grad_kernel);
}

}  // namespace lvk::kernels::cuda
