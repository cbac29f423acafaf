// Deliberately broken: a shared-memory read with no __syncthreads() between it and the writes it
// depends on. Each thread stores its element in shared memory and reads its neighbour's; without the
// barrier what it reads depends on which thread ran first. tests/emu/racecheck.sh runs it under the
// emulator's forward and reverse thread orders: the printed checksums differ. With --fixed the
// barrier is in place and every schedule prints the same checksum.
#include <cstdio>
#include <cstring>
#include <vector>

#include "lvk_emu/launch.h"

constexpr int kThreads = 128, kBlocks = 4;

template <bool kSync>
__global__ void rotate_left(const int* in, int* out) {
  __shared__ int tile[kThreads];
  const int t = threadIdx.x, base = blockIdx.x * kThreads;
  tile[t] = in[base + t];                    // @line write
  if (kSync) __syncthreads();                // the broken version reads its neighbour's slot without this barrier
  out[base + t] = tile[(t + 1) % kThreads];  // @line read
}

int main(int argc, char** argv) {
  const bool fixed = argc > 1 && std::strcmp(argv[1], "--fixed") == 0;
  const int n = kThreads * kBlocks;
  std::vector<int> in(n), out(n);
  for (int i = 0; i < n; ++i) in[i] = 7 * i + 1;
  int *d_in = nullptr, *d_out = nullptr;
  if (cudaMalloc(&d_in, n * sizeof(int)) != cudaSuccess || cudaMalloc(&d_out, n * sizeof(int)) != cudaSuccess) return 1;
  cudaMemcpy(d_in, in.data(), n * sizeof(int), cudaMemcpyHostToDevice);
  if (fixed)
    lvk_emu::launch<rotate_left<true>>(kBlocks, kThreads, 0, 0, d_in, d_out);
  else
    lvk_emu::launch<rotate_left<false>>(kBlocks, kThreads, 0, 0, d_in, d_out);
  const cudaError_t err = cudaMemcpy(out.data(), d_out, n * sizeof(int), cudaMemcpyDeviceToHost);
  if (err != cudaSuccess) {
    std::fprintf(stderr, "rotate_left: %s\n", cudaGetErrorString(err));
    return 1;
  }
  unsigned long long checksum = 0;
  int stale = 0;
  for (int i = 0; i < n; ++i) {
    checksum = checksum * 1000003u + static_cast<unsigned>(out[i]);
    const int b = i / kThreads, t = i % kThreads;
    stale += out[i] != in[b * kThreads + (t + 1) % kThreads];
  }
  std::printf("checksum %016llx, %d of %d reads missed the neighbour's value\n", checksum, stale, n);
  cudaFree(d_in);
  cudaFree(d_out);
  return 0;
}
