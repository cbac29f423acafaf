// CUDA FMA probe: 8 independent FFMA chains per thread, 8 blocks of 256 threads per SM: enough
// warps and independent instructions to keep every FMA pipe busy.
#include "kernels/cuda/launch.cuh"
#include "kernels/peak.h"

namespace lvk::kernels::cuda {

namespace {

constexpr int kChains = 8, kThreads = 256, kBlocksPerSm = 8;

__global__ void __launch_bounds__(kThreads) fma_spin_kernel(float* out, int64_t iterations) {
  float acc[kChains];
#pragma unroll
  for (int j = 0; j < kChains; ++j) acc[j] = static_cast<float>(threadIdx.x + j) * 1e-3f;
  const float a = 0.999999f, b = 1e-7f;
  for (int64_t it = 0; it < iterations; ++it)
#pragma unroll
    for (int j = 0; j < kChains; ++j) acc[j] = fmaf(acc[j], a, b);
  float s = 0.0f;
#pragma unroll
  for (int j = 0; j < kChains; ++j) s += acc[j];
  if (s == 12345.678f) out[0] = s;  // practically never true, but the compiler cannot know
}

}  // namespace

index_t fma_spin(float* out, index_t iterations, cudaStream_t stream) {
  int dev = 0, sms = 0;
  LVK_CUDA_CHECK(cudaGetDevice(&dev));
  LVK_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  const int blocks = sms * kBlocksPerSm;
  launch<fma_spin_kernel>(blocks, kThreads, 0, stream, out, iterations);
  LVK_LAUNCH_CHECK(fma_spin_kernel);
  return static_cast<index_t>(blocks) * kThreads * kChains * 2 * iterations;
}

}  // namespace lvk::kernels::cuda
