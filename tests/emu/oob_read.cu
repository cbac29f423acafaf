// Deliberately broken: the last thread reads one element past the end of a device buffer.
// Device memory is an exact-size host block, so AddressSanitizer (tools/emu-run.sh, or the
// emulator built with it) reports a heap-buffer-overflow at the kernel's line in this file.
#include <cstdio>
#include <vector>

#include "lvk_emu/launch.h"

__global__ void shift_left(const float* in, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i + 1];  // @line oob: in[n] when i == n - 1
}

int main() {
  const int n = 1000;
  std::vector<float> h(n, 1.0f);
  float *in = nullptr, *out = nullptr;
  if (cudaMalloc(&in, n * sizeof(float)) != cudaSuccess || cudaMalloc(&out, n * sizeof(float)) != cudaSuccess) return 1;
  cudaMemcpy(in, h.data(), n * sizeof(float), cudaMemcpyHostToDevice);
  lvk_emu::launch<shift_left>((n + 255) / 256, 256, 0, 0, in, out, n);
  const cudaError_t err = cudaDeviceSynchronize();
  std::fprintf(stderr, "shift_left: %s (the out-of-bounds read was NOT detected)\n", cudaGetErrorString(err));
  cudaFree(in);
  cudaFree(out);
  return err == cudaSuccess ? 0 : 1;
}
