// CUDA twin of the fast lookup (kernels/vq.h, vq_nearest_fast): BF16 tensor-core products short-
// list candidates, an fp32 pass re-scores them exactly.
//
// Pass 1 (vq_fast_shortlist_kernel). Each block owns BM = 128 rows and walks all code tiles of
// BN = 128 codes. Per tile, channel steps of 16 are staged in shared memory as BF16 (centred on the
// codebook mean and converted on load, so the rounding scales with the spread of the data and not
// with a common offset; zero-padded past C, rows of 24 halves so that the fragment loads below hit 32 distinct
// banks), and 8 warps (4 along rows x 2 along codes) each compute a 32 x 64 block of products with
// mma.sync m16n8k16 (BF16 in, fp32 accumulate; 2 x 8 tiles, 64 accumulators per thread). At the
// end of a tile each thread turns its products into approximate scores ||e_k - mu||^2 - 2 z~.e~_k and
// keeps, for each of its 4 rows, the best code it has seen: thread (warp column w, quad lane t)
// always owns the codes with (k % 128) / 64 = w and (k % 8) / 2 = t, i.e. slot vq_fast_slot(k).
// The 8 slot winners per row go to the workspace (N x 8 int32; O(N) memory, never N x K).
// Pass 2 (vq_fast_recheck_kernel). Eight threads per row re-score the slot winners in the direct
// form sum (z - e)^2 (fp32 FMA chain over channels) and reduce lexicographically on (score, index).
//
// Why 8 slots suffice: the exact winner k* is lost only if a code k in the same slot has a lower
// approximate score, i.e. d_k - d_k* <= |error_k| + |error_k*| <= 2^-7 ||z - mu|| (||e_k - mu|| +
// ||e_k* - mu||) (BF16 rounding of both operands, unit roundoff 2^-9 each): a near-tie. See
// kernels/vq.h.
//
// Shared memory is double-buffered through registers (the global loads of step s + 1 are issued
// before the MMAs of step s), 24 KiB per block; each thread keeps the (score, code) of its 4 rows
// in registers across tiles. cp.async/TMA pipelining and wgmma are the next steps once this can be
// measured on a GPU.
#include <cuda_bf16.h>
#include <math_constants.h>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/mma.cuh"
#include "kernels/cuda/vq_shared.cuh"
#include "kernels/vq.h"

namespace lvk::kernels::cuda {

namespace {

constexpr int kBM = 128, kBN = 128, kBK = 16, kStride = 24, kThreads = 256;

size_t align256(size_t b) {
  return (b + 255) / 256 * 256;
}

__global__ void __launch_bounds__(kThreads, 1)
    vq_fast_shortlist_kernel(int32_t* __restrict__ slots, const float* __restrict__ z,
                             const float* __restrict__ codebook, const float* __restrict__ mu,
                             const float* __restrict__ norms, VqShape s) {
  __shared__ __align__(16) __nv_bfloat16 as[2][kBM][kStride];
  __shared__ __align__(16) __nv_bfloat16 bs[2][kBN][kStride];
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int wm = warp % 4, wn = warp / 4, g = lane / 4, t = lane % 4;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kBM;

  // Loader: thread -> (tile row tid / 2, channels (tid % 2) * 8 .. + 7) for both operands.
  const int lr = tid / 2, lc = (tid % 2) * 8;
  const int64_t zrow = row0 + lr;
  const int64_t zbase = zrow < s.n ? vq_offset(zrow, 0, s) : -1;
  const int64_t zstride = s.hw;  // channel stride in z layout

  float best[4];
  int32_t best_k[4];
#pragma unroll
  for (int r = 0; r < 4; ++r) best[r] = CUDART_INF_F, best_k[r] = -1;

  const int64_t code_tiles = (s.k + kBN - 1) / kBN;
  for (int64_t tile = 0; tile < code_tiles; ++tile) {
    const int64_t code0 = tile * kBN;
    float acc[2][8][4];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
#pragma unroll
      for (int nt = 0; nt < 8; ++nt)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc[mt][nt][q] = 0.0f;

    // Global -> registers (as BF16 pairs) for step c0; registers -> shared buffer `buf`.
    uint32_t zp[4], ep[4];
    auto load = [&](int64_t c0) {
      const int64_t code = code0 + lr;
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const int64_t ch = c0 + lc + 2 * q;
        const float m0 = ch < s.c ? __ldg(mu + ch) : 0.0f, m1 = ch + 1 < s.c ? __ldg(mu + ch + 1) : 0.0f;
        const float z0 = (zbase >= 0 && ch < s.c) ? __ldg(z + zbase + ch * zstride) - m0 : 0.0f;
        const float z1 = (zbase >= 0 && ch + 1 < s.c) ? __ldg(z + zbase + (ch + 1) * zstride) - m1 : 0.0f;
        const float e0 = (code < s.k && ch < s.c) ? __ldg(codebook + code * s.c + ch) - m0 : 0.0f;
        const float e1 = (code < s.k && ch + 1 < s.c) ? __ldg(codebook + code * s.c + ch + 1) - m1 : 0.0f;
        const __nv_bfloat162 zb = __floats2bfloat162_rn(z0, z1), eb = __floats2bfloat162_rn(e0, e1);
        zp[q] = *reinterpret_cast<const uint32_t*>(&zb);
        ep[q] = *reinterpret_cast<const uint32_t*>(&eb);
      }
    };
    auto store = [&](int buf) {
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        *reinterpret_cast<uint32_t*>(&as[buf][lr][lc + 2 * q]) = zp[q];
        *reinterpret_cast<uint32_t*>(&bs[buf][lr][lc + 2 * q]) = ep[q];
      }
    };
    // Double-buffered: the loads of step s + 1 are in flight while the tensor cores run step s.
    load(0);
    store(0);
    __syncthreads();
    const int64_t steps = (s.c + kBK - 1) / kBK;
    for (int64_t step = 0; step < steps; ++step) {
      const int buf = static_cast<int>(step & 1);
      const bool more = step + 1 < steps;
      if (more) load((step + 1) * kBK);
      uint32_t a[2][4];
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        const int r = wm * 32 + mt * 16 + g;
        a[mt][0] = *reinterpret_cast<const uint32_t*>(&as[buf][r][2 * t]);
        a[mt][1] = *reinterpret_cast<const uint32_t*>(&as[buf][r + 8][2 * t]);
        a[mt][2] = *reinterpret_cast<const uint32_t*>(&as[buf][r][2 * t + 8]);
        a[mt][3] = *reinterpret_cast<const uint32_t*>(&as[buf][r + 8][2 * t + 8]);
      }
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {  // B fragments one n-tile at a time: 2 registers live, not 16
        const int n = wn * 64 + nt * 8 + g;
        const uint32_t b[2] = {*reinterpret_cast<const uint32_t*>(&bs[buf][n][2 * t]),
                               *reinterpret_cast<const uint32_t*>(&bs[buf][n][2 * t + 8])};
        mma_m16n8k16_bf16(acc[0][nt], a[0], b);
        mma_m16n8k16_bf16(acc[1][nt], a[1], b);
      }
      if (more) store(buf ^ 1);
      __syncthreads();
    }

    // acc[mt][nt][h * 2 + j]: row wm*32 + mt*16 + g + 8h, code code0 + wn*64 + nt*8 + 2t + j.
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const int64_t code = code0 + wn * 64 + nt * 8 + 2 * t + j;
        const float nrm = code < s.k ? __ldg(norms + code) : CUDART_INF_F;
#pragma unroll
        for (int mt = 0; mt < 2; ++mt)
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const float score = fmaf(-2.0f, acc[mt][nt][h * 2 + j], nrm);
            const int r = mt * 2 + h;
            if (score < best[r]) best[r] = score, best_k[r] = static_cast<int32_t>(code);
          }
      }
  }
  const int slot = wn * 4 + t;
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t i = row0 + wm * 32 + mt * 16 + g + 8 * h;
      if (i < s.n) slots[i * kVqFastSlots + slot] = best_k[mt * 2 + h];
    }
}

// Eight consecutive lanes per row, one slot each.
__global__ void vq_fast_recheck_kernel(int32_t* indices, const int32_t* slots, const float* z, const float* codebook,
                                       VqShape s) {
  const int64_t total = s.n * kVqFastSlots;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  // Every lane of a warp runs the same number of iterations (total is a multiple of 8 and the
  // loop bound is rounded up to whole warps), so the shuffles below always have full warps.
  const int64_t rounded = (total + 31) / 32 * 32;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < rounded; o += stride) {
    const bool live = o < total;
    const int64_t i = o / kVqFastSlots;
    const int32_t k = live ? slots[o] : -1;
    float score = CUDART_INF_F;
    if (k >= 0) score = vq_direct_distance(z + vq_offset(i, 0, s), s.hw, codebook + static_cast<int64_t>(k) * s.c, s.c);
    int32_t key = k >= 0 ? k : INT32_MAX;
#pragma unroll
    for (int off = 4; off >= 1; off /= 2) {
      const float os = __shfl_xor_sync(0xffffffffu, score, off);
      const int32_t ok = __shfl_xor_sync(0xffffffffu, key, off);
      if (os < score || (os == score && ok < key)) score = os, key = ok;
    }
    if (live && o % kVqFastSlots == 0) indices[i] = key == INT32_MAX ? 0 : key;
  }
}

}  // namespace

size_t vq_fast_workspace_bytes(const VqShape& s) {
  if (s.n == 0 || s.k == 0) return 0;
  return vq_centre_workspace_bytes(s) + align256(static_cast<size_t>(s.n) * kVqFastSlots * sizeof(int32_t));
}

void vq_nearest_fast(int32_t* indices, float* z_q, float* distances, int32_t* counts, const float* z,
                     const float* codebook, VqShape s, void* workspace, cudaStream_t stream) {
  if (counts) LVK_CUDA_CHECK(cudaMemsetAsync(counts, 0, static_cast<size_t>(s.k) * sizeof(int32_t), stream));
  if (s.n == 0) return;
  int dev = 0, major = 0;
  LVK_CUDA_CHECK(cudaGetDevice(&dev));
  LVK_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  LVK_CHECK(major >= 8, "vq_nearest_fast: the BF16 tensor-core mode needs compute capability 8.0 or newer, device ",
            dev, " has ", major, ".x; use the fp32 mode");
  const unsigned row_tiles = grid_extent((s.n + kBM - 1) / kBM, "vq_nearest_fast");
  auto* ws = static_cast<char*>(workspace);
  float* norms = reinterpret_cast<float*>(ws);
  float* mu = reinterpret_cast<float*>(ws + align256(static_cast<size_t>(s.k) * sizeof(float)));
  int32_t* slots = reinterpret_cast<int32_t*>(ws + vq_centre_workspace_bytes(s));
  vq_centre(mu, norms, codebook, s, stream);
  launch<vq_fast_shortlist_kernel>(row_tiles, kThreads, 0, stream, slots, z, codebook, mu, norms, s);
  LVK_LAUNCH_CHECK(vq_fast_shortlist_kernel);
  launch<vq_fast_recheck_kernel>(grid_for(s.n * kVqFastSlots), kBlock, 0, stream, indices, slots, z, codebook, s);
  LVK_LAUNCH_CHECK(vq_fast_recheck_kernel);
  if (z_q || distances || counts) vq_gather_outputs(indices, z_q, distances, counts, z, codebook, s, stream);
}

}  // namespace lvk::kernels::cuda
