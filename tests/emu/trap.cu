// Deliberately failing: one thread of one block calls __trap(). The launch itself succeeds; the
// next synchronising call returns the error, and every later call returns it again (sticky), with
// a message that names the kernel, block, thread and line.
#include <cstdio>

#include "lvk_emu/launch.h"

__global__ void checked_scale(float* data, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if (blockIdx.x == 1 && threadIdx.x == 3) __trap();  // @line trap
  data[i] *= 2.0f;
}

int main() {
  const int n = 256;
  float* data = nullptr;
  if (cudaMalloc(&data, n * sizeof(float)) != cudaSuccess) return 1;
  cudaMemset(data, 0, n * sizeof(float));
  lvk_emu::launch<checked_scale>(n / 64, 64, 0, 0, data, n);
  const cudaError_t launch = cudaGetLastError();
  std::fprintf(stderr, "launch: %s\n", cudaGetErrorName(launch));
  const cudaError_t sync = cudaDeviceSynchronize();
  std::fprintf(stderr, "cudaDeviceSynchronize: %s: %s\n", cudaGetErrorName(sync), cudaGetErrorString(sync));
  float h = 0;
  const cudaError_t copy = cudaMemcpy(&h, data, sizeof h, cudaMemcpyDeviceToHost);
  std::fprintf(stderr, "a later cudaMemcpy: %s\n", cudaGetErrorName(copy));
  return sync == cudaSuccess ? 0 : 1;
}
