// CUDA twin of kernels/made.h: the whole inverse of a MAF layer in one launch.
//
// A warp owns a sample and walks its D steps; lane l owns the hidden units l, l + 32, ... and keeps
// their first-layer pre-activations in registers (R = H / 32 rounded up to a power of two, so
// H <= kMadeMaxHidden). Per step: ReLU, deeper layers re-evaluated through a per-warp shared
// vector, two dot products for the shift and log-scale rows reduced by a butterfly shuffle (every
// lane ends with the bitwise same sum: each addition meets its operands in swapped order), then
// the incremental update of the pre-activations with W_in[:, i]. Blocks are persistent: each
// stages the weights it reads every step (W_in transposed, the shift and log-scale rows) in shared
// memory once and then loops over its samples. Static shared memory is capped at 48 KiB, so the
// staged copy fits only when 3 D H <= kStagedFloats (e.g. D = 16, H = 128); larger MADEs read the
// same weights from global memory, where the L1/L2 caches hold them across the warps of a block.
// Deeper layers' H x H matrices are always read from global memory.
#include "kernels/coupling_math.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/made.h"

namespace lvk::kernels::cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kStagedFloats = 8192;  // 32 KiB of staged weights, plus 8 KiB of per-warp vectors
static_assert(kMadeMaxHidden % 32 == 0, "lanes own H / 32 units each");

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

template <int R, bool kStaged>
__global__ void __launch_bounds__(kWarps * 32)
    made_inverse_kernel(float* __restrict__ x, float* __restrict__ logdet, const float* __restrict__ u, MadeWeights m,
                        float scale, int64_t n) {
  __shared__ float staged[kStaged ? kStagedFloats : 1];
  __shared__ float vec[kWarps][kMadeMaxHidden];
  const int64_t d = m.d, h = m.h;
  // Views of the weights read every step: W_in^T [D, H], shift and log-scale rows [D, H] each.
  const float* w_shift = m.w_shift;
  const float* w_log_scale = m.w_log_scale;
  if constexpr (kStaged) {
    for (int64_t e = threadIdx.x; e < d * h; e += blockDim.x) {
      const int64_t j = e / h, k = e - j * h;
      staged[e] = m.w_in[k * d + j];
      staged[d * h + e] = m.w_shift[e];
      staged[2 * d * h + e] = m.w_log_scale[e];
    }
    __syncthreads();
    w_shift = staged + d * h;
    w_log_scale = staged + 2 * d * h;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + warp; row < n;
       row += static_cast<int64_t>(gridDim.x) * kWarps) {
    float pre[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int64_t k = lane + 32 * r;
      pre[r] = k < h ? m.b_in[k] : 0.0f;
    }
    float acc = 0.0f;
    for (int64_t t = 0; t < d; ++t) {
      const int64_t i = m.order[t];
      float act[R];
#pragma unroll
      for (int r = 0; r < R; ++r) act[r] = fmaxf(pre[r], 0.0f);
      for (int l = 0; l + 1 < m.hidden_layers; ++l) {
        __syncwarp();
#pragma unroll
        for (int r = 0; r < R; ++r)
          if (lane + 32 * r < h) vec[warp][lane + 32 * r] = act[r];
        __syncwarp();
        const float* w = m.w_hidden + l * h * h;
#pragma unroll
        for (int r = 0; r < R; ++r) {
          const int64_t k = lane + 32 * r;
          if (k >= h) continue;
          float s = m.b_hidden[l * h + k];
          for (int64_t j = 0; j < h; ++j) s += w[k * h + j] * vec[warp][j];
          act[r] = fmaxf(s, 0.0f);
        }
      }
      float shift = 0.0f, alpha_raw = 0.0f;
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int64_t k = lane + 32 * r;
        if (k < h) {
          shift += w_shift[i * h + k] * act[r];
          alpha_raw += w_log_scale[i * h + k] * act[r];
        }
      }
      shift = warp_sum(shift) + m.b_shift[i];
      alpha_raw = warp_sum(alpha_raw) + m.b_log_scale[i];
      const coupling::Forward f = coupling::forward(u[row * d + i], 0.0f, alpha_raw, shift, scale);
      if (lane == 0) x[row * d + i] = f.y;
      acc += f.logdet_term;
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int64_t k = lane + 32 * r;
        if (k < h) pre[r] += (kStaged ? staged[i * h + k] : m.w_in[k * d + i]) * f.y;
      }
    }
    if (logdet && lane == 0) logdet[row] = acc;
  }
}

template <int R>
void launch_made(float* x, float* logdet, const float* u, const MadeWeights& m, float scale, int64_t n,
                 cudaStream_t stream) {
  const int64_t tiles = (n + kWarps - 1) / kWarps;
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(tiles, 1024));
  if (3 * m.d * m.h <= kStagedFloats)
    launch<made_inverse_kernel<R, true>>(grid, kWarps * 32, 0, stream, x, logdet, u, m, scale, n);
  else
    launch<made_inverse_kernel<R, false>>(grid, kWarps * 32, 0, stream, x, logdet, u, m, scale, n);
  LVK_LAUNCH_CHECK(made_inverse_kernel);
}

}  // namespace

void made_inverse(float* x, float* logdet, const float* u, const MadeWeights& m, float scale, index_t n,
                  cudaStream_t stream) {
  if (n == 0 || m.d == 0) return;
  if (m.h <= 32) return launch_made<1>(x, logdet, u, m, scale, n, stream);
  if (m.h <= 64) return launch_made<2>(x, logdet, u, m, scale, n, stream);
  if (m.h <= 128) return launch_made<4>(x, logdet, u, m, scale, n, stream);
  if (m.h <= 256) return launch_made<8>(x, logdet, u, m, scale, n, stream);
  launch_made<16>(x, logdet, u, m, scale, n, stream);
}

}  // namespace lvk::kernels::cuda
