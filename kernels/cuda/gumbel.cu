// CUDA twins of kernels/gumbel.h.
//
// Forward: one pass per row. A group of G threads owns a row (G = 4..32 lanes side by side in a
// warp for K <= 1024, a whole block of 128..512 threads up to K = 16384); each thread keeps its
// C chunks of 4 columns in registers, so the row is read once and y written once, with nothing
// in between in global memory. One Philox call covers a chunk (layout: stochastic_math.h).
// Beyond K = 16384 a streaming kernel reads the row three times instead (still no buffers).
// Reductions: row max of the logits, then one combined reduction of the perturbed row's online
// (max, sum, argmax) and q's (sum e, sum e*a) for the KL.
#include <climits>
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row_reduce.cuh"
#include "kernels/gumbel.h"
#include "kernels/stochastic_math.h"

namespace lvk::kernels::cuda {

namespace {

constexpr float kInf = __builtin_huge_valf();

// Partial statistics of one row, mergeable in any grouping (the merge is commutative bit for bit).
struct RowStats {
  float m;   // max of v = (a + g)/tau seen so far
  float s;   // sum of exp(v - m)
  int idx;   // argmax of v (lowest column on ties); INT_MAX while empty
  float sq;  // sum of e = exp(a), a = l - max l   (q = e / sq)
  float tq;  // sum of e * a                        (H(q) = log sq - tq / sq)
};

__device__ __forceinline__ RowStats shfl_xor(const RowStats& v, int mask) {
  return {cuda::shfl_xor(v.m, mask), cuda::shfl_xor(v.s, mask), cuda::shfl_xor(v.idx, mask), cuda::shfl_xor(v.sq, mask),
          cuda::shfl_xor(v.tq, mask)};
}

struct MergeStats {
  __device__ __forceinline__ RowStats operator()(const RowStats& a, const RowStats& b) const {
    const float m = fmaxf(a.m, b.m);
    const float sa = a.m == -kInf ? 0.0f : a.s * expf(a.m - m);
    const float sb = b.m == -kInf ? 0.0f : b.s * expf(b.m - m);
    const int idx = a.m > b.m ? a.idx : (b.m > a.m ? b.idx : min(a.idx, b.idx));
    return {m, sa + sb, idx, a.sq + b.sq, a.tq + b.tq};
  }
};

struct MaxOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Four columns starting at col (a multiple of 4); missing columns read as `pad`.
__device__ __forceinline__ void load4(float (&out)[4], const float* row, int64_t col, int64_t k, bool vec4, float pad) {
  if (vec4 && col < k) {
    const float4 t = __ldg(reinterpret_cast<const float4*>(row + col));
    out[0] = t.x, out[1] = t.y, out[2] = t.z, out[3] = t.w;
  } else {
#pragma unroll
    for (int j = 0; j < 4; ++j) out[j] = col + j < k ? __ldg(row + col + j) : pad;
  }
}

__device__ __forceinline__ void store4(float* row, int64_t col, int64_t k, bool vec4, const float (&v)[4]) {
  if (vec4 && col < k) {
    *reinterpret_cast<float4*>(row + col) = make_float4(v[0], v[1], v[2], v[3]);
  } else {
#pragma unroll
    for (int j = 0; j < 4; ++j)
      if (col + j < k) row[col + j] = v[j];
  }
}

template <int G>
constexpr int rows_per_block() {
  return G > 32 ? 1 : 256 / G;
}

template <int G, int C>
__global__ void __launch_bounds__(G > 32 ? G : 256)
    gumbel_forward_kernel(float* __restrict__ y, float* __restrict__ y_soft, int32_t* __restrict__ index,
                          float* __restrict__ kl, const float* __restrict__ logits, int64_t n, int64_t k,
                          float host_tau, float log_k, uint64_t seed, uint64_t host_offset, GumbelDeviceArgs dev,
                          bool hard, bool vec4) {
  const float inv_tau = gumbel_inv_tau(host_tau, dev);
  const uint64_t offset = gumbel_offset(host_offset, dev);
  __shared__ float smem_max[G > 32 ? G / 32 : 1];
  __shared__ RowStats smem_stats[G > 32 ? G / 32 : 1];
  const int lane = static_cast<int>(threadIdx.x) % G;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * rows_per_block<G>() + threadIdx.x / G;
  // Lanes of a row past the end still join the shuffles (sub-warp groups share a warp).
  const bool valid = row < n;
  const int64_t base = (valid ? row : 0) * k;

  float v[C][4];
  float mx = -kInf;
#pragma unroll
  for (int c = 0; c < C; ++c) {
    const int64_t col = 4 * (static_cast<int64_t>(lane) + static_cast<int64_t>(c) * G);
    if (valid && col < k) {
      load4(v[c], logits + base, col, k, vec4, -kInf);
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) v[c][j] = -kInf;
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) mx = fmaxf(mx, v[c][j]);
  }
  mx = group_allreduce<G>(mx, MaxOp{}, smem_max);
  const bool masked = mx == -kInf;  // an all -inf row (or a padding row)

  RowStats st{-kInf, 0.0f, INT_MAX, 0.0f, 0.0f};
  if (!masked) {
    const uint64_t first_block = static_cast<uint64_t>(row) * gumbel_blocks_per_row(k);
#pragma unroll
    for (int c = 0; c < C; ++c) {
      const int64_t chunk = static_cast<int64_t>(lane) + static_cast<int64_t>(c) * G;
      if (4 * chunk >= k) continue;
      const PhiloxBlock b = philox_block(seed, offset, first_block + static_cast<uint64_t>(chunk));
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float a = v[c][j] - mx;  // <= 0; -inf for masked entries and padding
        if (a == -kInf) continue;
        const float e = expf(a);
        st.sq += e;
        st.tq += e * a;
        const float t = (a + gumbel_from_uniform(philox_to_uniform(b.v[j]))) * inv_tau;
        v[c][j] = t;
        if (t > st.m) {  // online softmax; strict so ties keep the lowest column
          st.s = st.s * expf(st.m - t) + 1.0f;
          st.m = t;
          st.idx = static_cast<int>(4 * chunk + j);
        } else {
          st.s += expf(t - st.m);
        }
      }
    }
  }
  st = group_allreduce<G>(st, MergeStats{}, smem_stats);

  if (!valid) return;  // no shuffles below
  const float inv_s = masked ? 0.0f : 1.0f / st.s;
#pragma unroll
  for (int c = 0; c < C; ++c) {
    const int64_t col = 4 * (static_cast<int64_t>(lane) + static_cast<int64_t>(c) * G);
    if (col >= k) continue;
    float soft[4], out[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      soft[j] = masked ? 0.0f : expf(v[c][j] - st.m) * inv_s;  // v = -inf gives 0
      out[j] = hard ? (!masked && col + j == st.idx ? 1.0f : 0.0f) : soft[j];
    }
    store4(y + base, col, k, vec4, out);
    if (y_soft) store4(y_soft + base, col, k, vec4, soft);
  }
  if (lane == 0) {
    index[row] = masked ? -1 : st.idx;
    kl[row] = masked ? 0.0f : log_k - (logf(st.sq) - st.tq / st.sq);
  }
}

// K > kGumbelMaxK: the row no longer fits in registers, so a block of 512 threads streams it
// three times (max; statistics; write), redrawing the same noise each time. Same arithmetic as
// the register kernel, so both agree bit for bit on the perturbed values; nothing is stored.
constexpr int kStreamThreads = 512;

__global__ void __launch_bounds__(kStreamThreads, 1)
    gumbel_forward_streaming_kernel(float* __restrict__ y, float* __restrict__ y_soft, int32_t* __restrict__ index,
                                    float* __restrict__ kl, const float* __restrict__ logits, int64_t k, float host_tau,
                                    float log_k, uint64_t seed, uint64_t host_offset, GumbelDeviceArgs dev, bool hard,
                                    bool vec4) {
  const float inv_tau = gumbel_inv_tau(host_tau, dev);
  const uint64_t offset = gumbel_offset(host_offset, dev);
  constexpr int G = kStreamThreads;
  __shared__ float smem_max[G / 32];
  __shared__ RowStats smem_stats[G / 32];
  const int64_t row = blockIdx.x, base = row * k;
  const uint64_t first_block = static_cast<uint64_t>(row) * gumbel_blocks_per_row(k);
  const float* l = logits + base;

  float mx = -kInf;
  for (int64_t col = 4 * static_cast<int64_t>(threadIdx.x); col < k; col += 4 * G) {
    float v[4];
    load4(v, l, col, k, vec4, -kInf);
#pragma unroll
    for (int j = 0; j < 4; ++j) mx = fmaxf(mx, v[j]);
  }
  mx = group_allreduce<G>(mx, MaxOp{}, smem_max);
  const bool masked = mx == -kInf;

  RowStats st{-kInf, 0.0f, INT_MAX, 0.0f, 0.0f};
  if (!masked) {
    for (int64_t col = 4 * static_cast<int64_t>(threadIdx.x); col < k; col += 4 * G) {
      float v[4];
      load4(v, l, col, k, vec4, -kInf);
      const PhiloxBlock b = philox_block(seed, offset, first_block + static_cast<uint64_t>(col / 4));
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float a = v[j] - mx;
        if (a == -kInf) continue;
        const float e = expf(a);
        st.sq += e;
        st.tq += e * a;
        const float t = (a + gumbel_from_uniform(philox_to_uniform(b.v[j]))) * inv_tau;
        if (t > st.m) {
          st.s = st.s * expf(st.m - t) + 1.0f;
          st.m = t;
          st.idx = static_cast<int>(col + j);
        } else {
          st.s += expf(t - st.m);
        }
      }
    }
  }
  st = group_allreduce<G>(st, MergeStats{}, smem_stats);

  const float inv_s = masked ? 0.0f : 1.0f / st.s;
  for (int64_t col = 4 * static_cast<int64_t>(threadIdx.x); col < k; col += 4 * G) {
    float v[4], soft[4], out[4];
    load4(v, l, col, k, vec4, -kInf);
    const PhiloxBlock b = philox_block(seed, offset, first_block + static_cast<uint64_t>(col / 4));
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float a = v[j] - mx;
      soft[j] = 0.0f;
      if (!masked && a != -kInf) {
        const float t = (a + gumbel_from_uniform(philox_to_uniform(b.v[j]))) * inv_tau;
        soft[j] = expf(t - st.m) * inv_s;
      }
      out[j] = hard ? (!masked && col + j == st.idx ? 1.0f : 0.0f) : soft[j];
    }
    store4(y + base, col, k, vec4, out);
    if (y_soft) store4(y_soft + base, col, k, vec4, soft);
  }
  if (threadIdx.x == 0) {
    index[row] = masked ? -1 : st.idx;
    kl[row] = masked ? 0.0f : log_k - (logf(st.sq) - st.tq / st.sq);
  }
}

// Backward statistics: dot = sum y*dy, and q's online (m, s = sum exp(l-m), t = sum exp(l-m)(l-m)).
struct BackStats {
  float dot, m, s, t;
};

__device__ __forceinline__ BackStats shfl_xor(const BackStats& v, int mask) {
  return {cuda::shfl_xor(v.dot, mask), cuda::shfl_xor(v.m, mask), cuda::shfl_xor(v.s, mask), cuda::shfl_xor(v.t, mask)};
}

struct MergeBack {
  __device__ __forceinline__ BackStats operator()(const BackStats& a, const BackStats& b) const {
    const float m = fmaxf(a.m, b.m);
    float s = 0.0f, t = 0.0f;
    if (a.m != -kInf) {  // rescale to the new max: exp(l-m) = f exp(l-a.m), (l-m) = (l-a.m) + (a.m-m)
      const float f = expf(a.m - m);
      s += f * a.s;
      t += f * (a.t + (a.m - m) * a.s);
    }
    if (b.m != -kInf) {
      const float f = expf(b.m - m);
      s += f * b.s;
      t += f * (b.t + (b.m - m) * b.s);
    }
    return {a.dot + b.dot, m, s, t};
  }
};

// Backward: two reads of the row (the second usually from L2/L1), one write; any K.
template <int G>
__global__ void __launch_bounds__(G > 32 ? G : 256)
    gumbel_backward_kernel(float* __restrict__ dlogits, const float* __restrict__ dy, const float* __restrict__ y,
                           const float* __restrict__ dkl, const float* __restrict__ logits, int64_t n, int64_t k,
                           float host_tau, GumbelDeviceArgs dev, bool vec4) {
  const float inv_tau = gumbel_inv_tau(host_tau, dev);
  __shared__ BackStats smem[G > 32 ? G / 32 : 1];
  const int lane = static_cast<int>(threadIdx.x) % G;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * rows_per_block<G>() + threadIdx.x / G;
  const bool valid = row < n;
  const int64_t base = (valid ? row : 0) * k;
  const bool want_kl = dkl != nullptr;

  BackStats st{0.0f, -kInf, 0.0f, 0.0f};
  if (valid) {
    for (int64_t col = 4 * static_cast<int64_t>(lane); col < k; col += 4 * G) {
      float l[4], yy[4], gy[4];
      if (dy) {
        load4(yy, y + base, col, k, vec4, 0.0f);
        load4(gy, dy + base, col, k, vec4, 0.0f);
#pragma unroll
        for (int j = 0; j < 4; ++j) st.dot += yy[j] * gy[j];
      }
      if (want_kl) {
        load4(l, logits + base, col, k, vec4, -kInf);
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (l[j] != -kInf) st = MergeBack{}(st, BackStats{0.0f, l[j], 1.0f, 0.0f});
      }
    }
  }
  st = group_allreduce<G>(st, MergeBack{}, smem);
  if (!valid) return;

  const float log_s = logf(st.s);
  const float h = log_s - st.t / st.s;
  const float g_kl = (want_kl && st.m != -kInf) ? dkl[row] : 0.0f;
  for (int64_t col = 4 * static_cast<int64_t>(lane); col < k; col += 4 * G) {
    float out[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (dy) {
      float yy[4], gy[4];
      load4(yy, y + base, col, k, vec4, 0.0f);
      load4(gy, dy + base, col, k, vec4, 0.0f);
#pragma unroll
      for (int j = 0; j < 4; ++j) out[j] = yy[j] * (gy[j] - st.dot) * inv_tau;
    }
    if (g_kl != 0.0f) {
      float l[4];
      load4(l, logits + base, col, k, vec4, -kInf);
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (l[j] == -kInf) continue;
        const float log_q = (l[j] - st.m) - log_s;
        out[j] += g_kl * expf(log_q) * (log_q + h);
      }
    }
    store4(dlogits + base, col, k, vec4, out);
  }
}

bool aligned16(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

template <int G, int C>
void launch_forward(float* y, float* y_soft, int32_t* index, float* kl, const float* logits, int64_t n, int64_t k,
                    float tau, float log_k, uint64_t seed, uint64_t offset, GumbelDeviceArgs dev, bool hard, bool vec4,
                    cudaStream_t stream) {
  constexpr int kRows = rows_per_block<G>();
  const unsigned blocks = grid_extent((n + kRows - 1) / kRows, "gumbel_forward");
  constexpr int kThreads = G > 32 ? G : 256;
  launch<gumbel_forward_kernel<G, C>>(blocks, kThreads, 0, stream, y, y_soft, index, kl, logits, n, k, tau, log_k, seed,
                                      offset, dev, hard, vec4);
  LVK_LAUNCH_CHECK(gumbel_forward_kernel);
}

template <int G>
void launch_rows(int64_t n, dim3& grid, dim3& block) {
  constexpr int kRows = rows_per_block<G>();
  grid = dim3(grid_extent((n + kRows - 1) / kRows, "gumbel_backward"));
  block = dim3(G > 32 ? G : 256);
}

}  // namespace

void gumbel_softmax_forward(float* y, float* y_soft, int32_t* index, float* kl, const float* logits, index_t n,
                            index_t k, float tau, uint64_t seed, uint64_t offset, bool hard, GumbelDeviceArgs dev,
                            cudaStream_t stream) {
  if (n == 0) return;
  const auto log_k = static_cast<float>(std::log(static_cast<double>(k)));
  const bool vec4 = k % 4 == 0 && aligned16(logits) && aligned16(y) && (!y_soft || aligned16(y_soft));
#define LVK_GUMBEL_FWD(G, C) \
  launch_forward<G, C>(y, y_soft, index, kl, logits, n, k, tau, log_k, seed, offset, dev, hard, vec4, stream)
  if (k <= 16)
    LVK_GUMBEL_FWD(4, 1);
  else if (k <= 32)
    LVK_GUMBEL_FWD(8, 1);
  else if (k <= 64)
    LVK_GUMBEL_FWD(16, 1);
  else if (k <= 128)
    LVK_GUMBEL_FWD(32, 1);
  else if (k <= 256)
    LVK_GUMBEL_FWD(32, 2);
  else if (k <= 512)
    LVK_GUMBEL_FWD(32, 4);
  else if (k <= 1024)
    LVK_GUMBEL_FWD(32, 8);
  else if (k <= 2048)
    LVK_GUMBEL_FWD(128, 4);
  else if (k <= 4096)
    LVK_GUMBEL_FWD(256, 4);
  else if (k <= 8192)
    LVK_GUMBEL_FWD(512, 4);
  else if (k <= kGumbelMaxK)  // not 1024 x 4: that caps registers at 64, which spills on sm_8x
    LVK_GUMBEL_FWD(512, 8);
  else {
    launch<gumbel_forward_streaming_kernel>(grid_extent(n, "gumbel_forward_streaming"), kStreamThreads, 0, stream, y,
                                            y_soft, index, kl, logits, k, tau, log_k, seed, offset, dev, hard, vec4);
    LVK_LAUNCH_CHECK(gumbel_forward_streaming_kernel);
  }
#undef LVK_GUMBEL_FWD
}

void gumbel_softmax_backward(float* dlogits, const float* dy, const float* y_soft, const float* dkl,
                             const float* logits, index_t n, index_t k, float tau, GumbelDeviceArgs dev,
                             cudaStream_t stream) {
  if (n == 0) return;
  const bool vec4 =
      k % 4 == 0 && aligned16(dlogits) && (!dy || (aligned16(dy) && aligned16(y_soft))) && (!dkl || aligned16(logits));
  dim3 grid, block;
#define LVK_GUMBEL_BWD(G)                                                                                              \
  do {                                                                                                                 \
    launch_rows<G>(n, grid, block);                                                                                    \
    launch<gumbel_backward_kernel<G>>(grid, block, 0, stream, dlogits, dy, y_soft, dkl, logits, n, k, tau, dev, vec4); \
    LVK_LAUNCH_CHECK(gumbel_backward_kernel);                                                                          \
  } while (0)
  if (k <= 16)
    LVK_GUMBEL_BWD(4);
  else if (k <= 32)
    LVK_GUMBEL_BWD(8);
  else if (k <= 64)
    LVK_GUMBEL_BWD(16);
  else if (k <= 1024)
    LVK_GUMBEL_BWD(32);
  else
    LVK_GUMBEL_BWD(256);
#undef LVK_GUMBEL_BWD
}

}  // namespace lvk::kernels::cuda
