// An mma operand fragment loaded with the wrong layout. One warp computes D = A B (A 16x16 row-major,
// B 16x8, BF16 inputs, fp32 accumulation) with mma.sync m16n8k16, loading its fragments as the PTX
// ISA lays them out, and again with A's registers 1 and 2 swapped (rows +8 and columns +8 mixed up,
// an easy slip). The inputs are small integers, exact in BF16, so the correct product matches the CPU
// reference exactly and the swapped one cannot.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "lvk_emu/launch.h"
#include "lvk_emu/mma.h"

// A: 16 x 16 BF16 bit patterns, row-major. B: 16 x 8, row-major (B[k][n]). D: 16 x 8 floats.
template <bool kSwapA12>
__global__ void gemm_m16n8k16(const uint16_t* A, const uint16_t* B, float* D) {
  const int lane = threadIdx.x, group = lane / 4, tig = lane % 4;
  auto pair = [](uint16_t lo, uint16_t hi) { return uint32_t{lo} | (uint32_t{hi} << 16); };
  uint32_t a[4], b[2];
  for (int r = 0; r < 4; ++r) {
    // a[r]: row group (+8 for registers 1 and 3), columns 2 tig, 2 tig + 1 (+8 for registers 2 and 3).
    const int row = group + ((r & 1) ? 8 : 0), col = 2 * tig + ((r & 2) ? 8 : 0);
    a[r] = pair(A[row * 16 + col], A[row * 16 + col + 1]);
  }
  if (kSwapA12) {  // BUG: registers 1 and 2 exchanged
    const uint32_t t = a[1];
    a[1] = a[2];
    a[2] = t;
  }
  for (int r = 0; r < 2; ++r) {
    // b[r]: rows 2 tig, 2 tig + 1 (+8 for register 1), column group.
    const int k = 2 * tig + 8 * r;
    b[r] = pair(B[k * 8 + group], B[(k + 1) * 8 + group]);
  }
  float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  lvk_emu::mma_m16n8k16_bf16(d, a, b);
  // d0, d1: row group, columns 2 tig, 2 tig + 1; d2, d3: the same columns of row group + 8.
  for (int i = 0; i < 4; ++i) D[(group + (i >= 2 ? 8 : 0)) * 8 + 2 * tig + (i & 1)] = d[i];
}

static uint16_t bf16_bits(float f) {  // exact for the small integers used here
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16);
}

template <bool kSwap>
static float max_error(const uint16_t* dA, const uint16_t* dB, float* dD, const float (&ref)[16][8]) {
  lvk_emu::launch<gemm_m16n8k16<kSwap>>(1, 32, 0, 0, dA, dB, dD);
  float D[16][8];
  const cudaError_t err = cudaMemcpy(D, dD, sizeof D, cudaMemcpyDeviceToHost);
  if (err != cudaSuccess) {
    std::fprintf(stderr, "gemm_m16n8k16: %s\n", cudaGetErrorString(err));
    return INFINITY;
  }
  float worst = 0.0f;
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) worst = std::fmax(worst, std::fabs(D[m][n] - ref[m][n]));
  return worst;
}

int main() {
  float A[16][16], B[16][8], ref[16][8];
  uint16_t hA[256], hB[128];
  for (int m = 0; m < 16; ++m)
    for (int k = 0; k < 16; ++k) hA[m * 16 + k] = bf16_bits(A[m][k] = static_cast<float>((3 * m + 5 * k) % 11 - 5));
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n) hB[k * 8 + n] = bf16_bits(B[k][n] = static_cast<float>((7 * k + 2 * n) % 9 - 4));
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double s = 0;
      for (int k = 0; k < 16; ++k) s += double{A[m][k]} * B[k][n];
      ref[m][n] = static_cast<float>(s);
    }
  uint16_t *dA = nullptr, *dB = nullptr;
  float* dD = nullptr;
  if (cudaMalloc(&dA, sizeof hA) != cudaSuccess || cudaMalloc(&dB, sizeof hB) != cudaSuccess ||
      cudaMalloc(&dD, sizeof ref) != cudaSuccess)
    return 1;
  cudaMemcpy(dA, hA, sizeof hA, cudaMemcpyHostToDevice);
  cudaMemcpy(dB, hB, sizeof hB, cudaMemcpyHostToDevice);
  // Integer inputs: every partial sum is an integer below 2^24, so fp32 accumulation is exact.
  const float correct = max_error<false>(dA, dB, dD, ref);
  const float swapped = max_error<true>(dA, dB, dD, ref);
  const bool ok = correct == 0.0f && swapped > 0.0f && std::isfinite(swapped);
  std::fprintf(stderr, "PTX fragment layout: max |D - ref| = %g (%s)\n", correct,
               correct == 0.0f ? "matches the CPU reference" : "WRONG: differs from the CPU reference");
  std::fprintf(stderr, "A registers 1 and 2 swapped: max |D - ref| = %g (%s)\n", swapped,
               swapped > 0.0f ? "differs from the CPU reference" : "WRONG: matches the CPU reference");
  std::fprintf(stderr, "mma layout check: %s\n", ok ? "passed" : "FAILED");
  cudaFree(dA);
  cudaFree(dB);
  cudaFree(dD);
  return ok ? 0 : 1;
}
