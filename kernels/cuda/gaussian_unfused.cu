// CUDA twins of kernels/gaussian_unfused.h: one elementwise launch per pass.
#include "kernels/cuda/launch.cuh"
#include "kernels/gaussian_unfused.h"
#include "kernels/stochastic_math.h"

namespace lvk::kernels::cuda {

void gaussian_noise(float* eps, index_t count, uint64_t seed, uint64_t offset, cudaStream_t stream) {
  const int64_t pairs = (count + 1) / 2;  // one Box-Muller pair per thread
  launch_map(pairs, stream, [=] __device__(int64_t p) {
    float e0, e1;
    gaussian_eps_pair(seed, offset, static_cast<uint64_t>(2 * p), e0, e1);
    eps[2 * p] = e0;
    if (2 * p + 1 < count) eps[2 * p + 1] = e1;
  });
}

void gaussian_std(float* sigma, const float* logvar, index_t count, cudaStream_t stream) {
  launch_map(count, stream, [=] __device__(int64_t i) { sigma[i] = expf(0.5f * clamp_logvar(logvar[i])); });
}

}  // namespace lvk::kernels::cuda
