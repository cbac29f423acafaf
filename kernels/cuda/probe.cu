#include "kernels/probe.h"

namespace lvk::kernels::cuda {

namespace {
__global__ void probe_kernel() {}
}  // namespace

cudaError_t probe_kernel_image() {
  cudaFuncAttributes attr{};
  return cudaFuncGetAttributes(&attr, probe_kernel);
}

}  // namespace lvk::kernels::cuda
