// CUDA twins of kernels/nn_norm.h. One block per (image, group) for the statistics and for dx;
// the parameter gradients go through per-(image, channel) partials summed over images in order.
#include <cub/block/block_reduce.cuh>

#include "kernels/cuda/launch.cuh"
#include "kernels/nn_norm.h"

namespace lvk::kernels::cuda {

namespace {

constexpr int kNormBlock = 256;
using BlockReduce = cub::BlockReduce<float, kNormBlock>;

// Block-wide sum that every thread receives.
__device__ float block_sum(float v, typename BlockReduce::TempStorage& temp, float* shared) {
  const float s = BlockReduce(temp).Sum(v);
  if (threadIdx.x == 0) *shared = s;
  __syncthreads();
  const float out = *shared;
  __syncthreads();
  return out;
}

// Two passes over the group (mean, then squared deviations): stable for large offsets.
__global__ void __launch_bounds__(kNormBlock)
    gn_forward_kernel(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                      int64_t c, int64_t hw, int64_t groups, float eps) {
  __shared__ typename BlockReduce::TempStorage temp;
  __shared__ float shared;
  const int64_t ng = blockIdx.x, i = ng / groups, g = ng % groups, cg = c / groups, m = cg * hw;
  const float* xs = x + (i * c + g * cg) * hw;
  float s = 0.0f;
  for (int64_t k = threadIdx.x; k < m; k += kNormBlock) s += xs[k];
  const float mu = block_sum(s, temp, &shared) / static_cast<float>(m);
  float ss = 0.0f;
  for (int64_t k = threadIdx.x; k < m; k += kNormBlock) ss += (xs[k] - mu) * (xs[k] - mu);
  const float r = rsqrtf(block_sum(ss, temp, &shared) / static_cast<float>(m) + eps);
  if (threadIdx.x == 0) mean[ng] = mu, rstd[ng] = r;
  float* ys = y + (i * c + g * cg) * hw;
  for (int64_t k = threadIdx.x; k < m; k += kNormBlock) {
    const int64_t cc = g * cg + k / hw;
    ys[k] = (xs[k] - mu) * r * __ldg(gamma + cc) + __ldg(beta + cc);
  }
}

// dx per (image, group); also writes partial[i, cc] sums of dy * xhat and dy for the parameters.
__global__ void __launch_bounds__(kNormBlock)
    gn_backward_kernel(float* dx, float* part_g, float* part_b, const float* dy, const float* x, const float* mean,
                       const float* rstd, const float* gamma, int64_t c, int64_t hw, int64_t groups) {
  __shared__ typename BlockReduce::TempStorage temp;
  __shared__ float shared;
  const int64_t ng = blockIdx.x, i = ng / groups, g = ng % groups, cg = c / groups, m = cg * hw;
  const float mu = mean[ng], r = rstd[ng];
  const int64_t base = (i * c + g * cg) * hw;
  if (part_g) {
    for (int64_t ch = 0; ch < cg; ++ch) {
      float sg = 0.0f, sb = 0.0f;
      for (int64_t k = threadIdx.x; k < hw; k += kNormBlock) {
        const int64_t idx = base + ch * hw + k;
        sg += dy[idx] * (x[idx] - mu) * r;
        sb += dy[idx];
      }
      sg = block_sum(sg, temp, &shared);
      sb = block_sum(sb, temp, &shared);
      if (threadIdx.x == 0) part_g[i * c + g * cg + ch] = sg, part_b[i * c + g * cg + ch] = sb;
    }
  }
  if (!dx) return;
  float sg = 0.0f, sgx = 0.0f;
  for (int64_t k = threadIdx.x; k < m; k += kNormBlock) {
    const float gk = dy[base + k] * __ldg(gamma + g * cg + k / hw);
    sg += gk;
    sgx += gk * (x[base + k] - mu) * r;
  }
  const float mg = block_sum(sg, temp, &shared) / static_cast<float>(m);
  const float mgx = block_sum(sgx, temp, &shared) / static_cast<float>(m);
  for (int64_t k = threadIdx.x; k < m; k += kNormBlock) {
    const float gk = dy[base + k] * __ldg(gamma + g * cg + k / hw);
    dx[base + k] = r * (gk - mg - (x[base + k] - mu) * r * mgx);
  }
}

__global__ void gn_param_finish(float* dgamma, float* dbeta, const float* part_g, const float* part_b, int64_t n,
                                int64_t c) {
  LVK_GRID_STRIDE_LOOP(cc, c) {
    float sg = 0.0f, sb = 0.0f;
    for (int64_t i = 0; i < n; ++i) sg += part_g[i * c + cc], sb += part_b[i * c + cc];
    if (dgamma) dgamma[cc] = sg;
    if (dbeta) dbeta[cc] = sb;
  }
}

}  // namespace

void group_norm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                        index_t n, index_t c, index_t hw, index_t groups, float eps, cudaStream_t stream) {
  if (n * groups == 0 || c * hw == 0) return;
  launch<gn_forward_kernel>(grid_extent(n * groups, "group_norm_forward"), kNormBlock, 0, stream, y, mean, rstd, x,
                            gamma, beta, c, hw, groups, eps);
  LVK_LAUNCH_CHECK(gn_forward_kernel);
}

void group_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* mean,
                         const float* rstd, const float* gamma, index_t n, index_t c, index_t hw, index_t groups,
                         float* workspace, cudaStream_t stream) {
  if (c == 0) return;
  const bool params = dgamma || dbeta;
  float* part_g = params ? workspace : nullptr;
  float* part_b = params ? workspace + n * c : nullptr;
  if (n * groups > 0 && hw > 0) {
    launch<gn_backward_kernel>(grid_extent(n * groups, "group_norm_backward"), kNormBlock, 0, stream, dx, part_g,
                               part_b, dy, x, mean, rstd, gamma, c, hw, groups);
    LVK_LAUNCH_CHECK(gn_backward_kernel);
  } else if (params) {
    LVK_CUDA_CHECK(cudaMemsetAsync(workspace, 0, sizeof(float) * 2 * n * c, stream));
  }
  if (params) {
    launch<gn_param_finish>(grid_for(c), kBlock, 0, stream, dgamma, dbeta, part_g, part_b, n, c);
    LVK_LAUNCH_CHECK(gn_param_finish);
  }
}

}  // namespace lvk::kernels::cuda
