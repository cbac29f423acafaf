// Deliberately broken: a warp shuffle whose mask names lanes that do not take part. With "exit"
// (the default) lane 7 returns before the shuffle; with "skip" lanes 16..31 branch around it and
// wait at the next __syncthreads. On a GPU both are undefined (a hang or garbage); the emulator stops
// the kernel and names kernel, block, thread and line.
#include <cstdio>
#include <cstring>

#include "lvk_emu/launch.h"

__global__ void warp_sum(const float* in, float* out, int skip) {
  const int lane = threadIdx.x % 32;
  float v = in[threadIdx.x];
  if (!skip && lane == 7) return;  // BUG: lane 7 leaves, but the shuffle below names it
  if (!skip || lane < 16) {
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);  // @line shfl
  }
  __syncthreads();  // @line sync
  out[threadIdx.x] = v;
}

int main(int argc, char** argv) {
  const int skip = argc > 1 && std::strcmp(argv[1], "skip") == 0;
  float *in = nullptr, *out = nullptr;
  if (cudaMalloc(&in, 64 * sizeof(float)) != cudaSuccess || cudaMalloc(&out, 64 * sizeof(float)) != cudaSuccess)
    return 1;
  cudaMemset(in, 0, 64 * sizeof(float));
  lvk_emu::launch<warp_sum>(2, 64, 0, 0, in, out, skip);
  const cudaError_t err = cudaDeviceSynchronize();
  std::fprintf(stderr, "cudaDeviceSynchronize: %s: %s\n", cudaGetErrorName(err), cudaGetErrorString(err));
  return err == cudaSuccess ? 0 : 1;
}
