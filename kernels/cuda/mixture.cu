// CUDA twin of kernels/mixture.h.
//
// Design: a GEMM-shaped kernel. A block of 16 x 16 threads owns 64 points (j) and sweeps all
// components (i) in tiles of 64, staging D in chunks of 16 through shared memory (stored d-major
// and padded so neither the transposing stores nor the reads conflict on banks). Each thread holds
// a 4 x 4 register micro-tile of quadratic forms sum_d (z - mu)^2 w, with its rows and columns
// strided by 16 so a warp reads consecutive shared words. After each component tile the 16 values
// per point fold into a per-thread running (max, sum); at the end the 16 threads sharing a point
// combine theirs in a fixed order. The direct (z - mu)^2 form costs one more flop per pair than the
// expanded GEMM form but cannot cancel catastrophically when z is close to mu.
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/mixture.h"

namespace lvk::kernels::cuda {

namespace {

constexpr int kTileJ = 64, kTileI = 64, kTileD = 16, kSide = 16, kMicro = 4;
constexpr float kLog2Pi = 1.8378770664093454836f;

// precision = exp(-logvar); constant[i] = -(sum_d logvar + D log 2 pi) / 2. A warp per component.
__global__ void prepare_components(float* __restrict__ precision, float* __restrict__ constant,
                                   const float* __restrict__ logvar, int64_t n, int64_t d) {
  const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
  const int lane = threadIdx.x % 32;
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; i < n; i += warps) {
    float acc = 0.0f;
    for (int64_t k = lane; k < d; k += 32) {
      const float lv = logvar[i * d + k];
      precision[i * d + k] = expf(-lv);
      acc += lv;
    }
    for (int off = 16; off > 0; off /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, off);
    if (lane == 0) constant[i] = -0.5f * (acc + static_cast<float>(d) * kLog2Pi);
  }
}

// Loads rows [row0, row0 + 64) x columns [d0, d0 + 16) of a [rows, d] matrix into tile[k][r],
// zero-filling outside the matrix.
__device__ __forceinline__ void load_tile(float (*tile)[kTileJ + 1], const float* __restrict__ src, int64_t row0,
                                          int64_t rows, int64_t d0, int64_t d) {
  const int t = threadIdx.y * kSide + threadIdx.x;
#pragma unroll
  for (int e = 0; e < (kTileJ * kTileD) / (kSide * kSide); ++e) {
    const int idx = t + e * kSide * kSide, r = idx / kTileD, k = idx % kTileD;
    const int64_t row = row0 + r, col = d0 + k;
    tile[k][r] = (row < rows && col < d) ? src[row * d + col] : 0.0f;
  }
}

__global__ void __launch_bounds__(kSide* kSide)
    mixture_kernel(float* __restrict__ out, const float* __restrict__ z, const float* __restrict__ mu,
                   const float* __restrict__ precision, const float* __restrict__ constant, int64_t m, int64_t n,
                   int64_t d) {
  static_assert(kTileJ == kTileI, "load_tile shares one tile shape");
  __shared__ float zs[kTileD][kTileJ + 1], ms[kTileD][kTileI + 1], ws[kTileD][kTileI + 1];
  __shared__ float red_max[kTileJ][kSide + 1], red_sum[kTileJ][kSide + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * kTileJ;

  float run_max[kMicro], run_sum[kMicro];
#pragma unroll
  for (int a = 0; a < kMicro; ++a) run_max[a] = -INFINITY, run_sum[a] = 0.0f;

  for (int64_t i0 = 0; i0 < n; i0 += kTileI) {
    float acc[kMicro][kMicro] = {};
    for (int64_t d0 = 0; d0 < d; d0 += kTileD) {
      load_tile(zs, z, j0, m, d0, d);
      load_tile(ms, mu, i0, n, d0, d);
      load_tile(ws, precision, i0, n, d0, d);
      __syncthreads();
#pragma unroll
      for (int k = 0; k < kTileD; ++k) {
        float zr[kMicro], mr[kMicro], wr[kMicro];
#pragma unroll
        for (int a = 0; a < kMicro; ++a) zr[a] = zs[k][ty + kSide * a];
#pragma unroll
        for (int b = 0; b < kMicro; ++b) mr[b] = ms[k][tx + kSide * b], wr[b] = ws[k][tx + kSide * b];
#pragma unroll
        for (int a = 0; a < kMicro; ++a)
#pragma unroll
          for (int b = 0; b < kMicro; ++b) {
            const float diff = zr[a] - mr[b];
            acc[a][b] = fmaf(diff * diff, wr[b], acc[a][b]);
          }
      }
      __syncthreads();
    }
#pragma unroll
    for (int b = 0; b < kMicro; ++b) {
      const int64_t i = i0 + tx + kSide * b;
      if (i >= n) continue;
      const float c = constant[i];
#pragma unroll
      for (int a = 0; a < kMicro; ++a) {
        const float v = c - 0.5f * acc[a][b];
        if (v > run_max[a]) {
          run_sum[a] = run_sum[a] * expf(run_max[a] - v) + 1.0f;
          run_max[a] = v;
        } else {
          run_sum[a] += expf(v - run_max[a]);
        }
      }
    }
  }

#pragma unroll
  for (int a = 0; a < kMicro; ++a) red_max[ty + kSide * a][tx] = run_max[a], red_sum[ty + kSide * a][tx] = run_sum[a];
  __syncthreads();
  const int t = ty * kSide + tx;
  if (t < kTileJ && j0 + t < m) {
    float mx = -INFINITY;
    for (int s = 0; s < kSide; ++s) mx = fmaxf(mx, red_max[t][s]);
    float total = 0.0f;
    for (int s = 0; s < kSide; ++s)
      if (red_sum[t][s] > 0.0f) total += red_sum[t][s] * expf(red_max[t][s] - mx);
    out[j0 + t] = mx + logf(total) - logf(static_cast<float>(n));
  }
}

// log N(z_j; mu_i, .) from the prepared components, in the forward's direct form.
__device__ __forceinline__ float pair_log_density(const float* zj, const float* mi, const float* wi, float ci,
                                                  int64_t d) {
  float q = 0.0f;
  for (int64_t k = 0; k < d; ++k) {
    const float diff = zj[k] - mi[k];
    q += diff * diff * wi[k];
  }
  return ci - 0.5f * q;
}

// Backward, a thread per point j: dz_j summed over the components in order.
__global__ void mixture_dz_kernel(float* __restrict__ dz, const float* __restrict__ dout, const float* __restrict__ out,
                                  const float* __restrict__ z, const float* __restrict__ mu,
                                  const float* __restrict__ precision, const float* __restrict__ constant, int64_t m,
                                  int64_t n, int64_t d) {
  const float log_n = logf(static_cast<float>(n));
  LVK_GRID_STRIDE_LOOP(j, m) {
    const float* zj = z + j * d;
    for (int64_t k = 0; k < d; ++k) dz[j * d + k] = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      const float w =
          dout[j] * expf(pair_log_density(zj, mu + i * d, precision + i * d, constant[i], d) - out[j] - log_n);
      for (int64_t k = 0; k < d; ++k) dz[j * d + k] += w * (mu[i * d + k] - zj[k]) * precision[i * d + k];
    }
  }
}

// Backward, a thread per component i: dmu_i and dlogvar_i summed over the points in order.
__global__ void mixture_dcomponent_kernel(float* __restrict__ dmu, float* __restrict__ dlogvar,
                                          const float* __restrict__ dout, const float* __restrict__ out,
                                          const float* __restrict__ z, const float* __restrict__ mu,
                                          const float* __restrict__ precision, const float* __restrict__ constant,
                                          int64_t m, int64_t n, int64_t d) {
  const float log_n = logf(static_cast<float>(n));
  LVK_GRID_STRIDE_LOOP(i, n) {
    const float* mi = mu + i * d;
    const float* wi = precision + i * d;
    for (int64_t k = 0; k < d; ++k) dmu[i * d + k] = 0.0f, dlogvar[i * d + k] = 0.0f;
    for (int64_t j = 0; j < m; ++j) {
      const float w = dout[j] * expf(pair_log_density(z + j * d, mi, wi, constant[i], d) - out[j] - log_n);
      for (int64_t k = 0; k < d; ++k) {
        const float diff = z[j * d + k] - mi[k];
        dmu[i * d + k] += w * diff * wi[k];
        dlogvar[i * d + k] += w * 0.5f * (diff * diff * wi[k] - 1.0f);
      }
    }
  }
}

}  // namespace

void gaussian_mixture_log_density_backward(float* dz, float* dmu, float* dlogvar, const float* dout, const float* out,
                                           const float* z, const float* mu, const float* logvar, index_t m, index_t n,
                                           index_t d, float* workspace, cudaStream_t stream) {
  if (n * d == 0) return;
  float* precision = workspace;
  float* constant = workspace + n * d;
  launch<prepare_components>(grid_for(n * 32, kBlock), kBlock, 0, stream, precision, constant, logvar, n, d);
  LVK_LAUNCH_CHECK(prepare_components);
  if (m > 0) {
    launch<mixture_dz_kernel>(grid_for(m), kBlock, 0, stream, dz, dout, out, z, mu, precision, constant, m, n, d);
    LVK_LAUNCH_CHECK(mixture_dz_kernel);
  }
  launch<mixture_dcomponent_kernel>(grid_for(n), kBlock, 0, stream, dmu, dlogvar, dout, out, z, mu, precision, constant,
                                    m, n, d);
  LVK_LAUNCH_CHECK(mixture_dcomponent_kernel);
}

void gaussian_mixture_log_density(float* out, const float* z, const float* mu, const float* logvar, index_t m,
                                  index_t n, index_t d, float* workspace, cudaStream_t stream) {
  if (m == 0 || n == 0) return;
  float* precision = workspace;
  float* constant = workspace + n * d;
  launch<prepare_components>(grid_for(n * 32, kBlock), kBlock, 0, stream, precision, constant, logvar, n, d);
  LVK_LAUNCH_CHECK(prepare_components);
  const unsigned blocks = grid_extent((m + kTileJ - 1) / kTileJ, "mixture");
  launch<mixture_kernel>(blocks, dim3(kSide, kSide), 0, stream, out, z, mu, precision, constant, m, n, d);
  LVK_LAUNCH_CHECK(mixture_kernel);
}

}  // namespace lvk::kernels::cuda
