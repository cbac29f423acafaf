// Deliberately broken: __syncthreads() inside a branch only some threads of the block take. With
// "exit" (the default) threads 16.. skip the barrier and exit; with "ifelse" the two halves wait at
// two different barriers. On a GPU both are undefined (a hang or a barrier that releases early); the
// emulator stops the kernel and names the threads and lines.
#include <cstdio>
#include <cstring>

#include "lvk_emu/launch.h"

__global__ void half_barrier(float* data, int ifelse) {
  const int t = threadIdx.x;
  if (t < 16) {
    data[t] *= 2.0f;
    __syncthreads();  // @line first: BUG, only threads 0..15 get here
  } else if (ifelse) {
    __syncthreads();  // @line second: BUG, a different barrier for the others
  }
  data[t] += 1.0f;
}

int main(int argc, char** argv) {
  const int ifelse = argc > 1 && std::strcmp(argv[1], "ifelse") == 0;
  float* data = nullptr;
  if (cudaMalloc(&data, 64 * sizeof(float)) != cudaSuccess) return 1;
  cudaMemset(data, 0, 64 * sizeof(float));
  lvk_emu::launch<half_barrier>(1, 64, 0, 0, data, ifelse);
  const cudaError_t err = cudaDeviceSynchronize();
  std::fprintf(stderr, "cudaDeviceSynchronize: %s: %s\n", cudaGetErrorName(err), cudaGetErrorString(err));
  return err == cudaSuccess ? 0 : 1;
}
