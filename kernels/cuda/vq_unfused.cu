// CUDA twin of the unfused baseline's pieces (kernels/vq_unfused.h): a warp per row scans the
// materialised scores, as torch.argmin does after the GEMM.
#include <math_constants.h>

#include "kernels/cuda/launch.cuh"
#include "kernels/vq_unfused.h"

namespace lvk::kernels::cuda {

namespace {

__global__ void norms_kernel(float* norms, const float* codebook, int64_t k, int64_t c) {
  LVK_GRID_STRIDE_LOOP(j, k) {
    float acc = 0.0f;
    for (int64_t ch = 0; ch < c; ++ch) acc = fmaf(codebook[j * c + ch], codebook[j * c + ch], acc);
    norms[j] = acc;
  }
}

__global__ void argmin_kernel(int32_t* indices, const float* dots, const float* norms, int64_t n, int64_t k) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; i < n; i += warps) {
    float best = CUDART_INF_F;
    int32_t best_k = 0;
    for (int64_t j = lane; j < k; j += 32) {
      const float score = fmaf(-2.0f, dots[i * k + j], __ldg(norms + j));
      if (score < best) best = score, best_k = static_cast<int32_t>(j);
    }
    for (int off = 16; off >= 1; off /= 2) {
      const float os = __shfl_xor_sync(0xffffffffu, best, off);
      const int32_t oi = __shfl_xor_sync(0xffffffffu, best_k, off);
      if (os < best || (os == best && oi < best_k)) best = os, best_k = oi;
    }
    if (lane == 0) indices[i] = best_k;
  }
}

}  // namespace

void vq_codebook_norms(float* norms, const float* codebook, index_t k, index_t c, cudaStream_t stream) {
  if (k == 0) return;
  launch<norms_kernel>(grid_for(k), kBlock, 0, stream, norms, codebook, k, c);
  LVK_LAUNCH_CHECK(norms_kernel);
}

void vq_argmin_scores(int32_t* indices, const float* dots, const float* norms, index_t n, index_t k,
                      cudaStream_t stream) {
  if (n == 0) return;
  launch<argmin_kernel>(grid_for(n * 32), kBlock, 0, stream, indices, dots, norms, n, k);
  LVK_LAUNCH_CHECK(argmin_kernel);
}

}  // namespace lvk::kernels::cuda
