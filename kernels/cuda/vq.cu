// CUDA twin of the fused nearest-codebook lookup (fp32 FFMA).
//
// Centring. Both operands are centred on the codebook mean mu as they are loaded (one
// subtraction per element, kernels/vq.h says why), and the norms are ||e_k - mu||^2, so the scores
// are translation invariant. mu and the norms are computed first, into the workspace.
//
// Design. The score matrix S = ||e - mu||^2 - 2 (Z - mu)(E - mu)^T is an [N, K] GEMM with inner dimension C whose
// output is never stored: each block owns BM = 128 rows and walks code tiles of BN = 128 codes;
// inside a code tile it runs a classic register-blocked SGEMM main loop (BK = 8 channels per
// step, double-buffered shared memory, global loads for step s+1 issued before the FFMAs of step
// s), so every thread holds an 8 x 8 micro-tile of dot products in registers. At the end of a code
// tile each thread turns its 64 dot products into scores with the precomputed ||e_k||^2, keeps
// the best of its 8 codes per row, and the 16 threads that share a row combine their candidates
// with warp shuffles, lexicographically on (score, index), so ties resolve to the lowest index.
// The winner is folded into a per-row running best in shared memory and the tile's products are
// discarded. Reducing per tile (about 3% of the FFMA count at C = 64) instead of carrying 16 more
// registers across tiles keeps the kernel at 128 registers: 2 blocks per SM.
//
// Thread layout: tid = ty * 16 + tx. Thread (ty, tx) owns rows {ty*4 + 0..3, 64 + ty*4 + 0..3} and
// codes {tx*4 + 0..3, 64 + tx*4 + 0..3} of the tile: two float4 reads per operand per channel from
// shared memory. A warp reads 2 distinct A float4s (broadcast) and 16 consecutive B float4s:
// conflict-free. Shared tiles are stored channel-major [BK][BM + 4]; the +4 pad keeps float4
// alignment and spreads the transposing stores of row-major input over all 32 banks (row r and
// channel q land in bank (r + 4 q) mod 32, and a warp stores 16 rows x 2 channel groups).
//
// Input layouts. Row-major z with C % 4 == 0 and 16-byte aligned pointers loads one float4 per
// thread per operand per step; other C fall back to scalar loads with bounds checks. NCHW z is
// read in place: a warp loads 32 consecutive rows (contiguous pixels) of one channel, which is
// already the channel-major shared layout, so no transpose pass exists anywhere.
//
// Occupancy. 256 threads, 17.5 KiB (row-major) or 18.5 KiB (NCHW) of shared memory per block;
// the float4 variants are held to 128 registers (2 blocks per SM, 16 warps; ptxas for sm_90 with the
// centring loads: 128 registers and 12 (row-major) / 20 (NCHW) bytes of spill stores, to be
// measured on a GPU), the scalar fallbacks for C % 4 != 0 use up to 167 (1 block). When there are
// too few row tiles to fill the GPU (small N), the code tiles are split over gridDim.y; each slice
// writes a (score, index) candidate per row to the workspace, and the finishing kernel reduces the
// slices in ascending code order (no atomics; deterministic). Extra memory is O(N + K).
//
// The finishing kernel (a warp per row for row-major z, a thread per pixel for NCHW) reduces the
// slices, writes indices, integer-atomic counts (exact, so order-independent), gathers z_q and
// recomputes ||z_i - e_k*||^2 in fp32 in a fixed order. It re-reads z (O(N C) bytes, small next to
// the O(N K C) lookup); folding it into the lookup's epilogue is a possible refinement.
#include <math_constants.h>

#include <algorithm>
#include <type_traits>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/vq_shared.cuh"
#include "kernels/vq.h"

namespace lvk::kernels::cuda {

namespace {

constexpr int kBM = 128, kBN = 128, kBK = 8, kPad = 4, kThreads = 256;
constexpr int kMaxSplits = 32;

// A thread per channel; the sum runs over codes in the same order as on the CPU, so both twins
// centre on the same bits.
__global__ void vq_mean_kernel(float* mu, const float* codebook, int64_t k, int64_t c) {
  LVK_GRID_STRIDE_LOOP(ch, c) mu[ch] = vq_codebook_mean(codebook, k, c, ch);
}

__global__ void vq_centred_norms_kernel(float* norms, const float* codebook, const float* mu, int64_t k, int64_t c) {
  LVK_GRID_STRIDE_LOOP(j, k) norms[j] = vq_centred_norm(codebook + j * c, mu, c);
}

__device__ __forceinline__ bool better(float sa, int32_t ia, float sb, int32_t ib) {
  return sa < sb || (sa == sb && ia < ib);
}

// Loads one BK-channel step of z (rows row0..row0+127) and of E (codes code0..code0+127) into
// registers, centred on mu (zero past N, K and C); store then writes them channel-major into
// shared memory.
template <bool kNchw, bool kVec>
struct StepLoader {
  float za[4], eb[4];

  __device__ __forceinline__ void load(const float* __restrict__ z, const float* __restrict__ codebook,
                                       const float* __restrict__ mu, const int64_t* row_base, int64_t code0, int64_t c0,
                                       const VqShape& s, int tid) {
    // z: row-major -> thread loads 4 channels of one row; NCHW -> 4 rows of one channel.
    if constexpr (kNchw) {
      const int64_t ch = c0 + tid / 32;
      const float m = ch < s.c ? __ldg(mu + ch) : 0.0f;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int64_t base = row_base[tid % 32 + 32 * j];
        za[j] = (base >= 0 && ch < s.c) ? __ldg(z + base + ch * s.hw) - m : 0.0f;
      }
    } else {
      const int64_t ch = c0 + (tid % 2) * 4, base = row_base[0];
      if constexpr (kVec) {
        if (base >= 0 && ch < s.c) {
          const float4 v = __ldg(reinterpret_cast<const float4*>(z + base + ch));
          const float4 m = __ldg(reinterpret_cast<const float4*>(mu + ch));
          za[0] = v.x - m.x, za[1] = v.y - m.y, za[2] = v.z - m.z, za[3] = v.w - m.w;
        } else {
          za[0] = za[1] = za[2] = za[3] = 0.0f;
        }
      } else {
#pragma unroll
        for (int q = 0; q < 4; ++q)
          za[q] = (base >= 0 && ch + q < s.c) ? __ldg(z + base + ch + q) - __ldg(mu + ch + q) : 0.0f;
      }
    }
    // E is row-major [K, C]: thread loads 4 channels of one code.
    const int64_t code = code0 + tid / 2, ch = c0 + (tid % 2) * 4;
    const bool in = code < s.k;
    if constexpr (kVec) {
      if (in && ch < s.c) {
        const float4 v = __ldg(reinterpret_cast<const float4*>(codebook + code * s.c + ch));
        const float4 m = __ldg(reinterpret_cast<const float4*>(mu + ch));
        eb[0] = v.x - m.x, eb[1] = v.y - m.y, eb[2] = v.z - m.z, eb[3] = v.w - m.w;
      } else {
        eb[0] = eb[1] = eb[2] = eb[3] = 0.0f;
      }
    } else {
#pragma unroll
      for (int q = 0; q < 4; ++q)
        eb[q] = (in && ch + q < s.c) ? __ldg(codebook + code * s.c + ch + q) - __ldg(mu + ch + q) : 0.0f;
    }
  }

  __device__ __forceinline__ void store(float (*as)[kBM + kPad], float (*bs)[kBN + kPad], int tid) const {
    if constexpr (kNchw) {
#pragma unroll
      for (int j = 0; j < 4; ++j) as[tid / 32][tid % 32 + 32 * j] = za[j];
    } else {
#pragma unroll
      for (int q = 0; q < 4; ++q) as[(tid % 2) * 4 + q][tid / 2] = za[q];
    }
#pragma unroll
    for (int q = 0; q < 4; ++q) bs[(tid % 2) * 4 + q][tid / 2] = eb[q];
  }
};

// grid (row tiles, code slices). With one slice, writes indices directly; otherwise writes the
// slice's candidate per row to cand_score/cand_index [slice][N].
template <bool kNchw, bool kVec>
__global__ void __launch_bounds__(kThreads, kVec ? 2 : 1)
    vq_argmin_kernel(int32_t* __restrict__ indices, float* __restrict__ cand_score, int32_t* __restrict__ cand_index,
                     const float* __restrict__ z, const float* __restrict__ codebook, const float* __restrict__ mu,
                     const float* __restrict__ norms, VqShape s, int tiles_per_slice) {
  __shared__ __align__(16) float as[2][kBK][kBM + kPad];
  __shared__ __align__(16) float bs[2][kBK][kBN + kPad];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kBM;
  const int64_t code_tiles = (s.k + kBN - 1) / kBN;
  const int64_t tile_begin = static_cast<int64_t>(blockIdx.y) * tiles_per_slice;
  const int64_t tile_end = min(tile_begin + tiles_per_slice, code_tiles);

  // Base offset in z (-1 past N) of the rows this thread loads. NCHW: 4 rows per thread, kept as
  // a table in shared memory (4 more 64-bit registers held for the whole block would push the
  // kernel past 128 registers). Row-major: one row per thread, held in a register.
  __shared__ int64_t nchw_base[kNchw ? kBM : 1];
  int64_t own_base[1];
  const int64_t* row_base = own_base;
  if constexpr (kNchw) {
    if (tid < kBM) {
      const int64_t i = row0 + tid;
      nchw_base[tid] = i < s.n ? (i / s.hw) * s.c * s.hw + i % s.hw : -1;
    }
    row_base = nchw_base;
    __syncthreads();
  } else {
    const int64_t i = row0 + tid / 2;
    own_base[0] = i < s.n ? i * s.c : -1;
  }
  // Running best per row lives in shared memory, owned by the tx == 0 thread of the row group, so
  // no registers stay pinned across code tiles (keeps the kernel at 2 blocks/SM without spills).
  __shared__ float row_best[kBM];
  __shared__ int32_t row_best_k[kBM];
  if (tid < kBM) row_best[tid] = CUDART_INF_F, row_best_k[tid] = 0;  // published by the tile's first sync

  const int64_t steps = (s.c + kBK - 1) / kBK;
  StepLoader<kNchw, kVec> loader;
  for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
    const int64_t code0 = tile * kBN;
    float acc[8][8];
#pragma unroll
    for (int r = 0; r < 8; ++r)
#pragma unroll
      for (int q = 0; q < 8; ++q) acc[r][q] = 0.0f;

    loader.load(z, codebook, mu, row_base, code0, 0, s, tid);
    loader.store(as[0], bs[0], tid);
    __syncthreads();
    for (int64_t step = 0; step < steps; ++step) {
      const int buf = static_cast<int>(step & 1);
      const bool more = step + 1 < steps;
      if (more) loader.load(z, codebook, mu, row_base, code0, (step + 1) * kBK, s, tid);
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
        const float4 a0 = *reinterpret_cast<const float4*>(&as[buf][kk][ty * 4]);
        const float4 a1 = *reinterpret_cast<const float4*>(&as[buf][kk][64 + ty * 4]);
        const float4 b0 = *reinterpret_cast<const float4*>(&bs[buf][kk][tx * 4]);
        const float4 b1 = *reinterpret_cast<const float4*>(&bs[buf][kk][64 + tx * 4]);
        const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
        const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
        for (int r = 0; r < 8; ++r)
#pragma unroll
          for (int q = 0; q < 8; ++q) acc[r][q] = fmaf(a[r], b[q], acc[r][q]);
      }
      if (more) loader.store(as[buf ^ 1], bs[buf ^ 1], tid);
      __syncthreads();
    }

    // Scores; codes past K get +inf norms and never win. Codes ascend in q, so "<" keeps the first.
    float nrm[8];
#pragma unroll
    for (int q = 0; q < 8; ++q) {
      const int64_t code = code0 + (q < 4 ? tx * 4 + q : 64 + tx * 4 + q - 4);
      nrm[q] = code < s.k ? __ldg(norms + code) : CUDART_INF_F;
    }
#pragma unroll
    for (int r = 0; r < 8; ++r) {
      float best = CUDART_INF_F;
      int32_t best_k = 0;
#pragma unroll
      for (int q = 0; q < 8; ++q) {
        const float score = fmaf(-2.0f, acc[r][q], nrm[q]);
        if (score < best) best = score, best_k = static_cast<int32_t>(code0 + (q < 4 ? tx * 4 + q : 60 + tx * 4 + q));
      }
      // The 16 threads sharing a row are lanes tx of one half-warp: xor shuffles stay inside it.
#pragma unroll
      for (int off = 8; off >= 1; off /= 2) {
        const float os = __shfl_xor_sync(0xffffffffu, best, off);
        const int32_t oi = __shfl_xor_sync(0xffffffffu, best_k, off);
        if (better(os, oi, best, best_k)) best = os, best_k = oi;
      }
      // Tiles ascend in code order, so a strictly smaller score is needed to replace the earlier code.
      const int row = r < 4 ? ty * 4 + r : 64 + ty * 4 + r - 4;
      if (tx == 0 && best < row_best[row]) row_best[row] = best, row_best_k[row] = best_k;
    }
  }

  __syncthreads();
  if (tid < kBM) {
    const int64_t i = row0 + tid;
    if (i < s.n) {
      if (cand_score) {
        cand_score[static_cast<int64_t>(blockIdx.y) * s.n + i] = row_best[tid];
        cand_index[static_cast<int64_t>(blockIdx.y) * s.n + i] = row_best_k[tid];
      } else {
        indices[i] = row_best_k[tid];
      }
    }
  }
}

// Row i's code: the best of the per-slice candidates when the codes were split across blocks
// (slices ascend in code order, so "<" keeps the lower code on ties), written to indices; else
// the index the lookup already wrote.
__device__ __forceinline__ int32_t resolve_code(int32_t* indices, const float* cand_score, const int32_t* cand_index,
                                                int slices, int64_t n, int64_t i) {
  if (!cand_score) return indices[i];
  float best = cand_score[i];
  int32_t k = cand_index[i];
  for (int sl = 1; sl < slices; ++sl) {
    const float sc = cand_score[static_cast<int64_t>(sl) * n + i];
    if (sc < best) best = sc, k = cand_index[static_cast<int64_t>(sl) * n + i];
  }
  indices[i] = k;
  return k;
}

__global__ void vq_finish_kernel(int32_t* indices, float* z_q, float* distances, int32_t* counts,
                                 const float* cand_score, const int32_t* cand_index, int slices, const float* z,
                                 const float* codebook, VqShape s) {
  LVK_GRID_STRIDE_LOOP(i, s.n) {
    const int32_t k = resolve_code(indices, cand_score, cand_index, slices, s.n, i);
    if (counts) atomicAdd(counts + k, 1);  // integer: exact in any order
    if (!z_q && !distances) continue;
    const float* e = codebook + static_cast<int64_t>(k) * s.c;
    const int64_t base = s.hw == 1 ? i * s.c : (i / s.hw) * s.c * s.hw + i % s.hw;
    float d = 0.0f;
    for (int64_t ch = 0; ch < s.c; ++ch) {
      const float ev = __ldg(e + ch);
      const float diff = __ldg(z + base + ch * s.hw) - ev;
      d = fmaf(diff, diff, d);
      if (z_q) z_q[base + ch * s.hw] = ev;
    }
    if (distances) distances[i] = d;
  }
}

// Row-major z: a warp per row, so the z and z_q traffic is coalesced; lane partial distances are
// combined by a fixed xor tree (deterministic).
__global__ void vq_finish_rows_kernel(int32_t* indices, float* z_q, float* distances, int32_t* counts,
                                      const float* cand_score, const int32_t* cand_index, int slices, const float* z,
                                      const float* codebook, VqShape s) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; i < s.n; i += warps) {
    int32_t k = 0;
    if (lane == 0) {
      k = resolve_code(indices, cand_score, cand_index, slices, s.n, i);
      if (counts) atomicAdd(counts + k, 1);
    }
    k = __shfl_sync(0xffffffffu, k, 0);
    if (!z_q && !distances) continue;
    const float* e = codebook + static_cast<int64_t>(k) * s.c;
    const float* zr = z + i * s.c;
    float d = 0.0f;
    for (int64_t ch = lane; ch < s.c; ch += 32) {
      const float ev = __ldg(e + ch), diff = __ldg(zr + ch) - ev;
      d = fmaf(diff, diff, d);
      if (z_q) z_q[i * s.c + ch] = ev;
    }
#pragma unroll
    for (int off = 16; off >= 1; off /= 2) d += __shfl_xor_sync(0xffffffffu, d, off);
    if (distances && lane == 0) distances[i] = d;
  }
}

// Picks the finishing kernel for the layout: warp per row for row-major z, thread per row
// (consecutive pixels, so coalesced) for NCHW.
void launch_finish(int32_t* indices, float* z_q, float* distances, int32_t* counts, const float* cand_score,
                   const int32_t* cand_index, int slices, const float* z, const float* codebook, const VqShape& s,
                   cudaStream_t stream) {
  if (s.hw == 1) {
    launch<vq_finish_rows_kernel>(grid_for(s.n * 32), kBlock, 0, stream, indices, z_q, distances, counts, cand_score,
                                  cand_index, slices, z, codebook, s);
    LVK_LAUNCH_CHECK(vq_finish_rows_kernel);
  } else {
    launch<vq_finish_kernel>(grid_for(s.n), kBlock, 0, stream, indices, z_q, distances, counts, cand_score, cand_index,
                             slices, z, codebook, s);
    LVK_LAUNCH_CHECK(vq_finish_kernel);
  }
}

int sm_count() {
  static const int count = [] {
    int dev = 0, n = 0;
    LVK_CUDA_CHECK(cudaGetDevice(&dev));
    LVK_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    return std::max(n, 1);
  }();
  return count;
}

struct Plan {
  int64_t row_tiles, code_tiles;
  int tiles_per_slice, slices;
};

// Slices the code tiles only when row tiles alone would leave SMs idle (fewer than 2 per SM).
Plan plan_for(const VqShape& s) {
  Plan p;
  p.row_tiles = (s.n + kBM - 1) / kBM;
  p.code_tiles = (s.k + kBN - 1) / kBN;
  const int64_t want = 2 * static_cast<int64_t>(sm_count());
  int64_t slices = p.row_tiles >= want ? 1 : (want + p.row_tiles - 1) / std::max<int64_t>(p.row_tiles, 1);
  slices = std::clamp<int64_t>(slices, 1, std::min<int64_t>(p.code_tiles, kMaxSplits));
  p.tiles_per_slice = static_cast<int>((p.code_tiles + slices - 1) / slices);
  p.slices = static_cast<int>((p.code_tiles + p.tiles_per_slice - 1) / p.tiles_per_slice);
  return p;
}

size_t align256(size_t b) {
  return (b + 255) / 256 * 256;
}

}  // namespace

size_t vq_centre_workspace_bytes(const VqShape& s) {
  return align256(static_cast<size_t>(s.k) * sizeof(float)) + align256(static_cast<size_t>(s.c) * sizeof(float));
}

void vq_centre(float* mu, float* norms, const float* codebook, const VqShape& s, cudaStream_t stream) {
  launch<vq_mean_kernel>(grid_for(s.c), kBlock, 0, stream, mu, codebook, s.k, s.c);
  LVK_LAUNCH_CHECK(vq_mean_kernel);
  launch<vq_centred_norms_kernel>(grid_for(s.k), kBlock, 0, stream, norms, codebook, mu, s.k, s.c);
  LVK_LAUNCH_CHECK(vq_centred_norms_kernel);
}

size_t vq_workspace_bytes(const VqShape& s) {
  if (s.n == 0 || s.k == 0) return 0;
  const Plan p = plan_for(s);
  size_t bytes = vq_centre_workspace_bytes(s);
  if (p.slices > 1) bytes += 2 * align256(static_cast<size_t>(p.slices) * s.n * sizeof(float));
  return bytes;
}

void vq_nearest(int32_t* indices, float* z_q, float* distances, int32_t* counts, const float* z, const float* codebook,
                VqShape s, void* workspace, cudaStream_t stream) {
  if (counts) LVK_CUDA_CHECK(cudaMemsetAsync(counts, 0, static_cast<size_t>(s.k) * sizeof(int32_t), stream));
  if (s.n == 0) return;
  const Plan p = plan_for(s);
  auto* ws = static_cast<char*>(workspace);
  float* norms = reinterpret_cast<float*>(ws);
  float* mu = reinterpret_cast<float*>(ws + align256(static_cast<size_t>(s.k) * sizeof(float)));
  float* cand_score = nullptr;
  int32_t* cand_index = nullptr;
  if (p.slices > 1) {
    const size_t off = vq_centre_workspace_bytes(s);
    cand_score = reinterpret_cast<float*>(ws + off);
    cand_index = reinterpret_cast<int32_t*>(ws + off + align256(static_cast<size_t>(p.slices) * s.n * sizeof(float)));
  }
  vq_centre(mu, norms, codebook, s, stream);

  const bool aligned = reinterpret_cast<uintptr_t>(z) % 16 == 0 && reinterpret_cast<uintptr_t>(codebook) % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(mu) % 16 == 0;
  const bool vec = s.c % 4 == 0 && aligned;
  const dim3 grid(grid_extent(p.row_tiles, "vq_nearest"), grid_extent(p.slices, "vq_nearest", kMaxGridYZ));
  // nchw and vec_loads are std::bool_constant tags: the kernel is a template argument of launch.
  auto launch_argmin = [&](auto nchw, auto vec_loads) {
    launch<vq_argmin_kernel<decltype(nchw)::value, decltype(vec_loads)::value>>(
        grid, kThreads, 0, stream, indices, cand_score, cand_index, z, codebook, mu, norms, s, p.tiles_per_slice);
    LVK_LAUNCH_CHECK(vq_argmin_kernel);
  };
  using std::false_type, std::true_type;
  if (s.hw != 1)
    vec ? launch_argmin(true_type{}, true_type{}) : launch_argmin(true_type{}, false_type{});
  else
    vec ? launch_argmin(false_type{}, true_type{}) : launch_argmin(false_type{}, false_type{});

  if (p.slices > 1 || z_q || distances || counts)
    launch_finish(indices, z_q, distances, counts, cand_score, cand_index, p.slices, z, codebook, s, stream);
}

void vq_gather_outputs(int32_t* indices, float* z_q, float* distances, int32_t* counts, const float* z,
                       const float* codebook, VqShape s, cudaStream_t stream) {
  if (s.n == 0) return;
  launch_finish(indices, z_q, distances, counts, nullptr, nullptr, 1, z, codebook, s, stream);
}

}  // namespace lvk::kernels::cuda
